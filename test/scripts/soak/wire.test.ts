// The soak initiator's PDUs as bytes (RFC 7143 §11), written out by hand here
// rather than from the module's constants, and the reader cutting a stream
// split anywhere into whole PDUs.

import { describe, expect, test } from 'vitest';
import { crc32c } from '../../../scripts/soak/crc32c.js';
import { PduReader, TmfFunction, frame, scsiCommand, snBefore, tmfRequest, type Pdu } from '../../../scripts/soak/wire.js';

const hex = (b: Buffer): string => b.toString('hex').replace(/(..)/g, '$1 ').trim();

describe('PDUs', () => {
  test('SCSI Command: READ (10) of 1 block, ITT 5, CmdSN 7, ExpStatSN 9, F R SIMPLE, EDTL 512', () => {
    const cdb = Buffer.from('28000000001000000100', 'hex');
    expect(hex(frame(scsiCommand(5, { cmdSN: 7, expStatSN: 9 }, cdb, 512, 'in', true)))).toBe(
      '01 c1 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 05 00 00 02 00 00 00 00 07 00 00 00 09 ' +
      '28 00 00 00 00 10 00 00 01 00 00 00 00 00 00 00');
  });

  test('immediate data of 5 bytes: DataSegmentLength 5, padded to 8', () => {
    const pdu = frame(scsiCommand(1, { cmdSN: 1, expStatSN: 0 }, Buffer.alloc(10), 5, 'out', true), Buffer.from('abcde'));
    expect(pdu.length).toBe(48 + 8);
    expect(hex(pdu.subarray(4, 8))).toBe('00 00 00 05');
    expect(pdu.readUInt8(1)).toBe(0xa1); // F, W, SIMPLE
    expect(hex(pdu.subarray(48))).toBe('61 62 63 64 65 00 00 00');
  });

  test('task attribute in byte 1 bits 2..0: ORDERED 2, HEAD OF QUEUE 3; SIMPLE 1 by default', () => {
    const cmd = (attr?: 'simple' | 'ordered' | 'head'): number => scsiCommand(1, { cmdSN: 1, expStatSN: 0 }, Buffer.alloc(10), 512, 'in', true, attr).readUInt8(1);
    expect([cmd(), cmd('simple'), cmd('ordered'), cmd('head')]).toEqual([0xc1, 0xc1, 0xc2, 0xc3]);
  });

  test('ABORT TASK: immediate, function 1, RTT and RefCmdSN of the task', () => {
    const b = tmfRequest(0x10, { cmdSN: 3, expStatSN: 4 }, TmfFunction.ABORT_TASK, { itt: 0x22, cmdSN: 2 });
    expect(hex(b)).toBe(
      '42 81 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 10 00 00 00 22 00 00 00 03 00 00 00 04 ' +
      '00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00');
  });

  test('function codes as RFC 7143 §11.5.1 numbers them: byte 1 is F and the function', () => {
    const byte1 = (fn: TmfFunction): number => tmfRequest(1, { cmdSN: 1, expStatSN: 1 }, fn).readUInt8(1);
    expect([TmfFunction.ABORT_TASK_SET, TmfFunction.CLEAR_TASK_SET, TmfFunction.LOGICAL_UNIT_RESET, TmfFunction.TARGET_WARM_RESET].map(byte1)).toEqual([0x82, 0x84, 0x85, 0x86]);
  });

  test('LOGICAL UNIT RESET: function 5, RTT reserved (ffffffff)', () => {
    const b = tmfRequest(1, { cmdSN: 1, expStatSN: 1 }, TmfFunction.LOGICAL_UNIT_RESET);
    expect(b.readUInt8(1)).toBe(0x85);
    expect(hex(b.subarray(20, 24))).toBe('ff ff ff ff');
  });
});

describe('CRC32C and digests', () => {
  // RFC 3720 Appendix B.4: the CRC of 32 bytes as the bytes that go on the wire.
  test.each([
    ['32 bytes of zeros', Buffer.alloc(32), 'aa 36 91 8a'],
    ['32 bytes of ff', Buffer.alloc(32, 0xff), '43 ab a8 62'],
    ['00 01 .. 1f', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), '4e 79 dd 46'],
    ['1f 1e .. 00', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), '5c db 3f 11'],
  ])('%s: %s', (_name, bytes, wire) => {
    const d = Buffer.alloc(4);
    d.writeUInt32LE(crc32c(bytes));
    expect(hex(d)).toBe(wire);
  });

  test('with both digests a PDU is BHS, header digest, padded data, data digest; the reader checks both', () => {
    const digests = { header: true, data: true };
    const pdu = frame(scsiCommand(1, { cmdSN: 1, expStatSN: 0 }, Buffer.alloc(10), 5, 'out', true), Buffer.from('abcde'), digests);
    expect(pdu.length).toBe(48 + 4 + 8 + 4);
    expect(pdu.readUInt32LE(48)).toBe(crc32c(pdu.subarray(0, 48)));
    expect(pdu.readUInt32LE(60)).toBe(crc32c(pdu.subarray(52, 60)));
    const r = new PduReader();
    r.digests = digests;
    const got: Pdu[] = [];
    r.push(pdu, (p) => got.push(p));
    const bad = Buffer.from(pdu);
    bad[52] = 0x41; // the first data byte
    r.push(bad, (p) => got.push(p));
    expect(got.map((p) => [p.data.toString(), p.badDigest])).toEqual([['abcde', undefined], ['Abcde', 'data']]);
  });
});

describe('PduReader', () => {
  test('two PDUs split at every byte come out whole, data without padding; AHS skipped', () => {
    const a = Buffer.alloc(48);
    a.writeUInt8(0x21, 0);
    a.writeUInt8(1, 4); // TotalAHSLength: one word
    a.writeUIntBE(3, 5, 3);
    const withAhs = Buffer.concat([a, Buffer.from('AHS!'), Buffer.from('xyz'), Buffer.alloc(1)]);
    const b = frame(Buffer.alloc(48));
    const stream = Buffer.concat([withAhs, b]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = new PduReader();
      const got: Pdu[] = [];
      r.push(stream.subarray(0, cut), (p) => got.push(p));
      r.push(stream.subarray(cut), (p) => got.push(p));
      expect(got.map((p) => p.data.toString())).toEqual(['xyz', '']);
      expect(got[0]?.bhs.readUInt8(0)).toBe(0x21);
    }
  });

  test('serial number order wraps (RFC 1982)', () => {
    expect(snBefore(0xffffffff, 0)).toBe(true);
    expect(snBefore(0, 0xffffffff)).toBe(false);
    expect(snBefore(5, 5)).toBe(false);
  });
});

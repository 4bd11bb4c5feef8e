// ORWRITE (16) 8Bh through SbcEmulator.execute. CDB from SBC-4: byte 1
// ORPROTECT 7..5, DPO 4, FUA 3 (bit 1 obsolete, 2 and 0 reserved); LOGICAL
// BLOCK ADDRESS 2..9; TRANSFER LENGTH 10..13; GROUP NUMBER 14 (5..0); CONTROL
// 15. The blocks become (old OR Data-Out), under an exclusive range lock.

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { DATA_PROTECT, ILLEGAL_REQUEST, MEDIUM_ERROR, block, bytes, expectGood, expectSense, hex, unit } from './harness.js';
import { HookedBlockSet, gate, settle } from './hooked-block-set.js';

const BS = 512;

/** ORWRITE (16) CDB, laid out per the SBC-4 table (checked against a literal below). */
function orwrite(lba: bigint, blocks: number, byte1 = 0): Uint8Array {
  const c = new Uint8Array(16);
  const v = new DataView(c.buffer);
  v.setUint8(0, 0x8b);
  v.setUint8(1, byte1);
  v.setBigUint64(2, lba);
  v.setUint32(10, blocks);
  return c;
}

const orOf = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((x, i) => x | (b[i] ?? 0));
const LBA_OUT_OF_RANGE = { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0x00 } as const;
const invalidField = (byte: number, bit?: number) =>
  ({ key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0x00, field: bit === undefined ? { byte } : { byte, bit } }) as const;

test('the test CDB builder matches the SBC-4 table', () => {
  expect(hex(orwrite(0x0102030405060708n, 0x0a0b0c0d, 0x18))).toBe('8b 18 01 02 03 04 05 06 07 08 0a 0b 0c 0d 00 00');
});

describe('ORWRITE (16)', () => {
  test('each block becomes old OR Data-Out: read then write of the same range', async () => {
    const u = await unit();
    const old = block(2 * BS, 0x21, true);
    const mask = block(2 * BS, 0x84, true);
    expectGood(await u.run('2a 00 00 00 00 40 00 00 02 00', { dataOut: old }));
    u.disk.calls.length = 0;
    expectGood(await u.run(orwrite(64n, 2), { dataOut: mask }));
    expect(u.disk.calls).toEqual([{ op: 'read', lba: 64n, blocks: 2 }, { op: 'write', lba: 64n, blocks: 2 }]);
    const want = orOf(old, mask);
    expect(hex(u.disk.peek(64n))).toBe(hex(want.subarray(0, BS)));
    expect(hex(u.disk.peek(65n))).toBe(hex(want.subarray(BS)));
    expect(hex(u.disk.peek(66n))).toBe(hex(new Uint8Array(BS)));
  });

  test('0xa5 then 0x5a over zeros reads back as all ones (libiscsi OrWrite.Verify)', async () => {
    const u = await unit();
    expectGood(await u.run(orwrite(1023n, 1), { dataOut: block(BS, 0xa5) }));
    expectGood(await u.run(orwrite(1023n, 1), { dataOut: block(BS, 0x5a) }));
    expect(hex(u.disk.peek(1023n))).toBe(hex(block(BS, 0xff)));
  });

  test('TRANSFER LENGTH 0 is GOOD and touches nothing; its LBA is still checked', async () => {
    const u = await unit();
    expectGood(await u.run(orwrite(0n, 0)));
    expectGood(await u.run(orwrite(1024n, 0)));
    expectSense(await u.run(orwrite(1025n, 0)), LBA_OUT_OF_RANGE);
    expectSense(await u.run(orwrite(1n << 63n, 0)), LBA_OUT_OF_RANGE);
    expectSense(await u.run(orwrite((1n << 64n) - 1n, 0)), LBA_OUT_OF_RANGE);
    expect(u.disk.calls).toEqual([]);
  });

  test('past the capacity → LOGICAL BLOCK ADDRESS OUT OF RANGE, nothing read or written', async () => {
    const u = await unit();
    expectSense(await u.run(orwrite(1023n, 2), { dataOut: block(2 * BS, 1) }), LBA_OUT_OF_RANGE);
    expectSense(await u.run(orwrite((1n << 64n) - 1n, 1), { dataOut: block(BS, 1) }), LBA_OUT_OF_RANGE);
    expect(u.disk.calls).toEqual([]);
  });

  test('over MAXIMUM TRANSFER LENGTH → INVALID FIELD IN CDB at byte 10', async () => {
    const u = await unit({}, { maxTransferBytes: 4 * BS });
    expectGood(await u.run(orwrite(0n, 4), { dataOut: block(4 * BS, 1) }));
    expectSense(await u.run(orwrite(0n, 5), { dataOut: block(5 * BS, 1) }), invalidField(10));
  });

  test('ORPROTECT ≠ 0 (no protection information) and reserved bits → INVALID FIELD IN CDB', async () => {
    const u = await unit();
    // ORPROTECT (bits 7..5) is one field: pointed at by its first bit (SPC-5 4.4.2.4.2).
    expectSense(await u.run(orwrite(0n, 1, 0x20), { dataOut: block(BS, 1) }), invalidField(1, 7));
    expectSense(await u.run(orwrite(0n, 1, 0xe0), { dataOut: block(BS, 1) }), invalidField(1, 7));
    expectSense(await u.run(orwrite(0n, 1, 0x02), { dataOut: block(BS, 1) }), invalidField(1, 1)); // obsolete FUA_NV
    expectSense(await u.run(orwrite(0n, 1, 0x04), { dataOut: block(BS, 1) }), invalidField(1, 2));
    const c = orwrite(0n, 1);
    c[14] = 0x40;
    expectSense(await u.run(c, { dataOut: block(BS, 1) }), invalidField(14, 6));
    expect(u.disk.calls).toEqual([]);
  });

  test('DPO is accepted; FUA writes through: a flush follows the write while the cache is on', async () => {
    const u = await unit();
    expectGood(await u.run(orwrite(5n, 1, 0x10), { dataOut: block(BS, 1) }));
    expect(u.disk.calls.map((c) => c.op)).toEqual(['read', 'write']);
    u.disk.calls.length = 0;
    expectGood(await u.run(orwrite(5n, 1, 0x08), { dataOut: block(BS, 2) }));
    expect(u.disk.calls.map((c) => c.op)).toEqual(['read', 'write', 'flush']);
    expect(hex(u.disk.peek(5n))).toBe(hex(block(BS, 3)));
  });

  test('read-only unit → DATA PROTECT, WRITE PROTECTED, ahead of the LBA check', async () => {
    const u = await unit({ readOnly: true });
    expectSense(await u.run(orwrite(5000n, 1), { dataOut: block(BS, 1) }), { key: DATA_PROTECT, asc: 0x27, ascq: 0x00 });
    expect(u.disk.calls).toEqual([]);
  });

  test('short Data-Out → INVALID FIELD IN COMMAND INFORMATION UNIT, nothing written', async () => {
    const u = await unit();
    expectSense(await u.run(orwrite(0n, 2), { dataOut: block(BS, 1) }), { key: ILLEGAL_REQUEST, asc: 0x0e, ascq: 0x03 });
    expect(u.disk.calls).toEqual([]);
  });

  test('a read error → MEDIUM ERROR with the LBA, nothing written; a write error → WRITE ERROR', async () => {
    const r = await unit({ fault: (op) => (op === 'read' ? 'io-error' : undefined) });
    expectSense(await r.run(orwrite(7n, 1), { dataOut: block(BS, 1) }), { key: MEDIUM_ERROR, asc: 0x11, ascq: 0x00, information: 7 });
    expect(r.disk.calls.map((c) => c.op)).toEqual(['read']);
    const w = await unit({ fault: (op) => (op === 'write' ? 'io-error' : undefined) });
    expectSense(await w.run(orwrite(7n, 1), { dataOut: block(BS, 1) }), { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0x00, information: 7 });
  });

  test('atomic against an overlapping WRITE: the WRITE waits for the read-modify-write', async () => {
    const disk = new HookedBlockSet();
    const g = gate();
    disk.before = (op) => (op === 'read' ? g.opened : undefined);
    const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: false });
    const or = lu.execute(orwrite(10n, 2), { dataOut: block(2 * BS, 0x0f) });
    await settle();
    const write: Promise<SbcResult> = lu.execute(bytes('2a 00 00 00 00 0b 00 00 01 00'), { dataOut: block(BS, 0xf0) });
    await settle();
    expect(disk.trace('write')).toEqual([]);
    g.open();
    expectGood(await or);
    expectGood(await write);
    expect(disk.trace('write')).toEqual(['write start 10+2', 'write end 10+2', 'write start 11+1', 'write end 11+1']);
    expect(hex(disk.inner.peek(11n))).toBe(hex(block(BS, 0xf0)));
  });

  test('REPORT SUPPORTED OPERATION CODES one command: usage data without ORPROTECT (byte 1 = 18h)', async () => {
    const u = await unit();
    const r = await u.run('a3 0c 01 8b 00 00 00 00 04 00 00 00');
    expectGood(r);
    expect(hex(r.data)).toBe('00 03 00 10 8b 18 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00');
  });
});

// READ, WRITE, WRITE AND VERIFY and VERIFY through SbcEmulator.execute.
// CDB layouts from SBC-4 (READ(6) 08h, READ(10) 28h, READ(12) A8h, READ(16)
// 88h, WRITE 0Ah/2Ah/AAh/8Ah, WRITE AND VERIFY 2Eh/AEh/8Eh, VERIFY 2Fh/AFh/8Fh).

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import {
  DATA_PROTECT,
  HARDWARE_ERROR,
  ILLEGAL_REQUEST,
  MEDIUM_ERROR,
  MISCOMPARE,
  block,
  expectGood,
  expectSense,
  hex,
  unit,
} from './harness.js';
import { HookedBlockSet } from './hooked-block-set.js';

type Size = 6 | 10 | 12 | 16;
interface Form {
  readonly name: string;
  readonly op: number;
  readonly size: Size;
  /** First byte of TRANSFER LENGTH / VERIFICATION LENGTH. */
  readonly lenByte: number;
}

const f = (name: string, op: number, size: Size): Form => ({ name, op, size, lenByte: { 6: 4, 10: 7, 12: 6, 16: 10 }[size] });
const READ6 = f('READ(6)', 0x08, 6);
const WRITE6 = f('WRITE(6)', 0x0a, 6);
const READS = [READ6, f('READ(10)', 0x28, 10), f('READ(12)', 0xa8, 12), f('READ(16)', 0x88, 16)];
const WRITES = [WRITE6, f('WRITE(10)', 0x2a, 10), f('WRITE(12)', 0xaa, 12), f('WRITE(16)', 0x8a, 16)];
const WAVS = [f('WRITE AND VERIFY(10)', 0x2e, 10), f('WRITE AND VERIFY(12)', 0xae, 12), f('WRITE AND VERIFY(16)', 0x8e, 16)];
const VERIFIES = [f('VERIFY(10)', 0x2f, 10), f('VERIFY(12)', 0xaf, 12), f('VERIFY(16)', 0x8f, 16)];
const BIG = [READS, WRITES].flatMap((l) => l.filter((x) => x.size !== 6));

/**
 * A CDB laid out per the SBC-4 tables: 6-byte LBA in byte 1 bits 4..0 + bytes
 * 2..3 and length in byte 4; 10-byte LBA 2..5, length 7..8; 12-byte LBA 2..5,
 * length 6..9; 16-byte LBA 2..9, length 10..13. Checked against literals below.
 */
function cdb(form: Form, lba: bigint, blocks: number, byte1 = 0): Uint8Array {
  const c = new Uint8Array(form.size);
  const v = new DataView(c.buffer);
  v.setUint8(0, form.op);
  if (form.size === 6) {
    v.setUint8(1, byte1 | Number((lba >> 16n) & 0x1fn));
    v.setUint16(2, Number(lba & 0xffffn));
    v.setUint8(4, blocks & 0xff);
    return c;
  }
  v.setUint8(1, byte1);
  if (form.size === 16) v.setBigUint64(2, lba);
  else v.setUint32(2, Number(lba));
  if (form.size === 10) v.setUint16(7, blocks);
  else v.setUint32(form.lenByte, blocks);
  return c;
}

const LBA_OUT_OF_RANGE = { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0x00 } as const;
const WRITE_PROTECTED = { key: DATA_PROTECT, asc: 0x27, ascq: 0x00 } as const;
const SHORT_DATA = { key: ILLEGAL_REQUEST, asc: 0x0e, ascq: 0x03 } as const;
const invalidField = (byte: number, bit?: number) =>
  ({ key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0x00, field: bit === undefined ? { byte } : { byte, bit } }) as const;
// RDPROTECT/WRPROTECT/VRPROTECT (byte 1 bits 7..5) ≠ 0 without protection information: a multiple-bit
// field in error is pointed at by its first (left-most) bit, whichever of its bits are set (SPC-5 4.4.2.4.2).
const PROTECT_FIELD = invalidField(1, 7);
const writes = (u: { disk: { calls: readonly { op: string }[] } }): number => u.disk.calls.filter((c) => c.op === 'write').length;
const ops = (u: { disk: { calls: readonly { op: string }[] } }): string[] => u.disk.calls.map((c) => c.op);

test('the test CDB builder matches the SBC-4 tables', () => {
  expect(hex(cdb(READ6, 0x1fffffn, 256))).toBe('08 1f ff ff 00 00');
  expect(hex(cdb(f('', 0x28, 10), 5n, 1))).toBe('28 00 00 00 00 05 00 00 01 00');
  expect(hex(cdb(f('', 0xaa, 12), 0x01020304n, 0x0a0b0c0d, 0x08))).toBe('aa 08 01 02 03 04 0a 0b 0c 0d 00 00');
  expect(hex(cdb(f('', 0x88, 16), 1n << 32n, 1))).toBe('88 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00');
});

describe('READ / WRITE data', () => {
  for (const [i, w] of WRITES.entries()) {
    const r = READS[i] ?? READS[0];
    test(`${w.name} then ${r?.name ?? ''}: round trip`, async () => {
      if (r === undefined) throw new Error('no read form');
      const u = await unit();
      const data = block(3 * 512, 0x11 * (i + 1), true);
      expect(u.lu.dataOutLength(cdb(w, 7n, 3))).toBe(3 * 512);
      expectGood(await u.run(cdb(w, 7n, 3), { dataOut: data }));
      expect(u.disk.calls).toEqual([{ op: 'write', lba: 7n, blocks: 3 }]);
      expect(hex(u.disk.peek(8n))).toBe(hex(data.subarray(512, 1024)));
      expect(hex(u.disk.peek(10n))).toBe(hex(new Uint8Array(512)));
      const back = await u.run(cdb(r, 7n, 3));
      expectGood(back);
      expect(hex(back.data)).toBe(hex(data));
    });
  }

  test('READ(6)/WRITE(6) TRANSFER LENGTH 0 means 256 blocks', async () => {
    const u = await unit();
    const data = block(256 * 512, 0x40, true);
    expect(u.lu.dataOutLength(cdb(WRITE6, 768n, 0))).toBe(256 * 512);
    expectGood(await u.run('0a 00 03 00 00 00', { dataOut: data }));
    expect(u.disk.calls).toEqual([{ op: 'write', lba: 768n, blocks: 256 }]);
    const back = await u.run('08 00 03 00 00 00');
    expectGood(back);
    expect(back.data?.length).toBe(256 * 512);
    expect(hex(back.data)).toBe(hex(data));
    // 769 + 256 > 1024: the zero byte really is 256, not 0.
    expectSense(await u.run('08 00 03 01 00 00'), LBA_OUT_OF_RANGE);
  });

  for (const form of BIG) {
    test(`${form.name} with TRANSFER LENGTH 0: GOOD, no block operation`, async () => {
      const u = await unit();
      const isWrite = WRITES.includes(form);
      expect(u.lu.dataOutLength(cdb(form, 5n, 0))).toBe(0);
      const r = await u.run(cdb(form, 5n, 0), { dataOut: block(512, 0xee) });
      expectGood(r);
      expect(r.data?.length ?? 0).toBe(0);
      expect(u.disk.calls).toEqual([]);
      if (isWrite) expect(hex(u.disk.peek(5n))).toBe(hex(new Uint8Array(512)));
    });
  }

  test('Data-Out longer than the transfer: the extra is ignored', async () => {
    const u = await unit();
    expectGood(await u.run('2a 00 00 00 00 02 00 00 01 00', { dataOut: block(1024, 0x5a) }));
    expect(u.disk.calls).toEqual([{ op: 'write', lba: 2n, blocks: 1 }]);
    expect(hex(u.disk.peek(3n))).toBe(hex(new Uint8Array(512)));
  });

  test('READ with a Data-Out Buffer: the buffer is ignored', async () => {
    const u = await unit();
    const r = await u.run('28 00 00 00 00 02 00 00 01 00', { dataOut: block(512, 0x5a) });
    expectGood(r);
    expect(hex(r.data)).toBe(hex(new Uint8Array(512)));
    expect(u.disk.mappedBlocks).toBe(0);
  });

  test('READ(16)/WRITE(16) above 2^32 on a 2^33-block disk', async () => {
    const state = { fail: false };
    const u = await unit({ blocks: 1n << 33n, fault: (op) => (state.fail && op === 'read' ? 'io-error' : undefined) });
    const data = block(2 * 512, 0x0f, true);
    expectGood(await u.run('8a 00 00 00 00 01 00 00 00 05 00 00 00 02 00 00', { dataOut: data }));
    expect(u.disk.calls).toEqual([{ op: 'write', lba: 0x1_0000_0005n, blocks: 2 }]);
    const back = await u.run('88 00 00 00 00 01 ff ff ff ff 00 00 00 01 00 00');
    expectGood(back);
    expect(u.disk.calls.at(-1)).toEqual({ op: 'read', lba: 0x1_ffff_ffffn, blocks: 1 });
    expectGood(await u.run('88 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00'));
    expectSense(await u.run('88 00 00 00 00 02 00 00 00 00 00 00 00 01 00 00'), LBA_OUT_OF_RANGE);
    expect(hex((await u.run('88 00 00 00 00 01 00 00 00 06 00 00 00 01 00 00')).data)).toBe(hex(data.subarray(512)));
    // A medium error past 2^32 cannot go in the 4-byte fixed INFORMATION: VALID is 0.
    state.fail = true;
    const r = await u.run('88 00 00 00 00 01 00 00 00 05 00 00 00 01 00 00');
    expectSense(r, { key: MEDIUM_ERROR, asc: 0x11, ascq: 0 });
    expect((r.sense?.[0] ?? 0xff) & 0x80).toBe(0);
  });
});

describe('Data-In room from the transport (ExecuteOptions.dataIn)', () => {
  test('READ (10) transfers into the room: the answer is the room itself, or a view of its first bytes', async () => {
    const u = await unit();
    const data = block(2 * 512, 0x21, true);
    expectGood(await u.run('2a 00 00 00 00 05 00 00 02 00', { dataOut: data }));
    const exact = new Uint8Array(2 * 512);
    const r = await u.run('28 00 00 00 00 05 00 00 02 00', { dataIn: exact });
    expectGood(r);
    expect(r.data).toBe(exact);
    expect(hex(exact)).toBe(hex(data));
    const larger = new Uint8Array(3 * 512).fill(0x99);
    const v = await u.run('28 00 00 00 00 05 00 00 02 00', { dataIn: larger });
    expect([v.data?.buffer === larger.buffer, v.data?.byteOffset, v.data?.length]).toEqual([true, 0, 2 * 512]);
    expect(hex(larger.subarray(0, 1024))).toBe(hex(data));
    expect(larger.subarray(1024).every((b) => b === 0x99)).toBe(true);
  });

  test('a room too small for the transfer, and a command off the READ fast path, answer with a buffer of their own', async () => {
    const u = await unit();
    const small = new Uint8Array(512).fill(0x55);
    const r = await u.run('28 00 00 00 00 05 00 00 02 00', { dataIn: small });
    expectGood(r);
    expect([r.data?.buffer === small.buffer, r.data?.length]).toEqual([false, 1024]);
    expect(small.every((b) => b === 0x55)).toBe(true);
    const room = new Uint8Array(64);
    const inq = await u.run('12 00 00 00 24 00', { dataIn: room });
    expectGood(inq);
    expect(inq.data?.buffer === room.buffer).toBe(false);
    expect(room.every((b) => b === 0)).toBe(true);
  });
});

describe('LBA range (capacity 1024 blocks)', () => {
  const U32 = 0xffff_ffffn;
  const U64 = 0xffff_ffff_ffff_ffffn;
  const common: [bigint, number, boolean][] = [
    [1023n, 1, true], [1016n, 8, true], [1022n, 2, true], [1023n, 2, false], [1024n, 1, false],
    [1025n, 0, false], [1024n, 0, true], [U32, 1, false], [U32, 0, false],
  ];
  const only16: [bigint, number, boolean][] = [[1n << 32n, 1, false], [U64, 1, false], [U64, 0, false], [U64 - 1n, 2, false]];
  for (const form of BIG) {
    test(form.name, async () => {
      const u = await unit();
      const isWrite = WRITES.includes(form);
      for (const [lba, n, ok] of form.size === 16 ? [...common, ...only16] : common) {
        const r = await u.run(cdb(form, lba, n), { dataOut: block(n * 512, 0x77) });
        if (ok) expectGood(r);
        else expectSense(r, LBA_OUT_OF_RANGE);
        if (ok && n > 0 && !isWrite) expect(r.data?.length).toBe(n * 512);
      }
      // Only the in-range cases reached the disk.
      expect(u.disk.calls.map((c) => `${c.lba ?? -1n}+${c.blocks ?? -1}`)).toEqual(['1023+1', '1016+8', '1022+2']);
    });
  }

  for (const form of [READ6, WRITE6]) {
    test(`${form.name}: 21-bit LBA`, async () => {
      const u = await unit();
      const data = { dataOut: block(256 * 512, 1) };
      expectGood(await u.run(cdb(form, 1023n, 1), data));
      expectGood(await u.run(cdb(form, 768n, 0), data));
      expectSense(await u.run(cdb(form, 1023n, 2), data), LBA_OUT_OF_RANGE);
      expectSense(await u.run(cdb(form, 1024n, 1), data), LBA_OUT_OF_RANGE);
      expectSense(await u.run(cdb(form, 0x1fffffn, 1), data), LBA_OUT_OF_RANGE);
      expect(u.disk.calls.length).toBe(2);
    });
  }
});

describe('TRANSFER LENGTH above the maximum (8 blocks)', () => {
  const small = { maxTransferBytes: 8 * 512 };
  for (const form of [...READS, ...WRITES]) {
    test(`${form.name}: 8 GOOD, 9 → 24h/00h at byte ${form.lenByte}`, async () => {
      const u = await unit({}, small);
      const data = { dataOut: block(256 * 512, 3) };
      expectGood(await u.run(cdb(form, 0n, 8), data));
      expectSense(await u.run(cdb(form, 0n, 9), data), invalidField(form.lenByte));
      if (form.size === 6) expectSense(await u.run(cdb(form, 0n, 0), data), invalidField(4)); // 256 blocks
      else expectSense(await u.run(cdb(form, 0n, 1000), data), invalidField(form.lenByte));
      // An LBA out of range wins over the length.
      expectSense(await u.run(cdb(form, 1020n, 9), data), LBA_OUT_OF_RANGE);
      expectSense(await u.run(cdb(form, 2000n, 100), data), LBA_OUT_OF_RANGE);
      // The length is checked before the Data-Out Buffer is looked at.
      expectSense(await u.run(cdb(form, 0n, 9)), invalidField(form.lenByte));
      expect(u.disk.calls.length).toBe(1);
    });
  }

  test('the device limit bounds it too (maxTransferBlocks 4)', async () => {
    const u = await unit({ maxTransferBlocks: 4 });
    expectGood(await u.run('28 00 00 00 00 00 00 00 04 00'));
    expectSense(await u.run('28 00 00 00 00 00 00 00 05 00'), invalidField(7));
  });
});

describe('CDB fields', () => {
  for (const form of BIG) {
    test(`${form.name}: RDPROTECT/WRPROTECT 1..7 → 24h/00h byte 1 bit 7, the field's first bit`, async () => {
      const u = await unit();
      for (let p = 1; p <= 7; p++) {
        const r = await u.run(cdb(form, 0n, 1, p << 5), { dataOut: block(512, 9) });
        expectSense(r, PROTECT_FIELD);
      }
      expectSense(await u.run(cdb(form, 0n, 1, 0x20)), PROTECT_FIELD);
      expectSense(await u.run(cdb(form, 0n, 1, 0xe0)), PROTECT_FIELD);
      // With the obsolete bit 0 set too, the protection field still comes first.
      expectSense(await u.run(cdb(form, 0n, 1, 0x21)), PROTECT_FIELD);
      expect(u.disk.calls).toEqual([]);
    });

    test(`${form.name}: DPO, FUA, GROUP NUMBER accepted; reserved bits rejected`, async () => {
      const u = await unit({ writeCache: false });
      const data = { dataOut: block(512, 9) };
      for (const b1 of [0x10, 0x08, 0x18]) expectGood(await u.run(cdb(form, 0n, 1, b1), data));
      const groupByte = form.size === 10 ? 6 : form.size - 2;
      const group = cdb(form, 0n, 1);
      group[groupByte] = 0x3f; // GROUP NUMBER, bits 5..0
      expectGood(await u.run(group, data));
      for (const bit of [2, 1, 0]) expectSense(await u.run(cdb(form, 0n, 1, 1 << bit), data), invalidField(1, bit));
      const top = cdb(form, 0n, 1);
      top[groupByte] = 0x80; // reserved (DLD1 on the 16-byte CDBs, not implemented)
      expectSense(await u.run(top, data), invalidField(groupByte, 7));
      const naca = cdb(form, 0n, 1);
      naca[form.size - 1] = 0x04; // CONTROL NACA
      expectSense(await u.run(naca, data), invalidField(form.size - 1, 2));
      expect(u.disk.calls.length).toBe(4);
    });
  }

  test('READ(6)/WRITE(6): CONTROL checked; byte 1 bits 7..5 (the old LUN) ignored', async () => {
    const u = await unit();
    expectSense(await u.run('08 00 00 00 01 01'), invalidField(5, 0));
    expectSense(await u.run('0a 00 00 00 01 04', { dataOut: block(512, 1) }), invalidField(5, 2));
    expectGood(await u.run('08 e0 00 03 01 00'));
    expect(u.disk.calls).toEqual([{ op: 'read', lba: 3n, blocks: 1 }]);
  });

  test('FUA write: flush after the write when the write cache is on', async () => {
    const u = await unit({ writeCache: true });
    const data = { dataOut: block(1024, 2) };
    expectGood(await u.run('2a 08 00 00 00 04 00 00 02 00', data));
    expect(u.disk.calls).toEqual([{ op: 'write', lba: 4n, blocks: 2 }, { op: 'flush' }]);
    expectGood(await u.run('8a 08 00 00 00 00 00 00 00 04 00 00 00 02 00 00', data));
    expectGood(await u.run('aa 08 00 00 00 04 00 00 00 02 00 00', data));
    expect(ops(u)).toEqual(['write', 'flush', 'write', 'flush', 'write', 'flush']);
    // DPO alone and FUA on a read: nothing to flush.
    expectGood(await u.run('2a 10 00 00 00 04 00 00 02 00', data));
    expectGood(await u.run('28 08 00 00 00 04 00 00 02 00'));
    expect(ops(u).slice(6)).toEqual(['write', 'read']);
  });

  test('FUA write: no flush with the write cache off, or without FLUSH', async () => {
    for (const disk of [{ writeCache: false }, { writeCache: true, flush: false }]) {
      const u = await unit(disk);
      expectGood(await u.run('2a 08 00 00 00 04 00 00 01 00', { dataOut: block(512, 2) }));
      expect(ops(u)).toEqual(['write']);
    }
  });

  test('FUA write whose flush fails → 04h/44h/00h', async () => {
    const u = await unit({ fault: (op) => (op === 'flush' ? 'io-error' : undefined) });
    expectSense(await u.run('2a 08 00 00 00 04 00 00 01 00', { dataOut: block(512, 2) }), { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 });
    expectGood(await u.run('2a 00 00 00 00 04 00 00 01 00', { dataOut: block(512, 2) }));
  });
});

describe('write protection', () => {
  const forms = [...WRITES, ...WAVS];
  for (const form of forms) {
    test(`${form.name} on a read-only disk → 07h/27h/00h whatever the data and LBA`, async () => {
      const u = await unit({ readOnly: true });
      const b1s = WAVS.includes(form) ? [0x00, 0x02] : [0x00, 0x08];
      for (const b1 of b1s) {
        for (const dataOut of [undefined, block(100, 1), block(2 * 512, 1)]) {
          expectSense(await u.run(cdb(form, 0n, 2, b1), dataOut === undefined ? {} : { dataOut }), WRITE_PROTECTED);
          expectSense(await u.run(cdb(form, 1023n, 2, b1), dataOut === undefined ? {} : { dataOut }), WRITE_PROTECTED);
        }
      }
      if (form.size === 16) expectSense(await u.run(cdb(form, 0xffff_ffff_ffff_ffffn, 1)), WRITE_PROTECTED);
      expect(u.disk.calls).toEqual([]);
      expect(u.disk.mappedBlocks).toBe(0);
      const r = await u.run('28 00 00 00 00 00 00 00 02 00');
      expectGood(r);
      expect(r.data?.length).toBe(1024);
    });
  }
});

describe('Data-Out shorter than the transfer → 05h/0Eh/03h, nothing written', () => {
  // WRITE AND VERIFY follows WRITE here: no partial write of the blocks that did come.
  for (const form of [...WRITES, ...WAVS]) {
    test(form.name, async () => {
      const u = await unit();
      for (const len of [0, 1, 511, 512, 1023]) {
        expectSense(await u.run(cdb(form, 10n, 2), { dataOut: block(len, 0xcc) }), SHORT_DATA);
      }
      expect(u.disk.calls).toEqual([]);
      expect(u.disk.mappedBlocks).toBe(0);
      expectGood(await u.run(cdb(form, 10n, 2), { dataOut: block(1024, 0xcc) }));
      expect(hex(u.disk.peek(11n))).toBe(hex(block(512, 0xcc)));
    });
  }
});

describe('backend failures', () => {
  const faulty = (op: string, status: 'io-error' | 'unsupported' | 'no-space') => {
    const state = { on: true };
    return { state, disk: { fault: (o: string) => (state.on && o === op ? status : undefined) } };
  };

  test('read io-error → 03h/11h/00h; INFORMATION names the block only for a one-block read (SBC-4: the LBA in error)', async () => {
    const { state, disk } = faulty('read', 'io-error');
    const u = await unit(disk);
    // Two blocks: the device does not say which failed, so no block is named (VALID 0).
    expectSense(await u.run('28 00 00 00 00 2a 00 00 02 00'), { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, information: 'invalid' });
    expectSense(await u.run('88 00 00 00 00 00 00 00 03 ff 00 00 00 01 00 00'), { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, information: 0x3ff });
    state.on = false;
    expectGood(await u.run('28 00 00 00 00 2a 00 00 02 00'));
  });

  test('write io-error → 03h/0Ch/00h; no-space → 07h/27h/07h; unsupported → 05h/20h/00h', async () => {
    for (const [status, want] of [
      ['io-error', { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0, information: 9 }],
      ['no-space', { key: DATA_PROTECT, asc: 0x27, ascq: 0x07 }],
      ['unsupported', { key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0 }],
    ] as const) {
      const { state, disk } = faulty('write', status);
      const u = await unit(disk);
      expectSense(await u.run('2a 00 00 00 00 09 00 00 01 00', { dataOut: block(512, 4) }), want);
      expect(u.disk.mappedBlocks).toBe(0);
      state.on = false;
      expectGood(await u.run('2a 00 00 00 00 09 00 00 01 00', { dataOut: block(512, 4) }));
      expect(hex(u.disk.peek(9n))).toBe(hex(block(512, 4)));
    }
  });

  test('read unsupported → 05h/20h/00h', async () => {
    const u = await unit(faulty('read', 'unsupported').disk);
    expectSense(await u.run('28 00 00 00 00 00 00 00 01 00'), { key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0 });
  });

  test('a fault hook that throws → 04h/44h/00h, locks released, unit keeps working', async () => {
    const state = { on: true };
    const u = await unit({
      fault: () => {
        if (state.on) throw new Error('backend bug');
        return undefined;
      },
    });
    const hw = { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 };
    expectSense(await u.run('28 00 00 00 00 00 00 00 01 00'), hw);
    expectSense(await u.run('2a 00 00 00 00 00 00 00 01 00', { dataOut: block(512, 1) }), hw);
    expectSense(await u.run('2f 02 00 00 00 00 00 00 01 00', { dataOut: block(512, 1) }), hw);
    expect(u.lu.locks.held).toBe(0);
    state.on = false;
    expectGood(await u.run('2a 00 00 00 00 00 00 00 01 00', { dataOut: block(512, 1) }));
    expectGood(await u.run('28 00 00 00 00 00 00 00 01 00'));
  });
});

describe('4096-byte logical blocks', () => {
  test('round trip, data-out length, LBA range, transfer limit', async () => {
    const u = await unit({ blocks: 256, blockSize: 4096 }, { maxTransferBytes: 4 * 4096 });
    expect(u.lu.dataOutLength(bytes10(0x2a, 0, 3))).toBe(3 * 4096);
    expect(u.lu.dataOutLength(bytes10(0x2e, 0, 3))).toBe(3 * 4096);
    const data = block(2 * 4096, 0x21, true);
    expectSense(await u.run('2a 00 00 00 00 fe 00 00 02 00', { dataOut: data.subarray(0, 2 * 4096 - 1) }), SHORT_DATA);
    expectSense(await u.run('2a 00 00 00 00 fe 00 00 02 00', { dataOut: block(2 * 512, 1) }), SHORT_DATA);
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run('2a 00 00 00 00 fe 00 00 02 00', { dataOut: data }));
    expect(hex(u.disk.peek(255n))).toBe(hex(data.subarray(4096)));
    const back = await u.run('88 00 00 00 00 00 00 00 00 fe 00 00 00 02 00 00');
    expectGood(back);
    expect(hex(back.data)).toBe(hex(data));
    expectSense(await u.run('28 00 00 00 00 ff 00 00 02 00'), LBA_OUT_OF_RANGE);
    expectSense(await u.run('28 00 00 00 01 00 00 00 01 00'), LBA_OUT_OF_RANGE);
    expectGood(await u.run('28 00 00 00 01 00 00 00 00 00'));
    expectGood(await u.run('28 00 00 00 00 00 00 00 04 00'));
    expectSense(await u.run('28 00 00 00 00 00 00 00 05 00'), invalidField(7));
  });
});

function bytes10(op: number, lba: number, blocks: number, byte1 = 0): Uint8Array {
  return cdb(f('', op, 10), BigInt(lba), blocks, byte1);
}

describe('WRITE AND VERIFY', () => {
  for (const form of WAVS) {
    for (const bytchk of [0, 1]) {
      test(`${form.name} BYTCHK ${bytchk}: written, flushed, read back`, async () => {
        const u = await unit({ writeCache: true });
        const data = block(2 * 512, 0x31, true);
        expectGood(await u.run(cdb(form, 20n, 2, bytchk << 1), { dataOut: data }));
        expect(u.disk.calls).toEqual([{ op: 'write', lba: 20n, blocks: 2 }, { op: 'flush' }, { op: 'read', lba: 20n, blocks: 2 }]);
        expect(hex(u.disk.peek(21n))).toBe(hex(data.subarray(512)));
      });
    }

    test(`${form.name}: no flush with the write cache off; BYTCHK 10b/11b reserved; WRPROTECT; length 0`, async () => {
      const u = await unit({ writeCache: false });
      const data = { dataOut: block(512, 0x44) };
      expectGood(await u.run(cdb(form, 3n, 1, 0x02), data));
      expect(ops(u)).toEqual(['write', 'read']);
      expectSense(await u.run(cdb(form, 3n, 1, 0x04), data), invalidField(1, 2));
      expectSense(await u.run(cdb(form, 3n, 1, 0x06), data), invalidField(1, 2));
      expectSense(await u.run(cdb(form, 3n, 1, 0x08), data), invalidField(1, 3)); // reserved (no FUA)
      expectSense(await u.run(cdb(form, 3n, 1, 0x42), data), PROTECT_FIELD); // WRPROTECT 010b
      expectGood(await u.run(cdb(form, 3n, 1, 0x12), data)); // DPO
      expectGood(await u.run(cdb(form, 3n, 0, 0x02)));
      expectSense(await u.run(cdb(form, 1025n, 0, 0x02)), LBA_OUT_OF_RANGE);
      expectSense(await u.run(cdb(form, 1024n, 1, 0x02), data), LBA_OUT_OF_RANGE);
      expect(writes(u)).toBe(2);
    });
  }

  test('a medium that reads back differently: BYTCHK 1 → 0Eh/1Dh/00h at the offset, BYTCHK 0 → GOOD', async () => {
    const disk = new HookedBlockSet();
    disk.afterRead = (_lba, data) => {
      data[512 + 77] = (data[512 + 77] ?? 0) ^ 0xff;
    };
    const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: false });
    const data = block(2 * 512, 0x12, true);
    const r = await lu.execute(bytes10(0x2e, 4, 2, 0x02), { dataOut: data });
    expectSense(r, { key: MISCOMPARE, asc: 0x1d, ascq: 0, information: 512 + 77 });
    expectGood(await lu.execute(bytes10(0x2e, 4, 2, 0x00), { dataOut: data }));
  });
});

describe('VERIFY', () => {
  const setup = async () => {
    const u = await unit();
    const data = block(4 * 512, 0x52, true);
    expectGood(await u.run('2a 00 00 00 00 10 00 00 04 00', { dataOut: data }));
    u.disk.calls.length = 0;
    return { u, data };
  };

  for (const form of VERIFIES) {
    test(`${form.name} BYTCHK 0: medium read only, no Data-Out`, async () => {
      const { u } = await setup();
      expect(u.lu.dataOutLength(cdb(form, 16n, 4))).toBe(0);
      expectGood(await u.run(cdb(form, 16n, 4), { dataOut: block(4 * 512, 0xff) }));
      expectGood(await u.run(cdb(form, 16n, 4, 0x10))); // DPO
      expect(u.disk.calls).toEqual([{ op: 'read', lba: 16n, blocks: 4 }, { op: 'read', lba: 16n, blocks: 4 }]);
    });

    test(`${form.name} BYTCHK 1: match GOOD, mismatch 0Eh/1Dh/00h at the byte offset`, async () => {
      const { u, data } = await setup();
      expect(u.lu.dataOutLength(cdb(form, 16n, 4, 0x02))).toBe(4 * 512);
      expectGood(await u.run(cdb(form, 16n, 4, 0x02), { dataOut: data }));
      for (const at of [0, 511, 512 * 2 + 100, 4 * 512 - 1]) {
        const bad = Uint8Array.from(data);
        bad[at] = (bad[at] ?? 0) ^ 0x01;
        expectSense(await u.run(cdb(form, 16n, 4, 0x02), { dataOut: bad }), { key: MISCOMPARE, asc: 0x1d, ascq: 0, information: at });
      }
      // Verifying from the second block: the offset counts from the Data-Out start.
      const tail = Uint8Array.from(data.subarray(512));
      tail[600] = (tail[600] ?? 0) ^ 0x80;
      expectSense(await u.run(cdb(form, 17n, 3, 0x02), { dataOut: tail }), { key: MISCOMPARE, asc: 0x1d, ascq: 0, information: 600 });
      expectSense(await u.run(cdb(form, 16n, 4, 0x02), { dataOut: data.subarray(0, 2047) }), SHORT_DATA);
      expect(writes(u)).toBe(0);
    });

    test(`${form.name} BYTCHK 11b: one block against every block`, async () => {
      const u = await unit();
      const one = block(512, 0x63, true);
      for (let lba = 40; lba < 44; lba++) expectGood(await u.run(bytes10(0x2a, lba, 1), { dataOut: one }));
      expect(u.lu.dataOutLength(cdb(form, 40n, 4, 0x06))).toBe(512);
      expectGood(await u.run(cdb(form, 40n, 4, 0x06), { dataOut: one }));
      const odd = Uint8Array.from(one);
      odd[5] = (odd[5] ?? 0) ^ 0x10;
      expectGood(await u.run(bytes10(0x2a, 42, 1), { dataOut: odd }));
      expectSense(await u.run(cdb(form, 40n, 4, 0x06), { dataOut: one }), { key: MISCOMPARE, asc: 0x1d, ascq: 0, information: 2 * 512 + 5 });
      expectSense(await u.run(cdb(form, 40n, 4, 0x06), { dataOut: one.subarray(0, 511) }), SHORT_DATA);
    });

    test(`${form.name}: BYTCHK 10b, VRPROTECT, reserved bits, length 0, range`, async () => {
      const { u, data } = await setup();
      expectSense(await u.run(cdb(form, 16n, 1, 0x04), { dataOut: data }), invalidField(1, 2));
      for (let p = 1; p <= 7; p++) {
        expectSense(await u.run(cdb(form, 16n, 1, (p << 5) | 0x02), { dataOut: data }), PROTECT_FIELD);
      }
      expectSense(await u.run(cdb(form, 16n, 1, 0x08), { dataOut: data }), invalidField(1, 3));
      expectSense(await u.run(cdb(form, 16n, 1, 0x01), { dataOut: data }), invalidField(1, 0));
      expectGood(await u.run(cdb(form, 16n, 0, 0x02)));
      expectGood(await u.run(cdb(form, 1024n, 0, 0x02)));
      expectSense(await u.run(cdb(form, 1025n, 0, 0x02)), LBA_OUT_OF_RANGE);
      expectSense(await u.run(cdb(form, 1023n, 2, 0x02), { dataOut: data }), LBA_OUT_OF_RANGE);
      expect(u.disk.calls).toEqual([]);
    });
  }

  test('VERIFY on a read-only disk is GOOD; a read fault → 03h/11h/00h', async () => {
    const state = { fail: false };
    // Fully provisioned (no unmap path), so a never-written block is a mapped block of zeros.
    const u = await unit({ readOnly: true, discard: false, writeZeroes: false, fault: (op) => (state.fail && op === 'read' ? 'io-error' : undefined) });
    expectGood(await u.run('2f 02 00 00 00 08 00 00 01 00', { dataOut: new Uint8Array(512) }));
    state.fail = true;
    expectSense(await u.run('2f 00 00 00 00 08 00 00 01 00'), { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, information: 8 });
  });
});

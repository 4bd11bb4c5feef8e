// COMPARE AND WRITE (89h) through SbcEmulator.execute, and its atomicity
// against concurrent READ/WRITE/COMPARE AND WRITE. CDB from SBC-4: byte 1
// WRPROTECT 7..5, DPO 4, FUA 3; LOGICAL BLOCK ADDRESS bytes 2..9; bytes 10..12
// reserved; NUMBER OF LOGICAL BLOCKS byte 13; GROUP NUMBER byte 14; CONTROL 15.
// The Data-Out Buffer is the verify data then the write data, n blocks each.

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { DATA_PROTECT, ILLEGAL_REQUEST, MEDIUM_ERROR, MISCOMPARE, block, bytes, expectGood, expectSense, hex, unit } from './harness.js';
import { HookedBlockSet, gate, settle, sleep } from './hooked-block-set.js';

/** COMPARE AND WRITE CDB, laid out per the SBC-4 table (checked against a literal below). */
function caw(lba: bigint, blocks: number, byte1 = 0): Uint8Array {
  const c = new Uint8Array(16);
  const v = new DataView(c.buffer);
  v.setUint8(0, 0x89);
  v.setUint8(1, byte1);
  v.setBigUint64(2, lba);
  v.setUint8(13, blocks);
  return c;
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = Uint8Array.from(b);
  c[at] = (c[at] ?? 0) ^ 0x01;
  return c;
};
const miscompareAt = (information: number) => ({ key: MISCOMPARE, asc: 0x1d, ascq: 0x00, information }) as const;
const LBA_OUT_OF_RANGE = { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0x00 } as const;
const WRITE_PROTECTED = { key: DATA_PROTECT, asc: 0x27, ascq: 0x00 } as const;
const SHORT_DATA = { key: ILLEGAL_REQUEST, asc: 0x0e, ascq: 0x03 } as const;
const invalidField = (byte: number, bit?: number) =>
  ({ key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0x00, field: bit === undefined ? { byte } : { byte, bit } }) as const;

test('the test CDB builder matches the SBC-4 table', () => {
  expect(hex(caw(0x0102030405060708n, 0xff, 0x08))).toBe('89 08 01 02 03 04 05 06 07 08 00 00 00 ff 00 00');
});

describe('COMPARE AND WRITE', () => {
  test('match: the write data lands', async () => {
    const u = await unit();
    const old = block(2 * 512, 0x10, true);
    const next = block(2 * 512, 0x90, true);
    expectGood(await u.run('2a 00 00 00 00 64 00 00 02 00', { dataOut: old }));
    u.disk.calls.length = 0;
    expectGood(await u.run('89 00 00 00 00 00 00 00 00 64 00 00 00 02 00 00', { dataOut: concat(old, next) }));
    expect(u.disk.calls).toEqual([{ op: 'read', lba: 100n, blocks: 2 }, { op: 'write', lba: 100n, blocks: 2 }]);
    expect(hex(u.disk.peek(100n))).toBe(hex(next.subarray(0, 512)));
    expect(hex(u.disk.peek(101n))).toBe(hex(next.subarray(512)));
    expect(hex(u.disk.peek(102n))).toBe(hex(new Uint8Array(512)));
  });

  test('Data-Out length is 2 × blocks × block size', async () => {
    const u = await unit();
    for (const n of [0, 1, 2, 255]) expect(u.lu.dataOutLength(caw(0n, n))).toBe(2 * n * 512);
    const big = await unit({ blockSize: 4096, blocks: 64 });
    expect(big.lu.dataOutLength(caw(0n, 3))).toBe(2 * 3 * 4096);
    const next = block(4096, 0x3c, true);
    expectGood(await big.run(caw(63n, 1), { dataOut: concat(new Uint8Array(4096), next) }));
    expect(hex(big.disk.peek(63n))).toBe(hex(next));
    expectSense(await big.run(caw(63n, 1), { dataOut: concat(next, next).subarray(0, 8191) }), SHORT_DATA);
  });

  test('miscompare in the last block: 0Eh/1Dh/00h, INFORMATION = offset in the verify data, medium unchanged', async () => {
    const u = await unit();
    const old = block(3 * 512, 0x20, true);
    expectGood(await u.run('2a 00 00 00 00 10 00 00 03 00', { dataOut: old }));
    u.disk.calls.length = 0;
    const at = 2 * 512 + 300;
    expectSense(await u.run(caw(16n, 3), { dataOut: concat(flip(old, at), block(3 * 512, 0xee)) }), miscompareAt(at));
    expect(u.disk.calls).toEqual([{ op: 'read', lba: 16n, blocks: 3 }]);
    for (let i = 0; i < 3; i++) expect(hex(u.disk.peek(16n + BigInt(i)))).toBe(hex(old.subarray(i * 512, (i + 1) * 512)));
  });

  test('1-block miscompare at each offset i: INFORMATION = i', async () => {
    const u = await unit();
    const cur = block(512, 0x33, true);
    expectGood(await u.run('2a 00 00 00 00 05 00 00 01 00', { dataOut: cur }));
    for (const i of [0, 1, 7, 255, 256, 510, 511]) {
      expectSense(await u.run(caw(5n, 1), { dataOut: concat(flip(cur, i), new Uint8Array(512)) }), miscompareAt(i));
    }
    expect(hex(u.disk.peek(5n))).toBe(hex(cur));
  });

  test('a never-written block compares as zeros', async () => {
    const u = await unit();
    expectSense(await u.run(caw(9n, 1), { dataOut: concat(block(512, 1), block(512, 2)) }), miscompareAt(0));
    expectGood(await u.run(caw(9n, 1), { dataOut: concat(new Uint8Array(512), block(512, 2)) }));
    expect(hex(u.disk.peek(9n))).toBe(hex(block(512, 2)));
  });

  test('NUMBER OF LOGICAL BLOCKS 0: GOOD, nothing compared or written', async () => {
    const u = await unit();
    expectGood(await u.run(caw(0n, 0)));
    expectGood(await u.run(caw(1024n, 0)));
    expect(u.disk.calls).toEqual([]);
    expectSense(await u.run(caw(1025n, 0)), LBA_OUT_OF_RANGE);
  });

  test('LBA range: last block OK; past the end → 21h/00h, no SKSV', async () => {
    const u = await unit();
    const one = new Uint8Array(1024); // verify zeros, write zeros
    const two = concat(new Uint8Array(1024), block(1024, 4));
    expectGood(await u.run(caw(1023n, 1), { dataOut: one }));
    expectGood(await u.run(caw(1022n, 2), { dataOut: two }));
    u.disk.calls.length = 0;
    expectSense(await u.run(caw(1023n, 2), { dataOut: two }), LBA_OUT_OF_RANGE);
    expectSense(await u.run(caw(1024n, 1), { dataOut: one }), LBA_OUT_OF_RANGE);
    expectSense(await u.run(caw(0xffff_ffffn, 1), { dataOut: one }), LBA_OUT_OF_RANGE);
    expectSense(await u.run(caw(0xffff_ffff_ffff_ffffn, 1), { dataOut: one }), LBA_OUT_OF_RANGE);
    expectSense(await u.run(caw(0xffff_ffff_ffff_ffffn, 0)), LBA_OUT_OF_RANGE);
    expect(u.disk.calls).toEqual([]);
  });

  test('blocks above MAXIMUM COMPARE AND WRITE LENGTH → 24h/00h at byte 13; LBA range first', async () => {
    const u = await unit({}, { maxCompareAndWriteBlocks: 4 });
    expectGood(await u.run(caw(0n, 4), { dataOut: new Uint8Array(8 * 512) }));
    expectSense(await u.run(caw(0n, 5), { dataOut: new Uint8Array(10 * 512) }), invalidField(13));
    expectSense(await u.run(caw(0n, 255)), invalidField(13));
    expectSense(await u.run(caw(1022n, 5)), LBA_OUT_OF_RANGE);
    expect(u.disk.calls.length).toBe(2);
  });

  test('default maximum: min(255, max transfer)', async () => {
    const small = await unit({}, { maxTransferBytes: 8 * 512 });
    expectGood(await small.run(caw(0n, 8), { dataOut: new Uint8Array(16 * 512) }));
    expectSense(await small.run(caw(0n, 9), { dataOut: new Uint8Array(18 * 512) }), invalidField(13));
    const u = await unit();
    const next = block(255 * 512, 0x71, true);
    expectGood(await u.run(caw(0n, 255), { dataOut: concat(new Uint8Array(255 * 512), next) }));
    expect(hex(u.disk.peek(254n))).toBe(hex(next.subarray(254 * 512)));
  });

  test('maximum 0 removes the command: 05h/20h/00h at byte 0', async () => {
    const u = await unit({}, { maxCompareAndWriteBlocks: 0 });
    expectSense(await u.run(caw(0n, 1), { dataOut: new Uint8Array(1024) }), { key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0, field: { byte: 0 } });
    expect(u.disk.calls).toEqual([]);
  });

  test('read-only: 07h/27h/00h even when the data would miscompare, with no data, or out of range', async () => {
    const u = await unit({ readOnly: true });
    expectSense(await u.run(caw(0n, 1), { dataOut: concat(block(512, 0xaa), block(512, 0xbb)) }), WRITE_PROTECTED);
    expectSense(await u.run(caw(0n, 1), { dataOut: concat(new Uint8Array(512), block(512, 0xbb)) }), WRITE_PROTECTED);
    expectSense(await u.run(caw(0n, 1)), WRITE_PROTECTED);
    expectSense(await u.run(caw(0n, 1), { dataOut: new Uint8Array(10) }), WRITE_PROTECTED);
    expectSense(await u.run(caw(5000n, 1)), WRITE_PROTECTED);
    expectSense(await u.run(caw(0n, 0)), WRITE_PROTECTED);
    expect(u.disk.calls).toEqual([]);
  });

  test('more Data-Out than 2 × blocks → INVALID FIELD IN CDB at NUMBER OF LOGICAL BLOCKS (byte 13), nothing read or written', async () => {
    const u = await unit();
    expectSense(await u.run(caw(7n, 0), { dataOut: block(1024, 0xff) }), invalidField(13));
    expectSense(await u.run(caw(3n, 1), { dataOut: new Uint8Array(1025) }), invalidField(13));
    // 256 blocks each of verify and write data for a NUMBER OF LOGICAL BLOCKS that can only say 0 (8 bits).
    expectSense(await u.run(caw(0n, 0), { dataOut: new Uint8Array(2 * 256 * 512) }), invalidField(13));
    expect(u.disk.calls).toEqual([]);
  });

  test('Data-Out shorter than 2 × blocks → 05h/0Eh/03h, nothing read or written', async () => {
    const u = await unit();
    for (const len of [0, 512, 1023]) expectSense(await u.run(caw(3n, 1), { dataOut: new Uint8Array(len) }), SHORT_DATA);
    expectSense(await u.run(caw(3n, 2), { dataOut: new Uint8Array(3 * 512) }), SHORT_DATA);
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run(caw(3n, 1), { dataOut: concat(new Uint8Array(512), block(512, 6)) }));
  });

  test('FUA: flush after the write when the write cache is on; DPO accepted', async () => {
    const data = concat(new Uint8Array(512), block(512, 6));
    const on = await unit({ writeCache: true });
    expectGood(await on.run(caw(3n, 1, 0x08), { dataOut: data }));
    expect(on.disk.calls.map((c) => c.op)).toEqual(['read', 'write', 'flush']);
    const off = await unit({ writeCache: false });
    expectGood(await off.run(caw(3n, 1, 0x18), { dataOut: data }));
    expect(off.disk.calls.map((c) => c.op)).toEqual(['read', 'write']);
    const dpo = await unit({ writeCache: true });
    expectGood(await dpo.run(caw(3n, 1, 0x10), { dataOut: data }));
    expect(dpo.disk.calls.map((c) => c.op)).toEqual(['read', 'write']);
  });

  test('WRPROTECT and reserved bits → 24h/00h with the field pointer; GROUP NUMBER accepted', async () => {
    const u = await unit();
    const data = { dataOut: concat(new Uint8Array(512), block(512, 6)) };
    // WRPROTECT (bits 7..5) is one field: any value 1..7 is pointed at by its first bit (SPC-5 4.4.2.4.2).
    for (let p = 1; p <= 7; p++) expectSense(await u.run(caw(0n, 1, p << 5), data), invalidField(1, 7));
    for (const bit of [2, 1, 0]) expectSense(await u.run(caw(0n, 1, 1 << bit), data), invalidField(1, bit));
    expectSense(await u.run('89 00 00 00 00 00 00 00 00 00 80 00 00 01 00 00', data), invalidField(10, 7));
    expectSense(await u.run('89 00 00 00 00 00 00 00 00 00 00 00 01 01 00 00', data), invalidField(12, 0));
    expectSense(await u.run('89 00 00 00 00 00 00 00 00 00 00 00 00 01 c0 00', data), invalidField(14, 7));
    expectSense(await u.run('89 00 00 00 00 00 00 00 00 00 00 00 00 01 00 04', data), invalidField(15, 2));
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run('89 00 00 00 00 00 00 00 00 00 00 00 00 01 3f 00', data));
  });

  test('backend failures: read → 03h/11h/00h (no write), write → 03h/0Ch/00h', async () => {
    const state: { op?: string } = { op: 'read' };
    const u = await unit({ fault: (op) => (op === state.op ? 'io-error' : undefined) });
    const data = { dataOut: concat(new Uint8Array(512), block(512, 6)) };
    expectSense(await u.run(caw(12n, 1), data), { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, information: 12 });
    expect(u.disk.calls.map((c) => c.op)).toEqual(['read']);
    state.op = 'write';
    expectSense(await u.run(caw(12n, 1), data), { key: MEDIUM_ERROR, asc: 0x0c, ascq: 0, information: 12 });
    expect(u.disk.mappedBlocks).toBe(0);
    expect(u.lu.locks.held).toBe(0);
    delete state.op;
    expectGood(await u.run(caw(12n, 1), data));
  });
});

// ---------------------------------------------------------------------------
// Atomicity (SBC-4 COMPARE AND WRITE: the compare and the write are one
// operation; no other command may change the blocks in between).

async function hookedUnit(): Promise<{ lu: SbcEmulator; disk: HookedBlockSet }> {
  const disk = new HookedBlockSet({ writeCache: false });
  const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: false });
  return { lu, disk };
}
const w10 = (lba: number, n: number): Uint8Array => bytes(`2a 00 00 00 00 ${lba.toString(16).padStart(2, '0')} 00 00 ${n.toString(16).padStart(2, '0')} 00`);
const r10 = (lba: number, n: number): Uint8Array => bytes(`28 00 00 00 00 ${lba.toString(16).padStart(2, '0')} 00 00 ${n.toString(16).padStart(2, '0')} 00`);

describe('COMPARE AND WRITE atomicity', () => {
  test('a WRITE overlapping a COMPARE AND WRITE cannot land between its compare and its write', async () => {
    const { lu, disk } = await hookedUnit();
    const g = gate();
    disk.before = (op, lba) => (op === 'read' && lba === 20n ? g.opened : undefined);
    const mine = block(2 * 512, 0xc1);
    const theirs = block(512, 0xd2);
    const cawDone = lu.execute(caw(20n, 2), { dataOut: concat(new Uint8Array(1024), mine) });
    await settle();
    expect(disk.trace()).toEqual(['read start 20+2']); // the compare's read is held
    const writeDone = lu.execute(w10(21, 1), { dataOut: theirs });
    // A write elsewhere is not held up.
    expectGood(await lu.execute(w10(40, 1), { dataOut: theirs }));
    await settle();
    expect(disk.trace().filter((t) => t.includes('21+'))).toEqual([]);
    expect(lu.locks.waiting).toBe(1);
    g.open();
    expectGood(await cawDone);
    expectGood(await writeDone);
    expect(disk.trace().filter((t) => !t.includes('40+'))).toEqual([
      'read start 20+2', 'read end 20+2', 'write start 20+2', 'write end 20+2', 'write start 21+1', 'write end 21+1',
    ]);
    expect(hex(disk.inner.peek(20n))).toBe(hex(mine.subarray(0, 512)));
    expect(hex(disk.inner.peek(21n))).toBe(hex(theirs));
    expect(lu.locks.held).toBe(0);
  });

  test('a COMPARE AND WRITE waits for an overlapping WRITE already running, and compares its data', async () => {
    const { lu, disk } = await hookedUnit();
    const g = gate();
    disk.before = (op, lba) => (op === 'write' && lba === 30n ? g.opened : undefined);
    const written = block(512, 0x5e);
    const writeDone = lu.execute(w10(30, 1), { dataOut: written });
    await settle();
    const cawDone = lu.execute(caw(30n, 1), { dataOut: concat(written, block(512, 0x6f)) });
    const readDone = lu.execute(r10(30, 1));
    await settle();
    expect(disk.trace()).toEqual(['write start 30+1']);
    g.open();
    expectGood(await writeDone);
    expectGood(await cawDone);
    const r = await readDone;
    expectGood(r);
    // The READ came after the COMPARE AND WRITE and sees its write, never the state in between.
    expect(hex(r.data)).toBe(hex(block(512, 0x6f)));
    expect(disk.trace('write')).toEqual(['write start 30+1', 'write end 30+1', 'write start 30+1', 'write end 30+1']);
  });

  test('a READ overlapping a COMPARE AND WRITE never sees the blocks between compare and write', async () => {
    const { lu, disk } = await hookedUnit();
    expectGood(await lu.execute(w10(8, 2), { dataOut: block(1024, 0x01) }));
    const g = gate();
    disk.before = (op) => (op === 'write' ? g.opened : undefined);
    const cawDone = lu.execute(caw(8n, 2), { dataOut: concat(block(1024, 0x01), block(1024, 0x02)) });
    await settle();
    const readDone = lu.execute(r10(9, 1));
    await settle();
    expect(disk.trace('read')).toEqual(['read start 8+2', 'read end 8+2']);
    g.open();
    expectGood(await cawDone);
    const r = await readDone;
    expect(hex(r.data)).toBe(hex(block(512, 0x02)));
  });

  /** Reads the counter block, then COMPARE AND WRITEs counter + 1, retrying on MISCOMPARE. Returns the attempts. */
  async function increment(lu: SbcEmulator, lba: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const cur = await lu.execute(r10(lba, 2));
      expectGood(cur);
      const old = cur.data ?? new Uint8Array(0);
      const next = Uint8Array.from(old);
      new DataView(next.buffer).setUint32(0, new DataView(old.buffer, old.byteOffset).getUint32(0) + 1);
      const r: SbcResult = await lu.execute(caw(BigInt(lba), 2), { dataOut: concat(old, next) });
      if (r.status === 0) return attempt;
      expectSense(r, { key: MISCOMPARE, asc: 0x1d, ascq: 0 });
    }
  }

  /** Slows every read and write by 0..3 ms, in a fixed pattern, so concurrent commands interleave. */
  function slow(disk: HookedBlockSet): void {
    let i = 0;
    disk.before = () => sleep([0, 2, 1, 3, 0, 1][i++ % 6] ?? 0);
  }

  test('N concurrent COMPARE AND WRITE increments with interleaved WRITEs: no lost update', async () => {
    const { lu, disk } = await hookedUnit();
    slow(disk);
    const N = 12;
    // Block 60 holds the counter; block 61 is shared with a stream of WRITEs. A
    // COMPARE AND WRITE writes back the block 61 it compared, so a WRITE that
    // landed between its compare and its write would be overwritten.
    let lastWritten = -1;
    const writer = (async () => {
      for (let seq = 0; seq < 15; seq++) {
        const data = new Uint8Array(512);
        new DataView(data.buffer).setUint32(0, 0xabc000 + seq);
        expectGood(await lu.execute(w10(61, 1), { dataOut: data }));
        lastWritten = 0xabc000 + seq;
        await sleep(1);
      }
    })();
    const attempts = await Promise.all(Array.from({ length: N }, () => increment(lu, 60)));
    await writer;
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0);
    expect(view(disk.inner.peek(60n))).toBe(N);
    expect(view(disk.inner.peek(61n))).toBe(lastWritten);
    expect(attempts.reduce((a, b) => a + b, 0)).toBeGreaterThan(N); // there was contention
    expect(lu.locks.held).toBe(0);
    expect(lu.locks.waiting).toBe(0);
  });

  test('control: the same workload done as READ + compare + WRITE by the initiator does lose updates', async () => {
    const { lu, disk } = await hookedUnit();
    slow(disk);
    const N = 12;
    await Promise.all(
      Array.from({ length: N }, async () => {
        const cur = await lu.execute(r10(70, 1));
        const next = Uint8Array.from(cur.data ?? []);
        new DataView(next.buffer).setUint32(0, new DataView(next.buffer).getUint32(0) + 1);
        expectGood(await lu.execute(w10(70, 1), { dataOut: next }));
      }),
    );
    expect(new DataView(disk.inner.peek(70n).buffer).getUint32(0)).toBeLessThan(N);
  });
});

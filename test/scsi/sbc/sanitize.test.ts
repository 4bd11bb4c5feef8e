// SANITIZE 48h through SbcEmulator.execute. CDB from SBC-4: byte 1 IMMED (7),
// reserved (6), AUSE (5), SERVICE ACTION (4..0: 01h OVERWRITE, 02h BLOCK
// ERASE, 03h CRYPTOGRAPHIC ERASE, 1Fh EXIT FAILURE MODE); bytes 2..6 reserved;
// PARAMETER LIST LENGTH 7..8. OVERWRITE parameter list: INVERT 0.7, TEST
// 0.6..5, OVERWRITE COUNT 0.4..0, reserved byte 1, INITIALIZATION PATTERN
// LENGTH 2..3, pattern from byte 4. Sense codes written out: 04h/1Bh SANITIZE
// IN PROGRESS (with PROGRESS INDICATION in bytes 16..17), 31h/03h SANITIZE
// COMMAND FAILED.

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import {
  DATA_PROTECT,
  ILLEGAL_REQUEST,
  MEDIUM_ERROR,
  NOT_READY,
  block,
  bytes,
  expectGood,
  expectSense,
  hex,
  unit,
} from './harness.js';
import { HookedBlockSet, gate, settle } from './hooked-block-set.js';

const BS = 512;
const BLOCKS = 64;
const TUR = '00 00 00 00 00 00';
const READ_0 = '28 00 00 00 00 00 00 00 01 00';
const sanitize = (byte1: number, pll = 0): string => hex(Uint8Array.of(0x48, byte1, 0, 0, 0, 0, 0, pll >> 8, pll & 0xff, 0));
const OVERWRITE = 0x01;
const BLOCK_ERASE = 0x02;
const EXIT = 0x1f;
const IMMED = 0x80;
const AUSE = 0x20;
/** OVERWRITE parameter list: byte 0, reserved, INITIALIZATION PATTERN LENGTH, pattern. */
const params = (b0: number, pattern: Uint8Array, b1 = 0, length = pattern.length): Uint8Array =>
  Uint8Array.from([b0, b1, length >> 8, length & 0xff, ...pattern]);
const invalidCdb = (byte: number, bit?: number) => ({ key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: bit === undefined ? { byte } : { byte, bit } });
const invalidParam = (byte: number, bit?: number) => ({ key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: bit === undefined ? { byte, cdb: false } : { byte, bit, cdb: false } });
const FAILED = { key: MEDIUM_ERROR, asc: 0x31, ascq: 0x03 };
const disk = { blocks: BLOCKS };

/** The sanitize-in-progress sense: NOT READY 04h/1Bh with SKSV and a PROGRESS INDICATION; returns the progress. */
function expectInProgress(r: SbcResult): number {
  expect(r.status).toBe(0x02);
  const s = r.sense ?? new Uint8Array(0);
  expect(hex(Uint8Array.of(s[2] ?? 0, s[12] ?? 0, s[13] ?? 0, (s[15] ?? 0) & 0x80))).toBe('02 04 1b 80');
  return ((s[16] ?? 0) << 8) | (s[17] ?? 0);
}

describe('SANITIZE OVERWRITE', () => {
  test('a full-block pattern lands on every block, then the write cache is flushed', async () => {
    const u = await unit(disk);
    const pattern = block(BS, 0x11, true);
    expectGood(await u.run(sanitize(OVERWRITE, BS + 4), { dataOut: params(0x01, pattern) }));
    for (const lba of [0n, 31n, 63n]) expect(hex(u.disk.peek(lba))).toBe(hex(pattern));
    const ops = u.disk.calls.map((c) => c.op);
    expect(ops.filter((o) => o === 'write').length).toBeGreaterThan(0);
    expect(ops[ops.length - 1]).toBe('flush');
    expect(u.disk.calls.filter((c) => c.op === 'write').reduce((n, c) => n + (c.blocks ?? 0), 0)).toBe(BLOCKS);
  });

  test('a shorter pattern repeats from the start of each block (half block, 4 bytes, 3 bytes)', async () => {
    const u = await unit(disk);
    expectGood(await u.run(sanitize(OVERWRITE, 4 + 3), { dataOut: params(0x01, Uint8Array.of(1, 2, 3)) }));
    const want = new Uint8Array(BS).map((_, i) => [1, 2, 3][i % 3] ?? 0);
    expect(hex(u.disk.peek(17n))).toBe(hex(want));
    expectGood(await u.run(sanitize(OVERWRITE, 4 + 4), { dataOut: params(0x01, Uint8Array.of(0xde, 0xad, 0xbe, 0xef)) }));
    expect(hex(u.disk.peek(5n).subarray(0, 8))).toBe('de ad be ef de ad be ef');
    const half = block(BS / 2, 0x40, true);
    expectGood(await u.run(sanitize(OVERWRITE, BS / 2 + 4), { dataOut: params(0x01, half) }));
    expect(hex(u.disk.peek(63n))).toBe(hex(Uint8Array.from([...half, ...half])));
  });

  test('OVERWRITE COUNT passes, INVERT inverting every other pass: 2 passes end inverted, 3 end plain', async () => {
    const u = await unit(disk);
    expectGood(await u.run(sanitize(OVERWRITE, 5), { dataOut: params(0x82, Uint8Array.of(0x0f)) }));
    expect(u.disk.calls.filter((c) => c.op === 'write').reduce((n, c) => n + (c.blocks ?? 0), 0)).toBe(2 * BLOCKS);
    expect(hex(u.disk.peek(9n))).toBe(hex(block(BS, 0xf0)));
    expectGood(await u.run(sanitize(OVERWRITE, 5), { dataOut: params(0x83, Uint8Array.of(0x0f)) }));
    expect(hex(u.disk.peek(9n))).toBe(hex(block(BS, 0x0f)));
    expectGood(await u.run(sanitize(OVERWRITE, 5), { dataOut: params(0x02, Uint8Array.of(0x0f)) })); // no INVERT
    expect(hex(u.disk.peek(9n))).toBe(hex(block(BS, 0x0f)));
  });

  test('PARAMETER LIST LENGTH below 5 or above block length + 4 → INVALID FIELD IN CDB at byte 7; nothing written', async () => {
    const u = await unit(disk);
    for (const pll of [0, 1, 4, BS + 5, 0xffff]) {
      expectSense(await u.run(sanitize(OVERWRITE, pll), { dataOut: new Uint8Array(pll) }), invalidCdb(7));
    }
    expect(u.disk.calls).toEqual([]);
  });

  test('parameter list faults point at their field; nothing is written', async () => {
    const u = await unit(disk);
    const p4 = Uint8Array.of(1, 2, 3, 4);
    expectSense(await u.run(sanitize(OVERWRITE, 8), { dataOut: params(0x00, p4) }), invalidParam(0, 4)); // OVERWRITE COUNT 0
    expectSense(await u.run(sanitize(OVERWRITE, 8), { dataOut: params(0x21, p4) }), invalidParam(0, 6)); // TEST 01b
    expectSense(await u.run(sanitize(OVERWRITE, 8), { dataOut: params(0x01, p4, 0x10) }), invalidParam(1, 4)); // reserved byte 1
    expectSense(await u.run(sanitize(OVERWRITE, 8), { dataOut: params(0x01, p4, 0, 0) }), invalidParam(2)); // LENGTH 0
    expectSense(await u.run(sanitize(OVERWRITE, BS + 4), { dataOut: params(0x01, block(BS, 1), 0, BS + 1) }), invalidParam(2)); // > block
    expectSense(await u.run(sanitize(OVERWRITE, 8), { dataOut: params(0x01, p4, 0, 3) }), invalidParam(2)); // leaves a byte unused
    expectSense(await u.run(sanitize(OVERWRITE, 8), { dataOut: params(0x01, p4, 0, 5) }), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expectSense(await u.run(sanitize(OVERWRITE, 8), { dataOut: params(0x01, p4).subarray(0, 6) }), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run(TUR));
  });

  test('reserved CDB bits and bytes → INVALID FIELD IN CDB at their position', async () => {
    const u = await unit(disk);
    const list = params(0x01, Uint8Array.of(1));
    expectSense(await u.run(sanitize(OVERWRITE | 0x40, 5), { dataOut: list }), invalidCdb(1, 6));
    for (let byte = 2; byte <= 6; byte++) {
      const c = bytes(sanitize(OVERWRITE, 5));
      c[byte] = byte;
      expectSense(await u.run(c, { dataOut: list }), invalidCdb(byte, 31 - Math.clz32(byte)));
    }
    expectSense(await u.run('48 01 00 00 00 00 00 00 05 04', { dataOut: list }), invalidCdb(9, 2)); // NACA
    expect(u.disk.calls).toEqual([]);
  });

  test('read-only → DATA PROTECT, WRITE PROTECTED; EXIT FAILURE MODE writes nothing and is allowed', async () => {
    const u = await unit({ ...disk, readOnly: true });
    expectSense(await u.run(sanitize(OVERWRITE, 5), { dataOut: params(0x01, Uint8Array.of(1)) }), { key: DATA_PROTECT, asc: 0x27, ascq: 0 });
    expectSense(await u.run(sanitize(BLOCK_ERASE)), { key: DATA_PROTECT, asc: 0x27, ascq: 0 });
    expectGood(await u.run(sanitize(EXIT)));
  });

  test('no medium → NOT READY, MEDIUM NOT PRESENT; stopped → NOT READY, INITIALIZING COMMAND REQUIRED', async () => {
    const r = await unit(disk, { removable: true });
    expectGood(await r.run('1b 00 00 00 02 00'));
    expectSense(await r.run(sanitize(BLOCK_ERASE)), { key: NOT_READY, asc: 0x3a, ascq: 0 });
    const s = await unit(disk);
    expectGood(await s.run('1b 00 00 00 00 00'));
    expectSense(await s.run(sanitize(BLOCK_ERASE)), { key: NOT_READY, asc: 0x04, ascq: 0x02 });
  });
});

describe('SANITIZE BLOCK ERASE', () => {
  test('deallocates every block: all read back as zeros, GET LBA STATUS reports one deallocated run', async () => {
    const u = await unit(disk);
    expectGood(await u.run('2a 00 00 00 00 00 00 00 04 00', { dataOut: block(4 * BS, 0x61) }));
    expectGood(await u.run('2a 00 00 00 00 3c 00 00 04 00', { dataOut: block(4 * BS, 0x61) }));
    expectGood(await u.run(sanitize(BLOCK_ERASE)));
    expect(u.disk.mappedBlocks).toBe(0);
    const r = await u.run('88 00 00 00 00 00 00 00 00 3c 00 00 00 04 00 00');
    expect(hex(r.data)).toBe(hex(new Uint8Array(4 * BS)));
    const s = await u.run('9e 12 00 00 00 00 00 00 00 00 00 00 01 00 00 00');
    expect(hex(s.data)).toBe('00 00 00 14 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 40 01 00 00 00');
  });

  test('PARAMETER LIST LENGTH ≠ 0 → INVALID FIELD IN CDB at byte 8 (its bit)', async () => {
    const u = await unit(disk);
    expectSense(await u.run(sanitize(BLOCK_ERASE, 8), { dataOut: new Uint8Array(8) }), invalidCdb(8, 3));
    expectSense(await u.run(sanitize(EXIT, 8), { dataOut: new Uint8Array(8) }), invalidCdb(8, 3));
  });

  test('by write-zeroes that may deallocate, where there is no discard that reads back zeros', async () => {
    const u = await unit({ ...disk, discard: false });
    expectGood(await u.run('2a 00 00 00 00 10 00 00 01 00', { dataOut: block(BS, 0x61) }));
    expectGood(await u.run(sanitize(BLOCK_ERASE)));
    expect(u.disk.calls.filter((c) => c.op === 'write-zeroes').every((c) => c.unmap === true)).toBe(true);
    expect(u.disk.mappedBlocks).toBe(0);
    expect(hex(u.disk.peek(16n))).toBe(hex(new Uint8Array(BS)));
  });

  test('offered only where deallocating erases; WABEREQ 01b then, 00b otherwise', async () => {
    const yes = await unit(disk);
    expect(hex((await yes.run('12 01 b1 00 40 00')).data?.subarray(7, 8))).toBe('40');
    const no = await unit({ ...disk, discard: { maxBlocks: 64, maxSegments: 1, granularity: 0, zeroes: false }, writeZeroes: { maxBlocks: 64, mayUnmap: false } });
    expectSense(await no.run(sanitize(BLOCK_ERASE)), invalidCdb(1, 4));
    expect(hex((await no.run('12 01 b1 00 40 00')).data?.subarray(7, 8))).toBe('00');
    expectGood(await no.run(sanitize(OVERWRITE, 5), { dataOut: params(0x01, Uint8Array.of(0)) }));
    // A device that cannot report allocation (no mapping query, as virtio-blk) could not show the deallocation.
    const blind = await SbcEmulator.create(new HookedBlockSet({ blocks: BLOCKS }), { powerOnUnitAttention: false });
    expect((await blind.execute(bytes(sanitize(BLOCK_ERASE)))).senseData).toEqual({ key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { cdb: true, byte: 1, bit: 4 } });
    expect(hex((await blind.execute(bytes('12 01 b1 00 40 00'))).data?.subarray(7, 8))).toBe('00');
  });
});

describe('service actions', () => {
  test('CRYPTOGRAPHIC ERASE (03h, no encryption here) and unassigned ones → INVALID FIELD IN CDB at byte 1 bit 4', async () => {
    const u = await unit(disk);
    for (const sa of [0x00, 0x03, 0x04, 0x10, 0x1e]) expectSense(await u.run(sanitize(sa)), invalidCdb(1, 4));
    expect(u.disk.calls).toEqual([]);
  });

  test('REPORT SUPPORTED OPERATION CODES: OVERWRITE, BLOCK ERASE and EXIT FAILURE MODE, with their usage data', async () => {
    // CDB USAGE DATA byte 1: IMMED (7) and AUSE (5) usable, SERVICE ACTION (4..0) the one queried (SPC-5 one_command).
    const u = await unit(disk);
    const one = (sa: number) => u.run(`a3 0c 02 48 00 ${sa.toString(16).padStart(2, '0')} 00 00 04 00 00 00`);
    expect(hex((await one(1)).data)).toBe('00 03 00 0a 48 a1 00 00 00 00 00 ff ff 00');
    expect(hex((await one(2)).data)).toBe('00 03 00 0a 48 a2 00 00 00 00 00 00 00 00');
    expect(hex((await one(0x1f)).data)).toBe('00 03 00 0a 48 bf 00 00 00 00 00 00 00 00');
    expect(hex((await one(3)).data)).toBe('00 01 00 00');
  });

  test('sanitize: false removes the command (INVALID COMMAND OPERATION CODE)', async () => {
    const u = await unit(disk, { sanitize: false });
    expectSense(await u.run(sanitize(BLOCK_ERASE)), { key: ILLEGAL_REQUEST, asc: 0x20, ascq: 0, field: { byte: 0 } });
  });
});

describe('while a sanitize runs', () => {
  async function held(): Promise<{ lu: SbcEmulator; disk: HookedBlockSet; open: () => void; run: (cdb: string, nexus?: string) => Promise<SbcResult> }> {
    const d = new HookedBlockSet({ blocks: BLOCKS });
    const g = gate();
    let writes = 0;
    // Let the first write through, hold the second: the operation is part way.
    d.before = (op) => (op === 'write' && ++writes === 2 ? g.opened : undefined);
    const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false, maxTransferBytes: 16 * BS });
    return { lu, disk: d, open: () => { g.open(); }, run: (cdb, nexus = 'a') => lu.execute(bytes(cdb), { nexus }) };
  }

  test('every command but INQUIRY, REPORT LUNS and REQUEST SENSE is NOT READY, SANITIZE IN PROGRESS, with its progress', async () => {
    const h = await held();
    const running = h.lu.execute(bytes(sanitize(OVERWRITE, 5)), { dataOut: params(0x01, Uint8Array.of(0x77)), nexus: 'a' });
    await settle();
    expect(expectInProgress(await h.run(TUR))).toBe(0x4000); // 16 of 64 blocks written
    expectInProgress(await h.run(READ_0, 'b'));
    expectInProgress(await h.run('1b 01 00 00 12 00')); // START STOP UNIT
    expectInProgress(await h.run('1a 00 3f 00 ff 00')); // MODE SENSE
    expectInProgress(await h.run(sanitize(EXIT)));
    expectGood(await h.run('12 00 00 00 24 00'));
    expectGood(await h.run('a0 00 00 00 00 00 00 00 01 00 00 00'));
    const rs = await h.run('03 00 00 00 12 00');
    expectGood(rs);
    expect(hex(rs.data?.subarray(12, 18))).toBe('04 1b 00 80 40 00');
    h.open();
    expectGood(await running);
    expectGood(await h.run(TUR));
    expect(hex(h.disk.inner.peek(63n))).toBe(hex(block(BS, 0x77)));
  });

  test('resets and I_T nexus loss do not stop it; IMMED answers at once', async () => {
    const h = await held();
    expectGood(await h.lu.execute(bytes(sanitize(OVERWRITE | IMMED, 5)), { dataOut: params(0x01, Uint8Array.of(0x55)) }));
    await settle();
    h.lu.resetLogicalUnit();
    h.lu.forgetNexus('a');
    expectInProgress(await h.run(TUR));
    h.open();
    let r = await h.run(TUR, 'c');
    for (let i = 0; i < 100 && r.status !== 0; i++) {
      expectInProgress(r);
      await settle();
      r = await h.run(TUR, 'c');
    }
    expectGood(r);
    expect(hex(h.disk.inner.peek(0n))).toBe(hex(block(BS, 0x55)));
  });

  test('a command already running finishes before the sanitize touches a block', async () => {
    const d = new HookedBlockSet({ blocks: BLOCKS });
    const g = gate();
    d.before = (op, lba) => (op === 'write' && lba === 5n ? g.opened : undefined);
    const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false });
    const write = lu.execute(bytes('2a 00 00 00 00 05 00 00 01 00'), { dataOut: block(BS, 1) });
    await settle();
    const s = lu.execute(bytes(sanitize(OVERWRITE, 5)), { dataOut: params(0x01, Uint8Array.of(2)) });
    await settle();
    expect(d.trace('write')).toEqual(['write start 5+1']);
    g.open();
    expectGood(await write);
    expectGood(await s);
    expect(d.trace('write').slice(0, 3)).toEqual(['write start 5+1', 'write end 5+1', 'write start 0+64']);
    expect(hex(d.inner.peek(5n))).toBe(hex(block(BS, 2)));
  });
});

describe('sanitize failure mode', () => {
  const failingWrites = { ...disk, fault: (op: string) => (op === 'write' ? ('io-error' as const) : undefined) };

  test('a failed OVERWRITE → MEDIUM ERROR, SANITIZE COMMAND FAILED; medium access stays so until EXIT FAILURE MODE (AUSE 1)', async () => {
    const u = await unit(failingWrites);
    expectSense(await u.run(sanitize(OVERWRITE | AUSE, 5), { dataOut: params(0x01, Uint8Array.of(1)) }), FAILED);
    expectSense(await u.run(READ_0), FAILED);
    expectSense(await u.run(TUR), FAILED);
    expectGood(await u.run('12 00 00 00 24 00'));
    expect(hex((await u.run('03 00 00 00 12 00')).data?.subarray(0, 14))).toBe('70 00 03 00 00 00 00 0a 00 00 00 00 31 03');
    expectGood(await u.run(sanitize(EXIT)));
    expectGood(await u.run(TUR));
    expectGood(await u.run(READ_0));
    expectGood(await u.run(sanitize(EXIT))); // nothing to exit: no effect
  });

  test('AUSE 0: EXIT FAILURE MODE is refused (INVALID FIELD IN CDB at the service action); a sanitize that succeeds ends the mode', async () => {
    const fail = { on: true };
    const u = await unit({ ...disk, fault: (op) => (fail.on && op === 'write' ? 'io-error' : undefined) });
    expectSense(await u.run(sanitize(OVERWRITE, 5), { dataOut: params(0x01, Uint8Array.of(1)) }), FAILED);
    expectSense(await u.run(sanitize(EXIT)), invalidCdb(1, 4));
    expectSense(await u.run(READ_0), FAILED);
    fail.on = false;
    expectGood(await u.run(sanitize(OVERWRITE, 5), { dataOut: params(0x01, Uint8Array.of(9)) }));
    expectGood(await u.run(READ_0));
  });

  test('with IMMED the command is GOOD and the failure shows as the failure mode', async () => {
    const u = await unit(failingWrites);
    expectGood(await u.run(sanitize(OVERWRITE | IMMED, 5), { dataOut: params(0x01, Uint8Array.of(1)) }));
    await settle();
    expectSense(await u.run(TUR), FAILED);
  });
});

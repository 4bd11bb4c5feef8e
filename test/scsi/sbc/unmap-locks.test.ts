// UNMAP (42h) against the commands that run beside it: it holds the range
// locks of all its descriptors from before its first discard to its last, so a
// SANITIZE that begins meanwhile waits for the whole UNMAP (SBC-4 sanitize
// operations: once a SANITIZE OVERWRITE completes, every block holds the
// INITIALIZATION PATTERN), WRITEs (shared locks) run on, and a COMPARE AND
// WRITE (an exclusive lock) waits. Lists and CDBs are written from the SBC-4
// tables.

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { block, bytes, expectGood, hex, unmapList } from './harness.js';
import { HookedBlockSet, gate, settle, type HookedOp } from './hooked-block-set.js';

const BS = 512;
const BLOCKS = 1024;

/** UNMAP CDB (PARAMETER LIST LENGTH bytes 7..8) with its parameter list (unmapList). */
function unmap(lu: SbcEmulator, ds: readonly (readonly [bigint, number])[]): Promise<SbcResult> {
  const list = unmapList(ds);
  const cdb = Uint8Array.of(0x42, 0, 0, 0, 0, 0, 0, list.length >> 8, list.length & 0xff, 0);
  return lu.execute(cdb, { dataOut: list });
}

/** WRITE (10) of `n` blocks of `fill` at `lba`. */
function write(lu: SbcEmulator, lba: number, n: number, fill: number): Promise<SbcResult> {
  const cdb = Uint8Array.of(0x2a, 0, lba >> 24, (lba >> 16) & 0xff, (lba >> 8) & 0xff, lba & 0xff, 0, n >> 8, n & 0xff, 0);
  return lu.execute(cdb, { dataOut: new Uint8Array(n * BS).fill(fill) });
}

/** COMPARE AND WRITE (89h) of one block at `lba`: LBA bytes 2..9, NUMBER OF LOGICAL BLOCKS byte 13. */
function compareAndWrite(lu: SbcEmulator, lba: number, verify: number, next: number): Promise<SbcResult> {
  const cdb = bytes(`89 00 00 00 00 00 00 00 ${hex(Uint8Array.of(lba >> 8, lba & 0xff))} 00 00 00 01 00 00`);
  const data = new Uint8Array(2 * BS);
  data.fill(verify, 0, BS);
  data.fill(next, BS);
  return lu.execute(cdb, { dataOut: data });
}

/** SANITIZE OVERWRITE, not IMMED: OVERWRITE COUNT 1, INITIALIZATION PATTERN LENGTH 1, pattern `p`. */
function sanitizeOverwrite(lu: SbcEmulator, p: number): Promise<SbcResult> {
  return lu.execute(bytes('48 01 00 00 00 00 00 00 05 00'), { dataOut: Uint8Array.of(0x01, 0, 0, 1, p) });
}

/** A unit whose first `op` at `lba` waits for the gate it returns. */
async function heldUnit(op: HookedOp, lba: bigint) {
  const d = new HookedBlockSet({ blocks: BLOCKS });
  const g = gate();
  let held = false;
  d.before = (o, at) => {
    if (held || o !== op || at !== lba) return undefined;
    held = true;
    return g.opened;
  };
  const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false });
  return { d, g, lu };
}

/** Records when `p` settles, to tell a command that still waits. */
function watch(p: Promise<SbcResult>): { readonly p: Promise<SbcResult>; readonly done: () => boolean } {
  let settled = false;
  void p.finally(() => {
    settled = true;
  });
  return { p, done: () => settled };
}

function expectEveryBlock(d: HookedBlockSet, fill: number): void {
  const want = hex(block(BS, fill));
  for (let lba = 0n; lba < BLOCKS; lba++) expect(hex(d.inner.peek(lba)), `block ${lba}`).toBe(want);
}

describe('UNMAP holds its descriptors\' locks from its first discard to its last', () => {
  test('a SANITIZE OVERWRITE begun while its first discard runs waits for the whole UNMAP: every block holds the pattern', async () => {
    const { d, g, lu } = await heldUnit('discard', 0n);
    expectGood(await write(lu, 0, 8, 0xaa));
    expectGood(await write(lu, 256, 8, 0xaa));
    d.events.length = 0;
    const u = unmap(lu, [[0n, 8], [256n, 8]]);
    await settle();
    expect(d.trace('discard')).toEqual(['discard start 0+8']);
    const s = watch(sanitizeOverwrite(lu, 0x5a));
    await settle();
    expect(d.trace('write')).toEqual([]);
    g.open();
    expectGood(await u);
    expectGood(await s.p);
    expectEveryBlock(d, 0x5a);
    const trace = d.trace();
    expect(trace.indexOf('discard end 256+8')).toBeGreaterThan(-1);
    expect(trace.indexOf('discard end 256+8')).toBeLessThan(trace.findIndex((e) => e.startsWith('write start')));
  });

  test('its first descriptor behind a COMPARE AND WRITE, then a SANITIZE: no deadlock, and nothing of the UNMAP lands after the sanitize', async () => {
    const { d, g, lu } = await heldUnit('read', 0n);
    expectGood(await write(lu, 0, 8, 0xaa));
    expectGood(await write(lu, 256, 8, 0xaa));
    const c = compareAndWrite(lu, 0, 0xaa, 0xbb);
    await settle();
    const u = watch(unmap(lu, [[0n, 8], [256n, 8]]));
    const s = watch(sanitizeOverwrite(lu, 0x5a));
    await settle();
    expect([u.done(), s.done()]).toEqual([false, false]);
    g.open();
    expectGood(await c);
    expectGood(await u.p);
    expectGood(await s.p);
    expectEveryBlock(d, 0x5a);
  });

  test('WRITEs into its ranges run while it is held; a COMPARE AND WRITE on a later descriptor\'s block waits for it', async () => {
    const { d, g, lu } = await heldUnit('discard', 0n);
    expectGood(await write(lu, 0, 16, 0xaa));
    expectGood(await write(lu, 256, 16, 0xaa));
    const u = unmap(lu, [[0n, 8], [256n, 8]]);
    await settle();
    expectGood(await write(lu, 4, 1, 0x11));
    expectGood(await write(lu, 260, 1, 0x22));
    expectGood(await write(lu, 300, 1, 0x33));
    const c = watch(compareAndWrite(lu, 258, 0x00, 0xcc));
    await settle();
    expect(c.done()).toBe(false);
    g.open();
    expectGood(await u);
    // After the UNMAP, block 258 reads as zeros: what the COMPARE AND WRITE expects.
    expectGood(await c.p);
    expect(hex(d.inner.peek(258n))).toBe(hex(block(BS, 0xcc)));
    for (const lba of [0n, 4n, 256n, 260n, 263n]) expect(hex(d.inner.peek(lba)), `block ${lba}`).toBe(hex(block(BS, 0)));
    expect(hex(d.inner.peek(300n))).toBe(hex(block(BS, 0x33)));
    for (const lba of [8n, 264n]) expect(hex(d.inner.peek(lba)), `block ${lba}`).toBe(hex(block(BS, 0xaa)));
  });
});

// Commands the emulator carries out as a series of block operations stop
// between two of them once their transport has aborted them
// (ExecuteOptions.aborted; SAM-5 aborting commands: an aborted command may
// leave part of its work done): WRITE SAME written out in chunks, and UNMAP
// with several descriptors. The operation in flight completes; none after it
// is issued. What the command answers then is ABORTED COMMAND, which its
// transport never delivers (it ends the command as the abort says). CDBs and
// lists from the SBC-4 tables.

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { block, expectGood, expectSense, hex } from './harness.js';
import { HookedBlockSet, gate, settle, type HookedOp } from './hooked-block-set.js';

const BS = 512;
const ABORTED_COMMAND = 0x0b;

/** A unit of 4-block transfers whose `op` at `lba` waits for the gate it returns; `aborted` is what the transport answers. */
async function heldUnit(op: HookedOp, lba: bigint) {
  const d = new HookedBlockSet({ blocks: 1024 });
  const g = gate();
  d.before = (o, at) => (o === op && at === lba ? g.opened : undefined);
  const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false, maxTransferBytes: 4 * BS });
  const abort = { on: false };
  const run = (cdb: Uint8Array, dataOut: Uint8Array): Promise<SbcResult> => lu.execute(cdb, { dataOut, aborted: () => abort.on });
  return { d, g, abort, run };
}

describe('an aborted command stops before its next block operation', () => {
  test('WRITE SAME (10) of 12 blocks, written out 4 at a time: aborted while the second write runs, the third is never issued', async () => {
    const { d, g, abort, run } = await heldUnit('write', 4n);
    // WRITE SAME (10): LBA 0 (bytes 2..5), NUMBER OF LOGICAL BLOCKS 12 (bytes 7..8); the block is 77h.
    const ws = run(Uint8Array.of(0x41, 0, 0, 0, 0, 0, 0, 0, 12, 0), block(BS, 0x77));
    await settle();
    expect(d.trace('write')).toEqual(['write start 0+4', 'write end 0+4', 'write start 4+4']);
    abort.on = true;
    g.open();
    expectSense(await ws, { key: ABORTED_COMMAND, asc: 0, ascq: 0 });
    expect(d.trace('write')).toEqual(['write start 0+4', 'write end 0+4', 'write start 4+4', 'write end 4+4']);
    expect(hex(d.inner.peek(7n))).toBe(hex(block(BS, 0x77)));
    expect(hex(d.inner.peek(8n))).toBe(hex(block(BS, 0)));
  });

  test('UNMAP with three descriptors: aborted while the second discard runs, the third is never issued', async () => {
    const { d, g, abort, run } = await heldUnit('discard', 256n);
    for (const lba of [0, 1, 2]) expectGood(await run(Uint8Array.of(0x2a, 0, 0, 0, lba, 0, 0, 0, 4, 0), block(4 * BS, 0x33)));
    // UNMAP: PARAMETER LIST LENGTH 56 (bytes 7..8); list: UNMAP DATA LENGTH 54, UNMAP BLOCK DESCRIPTOR DATA LENGTH 48,
    // descriptors (LBA 8 bytes, NUMBER OF LOGICAL BLOCKS 4 bytes, 4 reserved) for 0+4, 256+4, 512+4.
    const list = new Uint8Array(56);
    const v = new DataView(list.buffer);
    v.setUint16(0, 54);
    v.setUint16(2, 48);
    [0n, 256n, 512n].forEach((lba, k) => {
      v.setBigUint64(8 + 16 * k, lba);
      v.setUint32(16 + 16 * k, 4);
    });
    const unmap = run(Uint8Array.of(0x42, 0, 0, 0, 0, 0, 0, 0, 56, 0), list);
    await settle();
    expect(d.trace('discard')).toEqual(['discard start 0+4', 'discard end 0+4', 'discard start 256+4']);
    abort.on = true;
    g.open();
    expectSense(await unmap, { key: ABORTED_COMMAND, asc: 0, ascq: 0 });
    expect(d.trace('discard')).toEqual(['discard start 0+4', 'discard end 0+4', 'discard start 256+4', 'discard end 256+4']);
    expect(hex(d.inner.peek(512n))).toBe(hex(block(BS, 0x33)));
  });
});

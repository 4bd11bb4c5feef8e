// Commands the emulator carries out as a series of block operations stop
// between two of them once their transport has aborted them
// (ExecuteOptions.aborted; SAM-5 aborting commands: an aborted command may
// leave part of its work done): WRITE SAME written out in chunks, UNMAP with
// several descriptors, COMPARE AND WRITE and ORWRITE (read, then write), WRITE
// AND VERIFY (write, then read) and the SEND DIAGNOSTIC self-test (two reads).
// The operation in flight completes; none after it is issued. What the command
// answers then is ABORTED COMMAND, which its transport never delivers (it ends
// the command as the abort says). Every block operation of a command carries
// its abort check (BlockCommandSet's OperationAborted), for a block set that
// holds operations back. CDBs and lists from the SBC-4 and SPC-5 tables.

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { block, expectGood, expectSense, hex, unmapList } from './harness.js';
import { HookedBlockSet, gate, settle, type HookedOp } from './hooked-block-set.js';
import { bytes } from './harness.js';

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

/** COMPARE AND WRITE: 89h, LBA (bytes 2..9), NUMBER OF LOGICAL BLOCKS (byte 13). */
const CAW_8_2 = bytes('89 00 00 00 00 00 00 00 00 08 00 00 00 02 00 00');
/** ORWRITE (16): 8Bh, LBA (bytes 2..9), TRANSFER LENGTH (bytes 10..13). */
const ORWRITE_8_2 = bytes('8b 00 00 00 00 00 00 00 00 08 00 00 00 02 00 00');
/** WRITE AND VERIFY (10): 2Eh, BYTCHK 01b (byte 1 bits 2..1), LBA 8, TRANSFER LENGTH 2. */
const WAV_8_2 = bytes('2e 02 00 00 00 08 00 00 02 00');
/** VERIFY (10): 2Fh, BYTCHK 01b, LBA 8, VERIFICATION LENGTH 2. */
const VERIFY_8_2 = bytes('2f 02 00 00 00 08 00 00 02 00');
/** SEND DIAGNOSTIC: 1Dh, SELFTEST 1 (byte 1 bit 2): reads the first and the last block. */
const SELF_TEST = bytes('1d 04 00 00 00 00');

describe('a command of several block operations stops before the next once aborted', () => {
  test.each([
    { name: 'COMPARE AND WRITE', cdb: CAW_8_2, dataOut: new Uint8Array(4 * BS), held: 'read' as const, lba: 8n, first: 'read start 8+2' },
    { name: 'ORWRITE (16)', cdb: ORWRITE_8_2, dataOut: block(2 * BS, 0x0f), held: 'read' as const, lba: 8n, first: 'read start 8+2' },
    { name: 'WRITE AND VERIFY (10)', cdb: WAV_8_2, dataOut: block(2 * BS, 0x0f), held: 'write' as const, lba: 8n, first: 'write start 8+2' },
    { name: 'SEND DIAGNOSTIC self-test', cdb: SELF_TEST, dataOut: new Uint8Array(0), held: 'read' as const, lba: 0n, first: 'read start 0+1' },
  ])('$name: aborted while its first block operation runs, nothing after it is issued', async ({ cdb, dataOut, held, lba, first }) => {
    const { d, g, abort, run } = await heldUnit(held, lba);
    const r = run(cdb, dataOut);
    await settle();
    expect(d.trace()).toEqual([first]);
    abort.on = true;
    g.open();
    expectSense(await r, { key: ABORTED_COMMAND, asc: 0, ascq: 0 });
    // No write after the read, no flush or read after the write, no second read.
    expect(d.trace()).toEqual([first, first.replace('start', 'end')]);
    if (held === 'read') expect(hex(d.inner.peek(8n))).toBe(hex(block(BS, 0)));
  });

  test.each([
    { name: 'COMPARE AND WRITE', cdb: CAW_8_2, dataOut: new Uint8Array(4 * BS), ops: ['read', 'write'] },
    { name: 'ORWRITE (16)', cdb: ORWRITE_8_2, dataOut: block(2 * BS, 0x0f), ops: ['read', 'write'] },
    { name: 'WRITE AND VERIFY (10)', cdb: WAV_8_2, dataOut: block(2 * BS, 0), ops: ['write', 'read'] },
    { name: 'VERIFY (10), BYTCHK 01b', cdb: VERIFY_8_2, dataOut: block(2 * BS, 0), ops: ['read'] },
    { name: 'SEND DIAGNOSTIC self-test', cdb: SELF_TEST, dataOut: new Uint8Array(0), ops: ['read', 'read'] },
  ])('$name: each of its block operations is given the command’s abort check', async ({ cdb, dataOut, ops }) => {
    const d = new HookedBlockSet({ blocks: 1024 });
    const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false });
    const check = (): boolean => false;
    expectGood(await lu.execute(cdb, { dataOut, aborted: check }));
    // FLUSH (WRITE AND VERIFY's, before its read) takes no abort check: it moves no blocks.
    const started = d.events.filter((e) => e.phase === 'start' && e.op !== 'flush');
    expect(started.map((e) => e.op)).toEqual(ops);
    for (const e of started) expect(e.aborted).toBe(check);
  });
});

/** WRITE (10) of 2 blocks at LBA 8: 2Ah, LBA (bytes 2..5), TRANSFER LENGTH (bytes 7..8). */
const WRITE_8_2 = bytes('2a 00 00 00 00 08 00 00 02 00');
/** WRITE SAME (10) of 1 block at LBA 9: 41h, LBA (bytes 2..5), NUMBER OF LOGICAL BLOCKS (bytes 7..8). */
const WRITE_SAME_9_1 = bytes('41 00 00 00 00 09 00 00 01 00');
/** UNMAP: 42h, PARAMETER LIST LENGTH 40 (bytes 7..8). */
const UNMAP_40 = bytes('42 00 00 00 00 00 00 00 28 00');

describe('a command aborted while it waits for another command’s blocks gives its place up (RangeLock.dropAborted)', () => {
  test('ABORT TASK SET while A’s WRITE, WRITE SAME and UNMAP wait for B’s COMPARE AND WRITE: the function completes while B still holds the blocks, A’s commands issue nothing, and C’s WRITE waiting beside them still goes after B', async () => {
    const d = new HookedBlockSet({ blocks: 1024 });
    const g = gate();
    d.before = (o, at) => (o === 'read' && at === 8n ? g.opened : undefined);
    const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false });
    const abortA = { on: false };
    const execute = (cdb: Uint8Array, dataOut: Uint8Array, nexus: string): Promise<SbcResult> =>
      lu.execute(cdb, { dataOut, nexus, aborted: nexus === 'a' ? () => abortA.on : () => false });
    const caw = execute(CAW_8_2, new Uint8Array(4 * BS), 'b');
    await settle();
    expect(d.trace()).toEqual(['read start 8+2']);
    const ofA = [
      execute(WRITE_8_2, block(2 * BS, 0xa1), 'a'),
      execute(WRITE_SAME_9_1, block(BS, 0xa2), 'a'),
      // The first range is free (taken at once), the second waits: both go back unused.
      execute(UNMAP_40, unmapList([[0n, 4], [8n, 1]]), 'a'),
    ];
    const ofC = execute(WRITE_8_2, block(2 * BS, 0xc3), 'c');
    await settle();
    expect(lu.locks.waiting).toBe(4);
    lu.onAbortTasks((end) => {
      abortA.on = end('a') !== undefined;
      return { nexuses: ['a'], done: Promise.all(ofA).then(() => undefined) };
    });
    let completed = false;
    const fn = lu.abortTaskSet('a').then(() => (completed = true));
    await settle();
    expect(completed).toBe(true);
    for (const r of ofA) expectSense(await r, { key: ABORTED_COMMAND, asc: 0, ascq: 0 });
    expect([lu.locks.waiting, d.trace()]).toEqual([1, ['read start 8+2']]);
    g.open();
    expectGood(await caw);
    expectGood(await ofC);
    await fn;
    // B's write, then C's; nothing of A's, no discard at all.
    expect(d.trace().filter((e) => !e.startsWith('read'))).toEqual(['write start 8+2', 'write end 8+2', 'write start 8+2', 'write end 8+2']);
    expect(hex(d.inner.peek(9n))).toBe(hex(block(BS, 0xc3)));
    expect([lu.locks.held, lu.locks.waiting]).toEqual([0, 0]);
  });
});

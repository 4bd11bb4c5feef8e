// On one device thread (the plain local transport) a READ or WRITE carries
// the never-aborted check while it runs on the emulator's fast path (no
// function made per I/O, sim.ts), but one that leaves it asks the SIM whether
// its CCB was aborted (StartOptions.abortedOf): a WRITE waiting for the range
// lock of another initiator's COMPARE AND WRITE, once ABORT TASK SET has
// aborted it, gives its place up, so the function completes while the COMPARE
// AND WRITE still holds the blocks, and never reaches the device, and a WRITE with
// FUA whose FLUSH waits in the flush order (two request queues) for another
// initiator's held WRITE ends unsent, so the function completes while that
// WRITE is still held. CDBs from the SBC-4 tables; CAM status words from
// FreeBSD cam.h.

import { expect, test } from 'vitest';
import type { Stack } from '../../../src/stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { ProbeBackend, compareAndWrite, rw10, stackPerTest, until } from '../../stack/helpers.js';
import { A, B, run, settle, track } from '../../stack/pr-fixtures.js';

const BS = 512;
const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;

const stacks = stackPerTest();

/** A two-queue stack on the plain local transport over a ProbeBackend, A and B past their unit attentions. */
async function oneThread(): Promise<{ s: Stack; probe: ProbeBackend }> {
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 4096, blockSize: BS }));
  const s = await stacks.open({ backend: probe, queueSize: 64, queues: 2 });
  for (const who of [A, B]) await settle(s, who);
  expect(s.sim.bcs.ordersOverlaps).toBe(false);
  return { s, probe };
}

test('ABORT TASK SET from A while A’s WRITE waits for the range lock of B’s COMPARE AND WRITE: the function completes while B holds the lock, and A’s WRITE never reaches the device', async () => {
  const { s, probe } = await oneThread();
  probe.holdIf = (op) => op.kind === 'read';
  const caw = run(s, B, compareAndWrite(10, 1), new Uint8Array(2 * BS));
  await until(() => probe.heldCount === 1, 'the COMPARE AND WRITE’s read at the backend');
  const writes: number[] = [];
  probe.onStart = (op) => {
    if (op.kind === 'write') writes.push(op.offset / BS);
  };
  const writeA = track(run(s, A, rw10('write', 10, 1), new Uint8Array(BS).fill(5)), [], 'A’s WRITE');
  await new Promise((resolve) => setImmediate(resolve));
  expect(s.sim.emulator.locks.waiting).toBe(1);
  const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
  await until(() => fn.done() && writeA.done(), 'the function and A’s WRITE answered');
  expect([probe.heldCount, s.sim.emulator.locks.waiting]).toEqual([1, 0]);
  expect(((await writeA.p).camStatus & 0x3f)).toBe(REQ_ABORTED);
  probe.holdIf = undefined;
  probe.releaseHeld();
  expect(((await caw).camStatus & 0x3f)).toBe(REQ_CMP);
  // The COMPARE AND WRITE's write alone: A's was aborted before it had the lock.
  expect(writes).toEqual([10]);
});

test('ABORT TASK SET from A while the FLUSH of A’s WRITE with FUA waits for B’s held WRITE: it ends unsent and the function completes while B’s WRITE is still held', async () => {
  const { s, probe } = await oneThread();
  probe.holdIf = (op) => op.kind === 'write' && op.offset === 0;
  const writeB = run(s, B, rw10('write', 0, 8), new Uint8Array(8 * BS).fill(7));
  await until(() => probe.heldCount === 1, 'B’s WRITE at the backend');
  let flushed = 0;
  probe.onStart = (op) => {
    if (op.kind === 'flush') flushed++;
  };
  const fua = rw10('write', 100, 8);
  fua[1] = 0x08;
  const writeA = track(run(s, A, fua, new Uint8Array(8 * BS).fill(3)), [], 'A’s WRITE with FUA');
  await until(() => s.sim.bcs.flushesWaiting === 1, 'A’s FLUSH waiting for B’s WRITE');
  const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
  await until(() => fn.done() && writeA.done(), 'the function and A’s WRITE answered');
  expect([probe.heldCount, s.sim.bcs.flushesWaiting]).toEqual([1, 0]);
  expect(((await writeA.p).camStatus & 0x3f)).toBe(REQ_ABORTED);
  probe.holdIf = undefined;
  probe.releaseHeld();
  expect(((await writeB).camStatus & 0x3f)).toBe(REQ_CMP);
  expect(flushed).toBe(0);
});

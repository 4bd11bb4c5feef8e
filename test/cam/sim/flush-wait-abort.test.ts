// A FLUSH held back in the flush order (flush-order.ts: with several request
// queues a FLUSH waits until every write issued before it has completed)
// whose command ABORT TASK SET aborts ends then, unsent, as a request waiting
// for guest memory or for an overlapping one does: the function does not wait
// for another command's write, and the FLUSH never reaches the device. A later
// FLUSH still waits for those writes, and a START STOP UNIT so aborted does not
// stop the unit. Two request queues on the plain local transport (one device
// thread) for SYNCHRONIZE CACHE and START STOP UNIT; a local transport that
// says it runs each queue on its own thread for a WRITE with FUA
// (slow-path-abort.test.ts has one on one thread). CDBs from the SBC-4 tables;
// CAM status words from FreeBSD cam.h.

import { expect, test } from 'vitest';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { ProbeBackend, rw10, stackPerTest, until } from '../../stack/helpers.js';
import { A, B, run, settle, track } from '../../stack/pr-fixtures.js';

const BS = 512;
const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;

const stacks = stackPerTest();

/** SYNCHRONIZE CACHE (10), IMMED 0, the whole medium. */
const SYNC10 = Uint8Array.of(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
/** START STOP UNIT, START 0, NO_FLUSH 0: flush, then stop. */
const STOP = Uint8Array.of(0x1b, 0, 0, 0, 0, 0);
/** WRITE (10) with FUA (byte 1 bit 3). */
const fuaWrite10 = (lba: number, blocks: number): Uint8Array => {
  const cdb = rw10('write', lba, blocks);
  cdb[1] = 0x08;
  return cdb;
};

test.each([
  { name: 'SYNCHRONIZE CACHE', threads: false, cdb: SYNC10, data: undefined },
  { name: 'START STOP UNIT with START 0', threads: false, cdb: STOP, data: undefined },
  { name: 'WRITE with FUA', threads: true, cdb: fuaWrite10(100, 8), data: new Uint8Array(8 * BS).fill(3) },
])('ABORT TASK SET from A while A’s $name waits in the flush order for B’s held WRITE: its FLUSH ends unsent and the function completes while B’s WRITE is still held', async ({ threads, cdb, data }) => {
  if (threads) stacks.declareThreads();
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 4096, blockSize: BS }));
  const s = await stacks.open({ backend: probe, queueSize: 64, queues: 2 });
  for (const who of [A, B]) await settle(s, who);
  expect(s.sim.bcs.writeCacheEnabled()).toBe(true);
  probe.holdIf = (op) => op.kind === 'write' && op.offset === 0;
  const writeB = run(s, B, rw10('write', 0, 8), new Uint8Array(8 * BS).fill(7));
  await until(() => probe.heldCount === 1, 'B’s WRITE at the backend');
  const flushes = (): number => s.sim.bcs.flushesWaiting;
  const cmdA = track(s.pass(0).scsi(data === undefined ? { cdb, initiator: A, direction: 'none' } : { cdb, initiator: A, direction: 'out', data }), [], 'A’s command');
  await until(() => flushes() === 1, 'A’s FLUSH waiting for B’s WRITE');
  let flushed = 0;
  probe.onStart = (op) => {
    if (op.kind === 'flush') flushed++;
  };
  const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
  await until(() => fn.done() && cmdA.done(), 'the function and A’s command answered');
  expect([probe.heldCount, flushes()]).toEqual([1, 0]);
  expect(((await cmdA.p).camStatus & 0x3f)).toBe(REQ_ABORTED);
  // Aborted during its flush, the STOP did not stop the unit.
  expect(s.sim.emulator.stopped).toBe(false);
  // A FLUSH after the abort still waits for B's WRITE, and goes once it has completed.
  const syncB = track(run(s, B, SYNC10), [], 'B’s SYNCHRONIZE CACHE');
  await until(() => flushes() === 1, 'B’s FLUSH waiting for B’s WRITE');
  expect(flushed).toBe(0);
  probe.holdIf = undefined;
  probe.releaseHeld();
  expect(((await writeB).camStatus & 0x3f)).toBe(REQ_CMP);
  expect(((await syncB.p).camStatus & 0x3f)).toBe(REQ_CMP);
  // B's FLUSH alone reached the device: A's never did.
  expect(flushed).toBe(1);
});

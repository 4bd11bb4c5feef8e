// A MODE SELECT that ABORT TASK SET aborts while it waits changes nothing:
// neither one waiting for its turn behind another MODE SELECT (one unit's
// MODE SELECTs run one at a time, mode-changes.ts), which gives its turn up so
// the function completes while the one ahead still waits, nor one whose flush, before
// the write cache goes off, waits in the flush order (two request queues) for
// another initiator's held WRITE: that FLUSH ends unsent and the function
// completes while the WRITE is still held. SAM-5 aborting commands. CDBs and
// mode pages from the SPC-5 and SBC-4 tables; CAM status words from FreeBSD
// cam.h.

import { expect, test } from 'vitest';
import type { Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { ProbeBackend, rw10, stackPerTest, until } from './helpers.js';
import { A, B, run, settle, track, type Who } from './pr-fixtures.js';

const BS = 512;
const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;
/** Caching mode page (08h): WCE is byte 2 bit 2. Control mode page (0Ah): D_SENSE is byte 2 bit 2. */
const CACHING = 0x08;
const CONTROL = 0x0a;
const BIT2 = 0x04;

const stacks = stackPerTest();

/** A two-queue stack over a ProbeBackend (a FLUSH waits for the writes issued before it), A and B past their unit attentions. */
async function twoQueues(): Promise<{ s: Stack; probe: ProbeBackend }> {
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 4096, blockSize: BS }));
  const s = await stacks.open({ backend: probe, queueSize: 64, queues: 2 });
  for (const who of [A, B]) await settle(s, who);
  return { s, probe };
}

/** MODE SENSE (6) of page `page`, current values, no block descriptors (DBD): the page's bytes. */
async function page(s: Stack, who: Who, code: number): Promise<Uint8Array> {
  const r = await run(s, who, Uint8Array.of(0x1a, 0x08, code, 0, 255, 0));
  expect(r.camStatus & 0x3f).toBe(REQ_CMP);
  const data = r.data ?? new Uint8Array(0);
  const at = 4 + (data[3] ?? 0);
  return data.slice(at, at + 2 + (data[at + 1] ?? 0));
}

/** MODE SELECT (6), PF 1, of `p` with byte 2 bit 2 set to `on`, behind a 4-byte header of zeros. */
function select(p: Uint8Array, on: boolean): { cdb: Uint8Array; list: Uint8Array } {
  const list = new Uint8Array(4 + p.length);
  list.set(p, 4);
  list[4] = (p[0] ?? 0) & 0x3f;
  list[6] = on ? (p[2] ?? 0) | BIT2 : (p[2] ?? 0) & ~BIT2;
  return { cdb: Uint8Array.of(0x15, 0x10, 0, 0, list.length, 0), list };
}

test('ABORT TASK SET from A while A’s MODE SELECT waits for its turn behind B’s, whose flush waits for B’s held WRITE: the function completes meanwhile, and A’s changes nothing', async () => {
  const { s, probe } = await twoQueues();
  const caching = await page(s, B, CACHING);
  const control = await page(s, A, CONTROL);
  expect([(caching[2] ?? 0) & BIT2, (control[2] ?? 0) & BIT2]).toEqual([BIT2, 0]);
  probe.holdIf = (op) => op.kind === 'write';
  const writeB = run(s, B, rw10('write', 0, 8), new Uint8Array(8 * BS).fill(7));
  await until(() => probe.heldCount === 1, 'B’s WRITE at the backend');
  const wceOff = select(caching, false);
  const selectB = track(run(s, B, wceOff.cdb, wceOff.list), [], 'B’s MODE SELECT');
  await until(() => s.sim.bcs.flushesWaiting === 1, 'B’s FLUSH waiting for B’s WRITE');
  const dSense = select(control, true);
  const selectA = track(run(s, A, dSense.cdb, dSense.list), [], 'A’s MODE SELECT');
  await new Promise((resolve) => setImmediate(resolve));
  const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
  await until(() => fn.done() && selectA.done(), 'the function and A’s MODE SELECT answered');
  expect([probe.heldCount, s.sim.bcs.flushesWaiting, selectB.done()]).toEqual([1, 1, false]);
  expect((await selectA.p).camStatus & 0x3f).toBe(REQ_ABORTED);
  probe.holdIf = undefined;
  probe.releaseHeld();
  expect((await writeB).camStatus & 0x3f).toBe(REQ_CMP);
  expect((await selectB.p).camStatus & 0x3f).toBe(REQ_CMP);
  // A's MODE SELECT changed nothing: no MODE PARAMETERS CHANGED for B, D_SENSE still 0.
  expect((await run(s, B, Uint8Array.of(0, 0, 0, 0, 0, 0))).scsiStatus).toBe(0);
  expect((await page(s, B, CONTROL))[2] ?? 0).toBe(control[2]);
});

test('ABORT TASK SET from A while the flush of A’s MODE SELECT turning the write cache off waits for B’s held WRITE: the FLUSH ends unsent, the function completes while B’s WRITE is still held, and the write cache stays on', async () => {
  const { s, probe } = await twoQueues();
  const caching = await page(s, A, CACHING);
  probe.holdIf = (op) => op.kind === 'write';
  const writeB = run(s, B, rw10('write', 0, 8), new Uint8Array(8 * BS).fill(7));
  await until(() => probe.heldCount === 1, 'B’s WRITE at the backend');
  const wceOff = select(caching, false);
  const selectA = track(run(s, A, wceOff.cdb, wceOff.list), [], 'A’s MODE SELECT');
  await until(() => s.sim.bcs.flushesWaiting === 1, 'A’s FLUSH waiting for B’s WRITE');
  const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
  await until(() => fn.done() && selectA.done(), 'the function and A’s MODE SELECT answered');
  expect([probe.heldCount, s.sim.bcs.flushesWaiting]).toEqual([1, 0]);
  expect((await selectA.p).camStatus & 0x3f).toBe(REQ_ABORTED);
  expect(s.sim.bcs.writeCacheEnabled()).toBe(true);
  probe.holdIf = undefined;
  probe.releaseHeld();
  expect((await writeB).camStatus & 0x3f).toBe(REQ_CMP);
});

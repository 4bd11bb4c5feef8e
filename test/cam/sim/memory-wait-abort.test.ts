// A request waiting for guest memory (data-buffers.ts: transfers wait in order
// while other requests hold the memory they need) whose command ABORT TASK SET
// aborts ends then, unsent, as one waiting in the overlap order does: the
// function does not wait for another command's request to free the memory,
// and a request behind the dropped one that fits goes at once. On the plain
// local transport (one device thread) a VERIFY carries its command's abort
// check; with the queues on several threads a READ does too. Guest memory is
// made short by taking all but 68.5 KiB of it: one 64 KiB transfer and one of
// 4 KiB. CDBs from the SBC-4 tables; CAM status words from FreeBSD cam.h.

import { expect, test } from 'vitest';
import type { Stack } from '../../../src/stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { ProbeBackend, rw10, stackPerTest, until } from '../../stack/helpers.js';
import { A, B, run, settle, track } from '../../stack/pr-fixtures.js';

const BS = 512;
const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;

const stacks = stackPerTest();

/** VERIFY (10), BYTCHK 00b: LBA (bytes 2..5), VERIFICATION LENGTH (bytes 7..8); it reads the blocks. */
const verify10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x2f, 0, 0, 0, lba >> 8, lba & 0xff, 0, blocks >> 8, blocks & 0xff, 0);

/**
 * A stack over a ProbeBackend with 68.5 KiB of guest memory left for data;
 * `threads`: its transport says queue q runs on device thread q (as the worker
 * transport with two workers does), so READs carry their abort check.
 */
async function shortOfMemory(threads: boolean): Promise<{ s: Stack; probe: ProbeBackend }> {
  if (threads) {
    stacks.declareThreads();
  }
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 4096, blockSize: BS }));
  const stack = await stacks.open({ backend: probe, queueSize: 64, queues: threads ? 2 : 1, memorySize: 1 << 20 });
  for (const who of [A, B]) await settle(stack, who);
  const allocator = stack.virtio.allocator;
  expect(allocator.alloc(allocator.freeBytes - 68 * 1024 - 512, 1)).toBeDefined();
  return { s: stack, probe };
}

test.each([
  { transport: 'one device thread', threads: false, cdb: verify10(1000, 128), direction: 'none' as const },
  { transport: 'two device threads', threads: true, cdb: rw10('read', 1000, 128), direction: 'in' as const },
])('$transport: ABORT TASK SET from A while A’s 64 KiB request waits for the memory B’s held WRITE holds: it ends unsent, the function completes, and B’s 4 KiB READ behind it goes, all while B’s WRITE is held', async ({ threads, cdb, direction }) => {
  const { s, probe } = await shortOfMemory(threads);
  probe.holdIf = (op) => op.kind === 'write';
  const writeB = run(s, B, rw10('write', 0, 128), new Uint8Array(128 * BS).fill(7));
  await until(() => probe.heldCount === 1, 'B’s WRITE at the backend');
  const started = probe.started;
  const req = direction === 'in' ? { cdb, initiator: A, direction, length: 128 * BS } : { cdb, initiator: A, direction };
  const cmdA = track(s.pass(0).scsi(req), [], 'A’s command');
  // B's READ fits in what is left, but waits in order behind A's request.
  const readB = track(run(s, B, rw10('read', 2000, 8)), [], 'B’s READ');
  await new Promise((resolve) => setImmediate(resolve));
  expect([probe.started - started, cmdA.done(), readB.done()]).toEqual([0, false, false]);
  const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
  await until(() => fn.done() && cmdA.done() && readB.done(), 'the function, A’s command and B’s READ answered');
  expect(probe.heldCount).toBe(1);
  const [a, r] = await Promise.all([cmdA.p, readB.p]);
  expect([a.camStatus & 0x3f, a.scsiStatus, r.camStatus & 0x3f, r.scsiStatus]).toEqual([REQ_ABORTED, 0, REQ_CMP, 0]);
  // Started at the backend since B's WRITE: B's READ, never A's request.
  expect(probe.started - started).toBe(1);
  probe.holdIf = undefined;
  probe.releaseHeld();
  expect(((await writeB).camStatus & 0x3f)).toBe(REQ_CMP);
});

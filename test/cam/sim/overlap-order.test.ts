// Overlapping requests on a device that serves its queues on several threads
// (transport worker, two or more device workers): each thread has its own
// handle on the medium, so only the SIM sees both a READ and a WRITE of the
// same blocks, and it keeps them apart, in arrival order (overlap-order.ts).
// A logical block reads whole, old or new; reads beside reads still run at
// once; a request waiting for an overlap is caught by a device reset like any
// other and completes once, and one whose command ABORT TASK SET aborts ends
// then, never sent (a READ's or WRITE's, or one of VERIFY or WRITE AND VERIFY). The worker transport itself (SharedMemoryBackend,
// a worker's slowed write) for the order; a local transport that says it runs
// each queue on its own thread, over a ProbeBackend that holds chosen
// operations, for what waits and when.

import { describe, expect, test } from 'vitest';
import type { Stack } from '../../../src/stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { SharedMemoryBackend } from '../../../src/virtio/device/backends/shared-memory.js';
import { WorkerTransport } from '../../../src/virtio/transport/worker.js';
import type { ScsiResult } from '../../../src/cam/periph/request.js';
import type { BlkCompletion, BlkRequest } from '../../../src/virtio/blk-request.js';
import { OverlapOrder } from '../../../src/cam/sim/vtblk/overlap-order.js';
import { ProbeBackend, resetDevice, rw10, stackPerTest, until, watchCcbs } from '../../stack/helpers.js';
import { A, B, run, settle, track } from '../../stack/pr-fixtures.js';

const BS = 512;
const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;

const stacks = stackPerTest();

const filled = (blocks: number, v: number): Uint8Array => new Uint8Array(blocks * BS).fill(v);

/** Whether every byte of `b` is `v` (a block mixing two writes is not). */
const all = (b: Uint8Array, v: number): boolean => b.every((x) => x === v);

/**
 * A local stack of two queues whose transport says queue q runs on device
 * thread q, as the worker transport with two workers does; the SIM sees only
 * that claim. Pass `threads: false` for the plain local transport (one thread).
 */
async function declaredThreads(opts: { threads?: boolean } = {}): Promise<{ s: Stack; probe: ProbeBackend }> {
  if (opts.threads !== false) {
    stacks.declareThreads();
  }
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 4096, blockSize: BS }));
  const stack = await stacks.open({ backend: probe, queueSize: 64, queues: 2 });
  // The probe's unit attention and capacity reads, out of the way.
  await stack.da(0).read(0n, 1);
  return { s: stack, probe };
}

/** WRITE(10) or READ(10) of `blocks` at `lba` through pass. */
function scsi(s: Stack, op: 'read' | 'write', lba: number, blocks: number, v = 0, signal?: AbortSignal): Promise<ScsiResult> {
  const cdb = rw10(op, lba, blocks);
  const extra = signal === undefined ? {} : { signal };
  return op === 'write'
    ? s.pass(0).scsi({ cdb, direction: 'out', data: filled(blocks, v), ...extra })
    : s.pass(0).scsi({ cdb, direction: 'in', length: blocks * BS, ...extra });
}

describe('transport worker, two queues on two device workers', () => {
  test('a READ issued after an overlapping WRITE a worker is still running returns the WRITE, not the old data', async () => {
    const s = await stacks.open({ backend: new SharedMemoryBackend({ blocks: 2048 }), transport: 'worker', queues: 2, workers: 2, queueSize: 32, memorySize: 16 << 20 });
    const t = s.virtio.transport;
    if (!(t instanceof WorkerTransport)) throw new Error('not a worker transport');
    const da = s.da(0);
    await da.write(0n, filled(8, 1));
    // Idle queues take turns: the request after this one goes to the other queue, whose worker is slowed.
    const before = s.sim.bcs.queueStats().map((q) => q.requests);
    await da.read(1000n, 1);
    const used = s.sim.bcs.queueStats().findIndex((q, i) => q.requests !== before[i]);
    const next = 1 - used;
    // Queue q runs on worker q mod workers.
    t.injectFault(next, { slowBackendMs: 500 });
    // Control messages take effect between ring passes: let the worker see it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const write = da.write(0n, filled(8, 2));
    // The WRITE holds its queue's ring: the READ's queue is the other one, the worker that is not slowed.
    const read = da.read(0n, 8);
    const got = await read;
    await write;
    expect(s.sim.bcs.queueStats()[next]?.requests).toBe((before[next] ?? 0) + 1);
    expect(all(got, 2)).toBe(true);
  });

  test('the ring of a single worker serving both queues keeps its own order: nothing waits in the SIM', async () => {
    const stack = await stacks.open({ backend: new SharedMemoryBackend({ blocks: 2048 }), transport: 'worker', queues: 2, workers: 1, queueSize: 32, memorySize: 16 << 20 });
    const da = stack.da(0);
    const ops = [da.write(0n, filled(8, 3)), da.read(0n, 8), da.write(0n, filled(8, 4))];
    expect(stack.sim.bcs.waitingForOverlap).toBe(0);
    await Promise.all(ops);
    expect(all(await da.read(0n, 8), 4)).toBe(true);
  });
});

describe('queues on several device threads: what waits', () => {
  test('a READ overlapping a WRITE still at the device waits for it and returns it whole; a READ elsewhere does not wait', async () => {
    const { s, probe } = await declaredThreads();
    const da = s.da(0);
    await da.write(0n, filled(4, 1));
    probe.holdIf = (op) => op.kind === 'write';
    const write = da.write(0n, filled(4, 2));
    await until(() => probe.heldCount === 1, 'the WRITE at the backend');
    const startedBefore = probe.started;
    const read = da.read(2n, 4);
    // Issued after the overlapping READ and answered: that READ is at the backend by now, or held back.
    await da.read(100n, 4);
    expect({ started: probe.started - startedBefore, waiting: s.sim.bcs.waitingForOverlap }).toEqual({ started: 1, waiting: 1 });
    probe.holdIf = undefined;
    probe.releaseHeld();
    await write;
    const got = await read;
    expect(all(got.subarray(0, 2 * BS), 2)).toBe(true);
    expect(all(got.subarray(2 * BS), 0)).toBe(true);
    expect(s.sim.bcs.waitingForOverlap).toBe(0);
  });

  test('overlapping READs run at once: none waits for another', async () => {
    const { s, probe } = await declaredThreads();
    const da = s.da(0);
    probe.holdIf = (op) => op.kind === 'read';
    const reads = [da.read(0n, 8), da.read(4n, 8), da.read(6n, 1)];
    await until(() => probe.heldCount === 3, 'three READs at the backend at once');
    expect(s.sim.bcs.waitingForOverlap).toBe(0);
    probe.holdIf = undefined;
    probe.releaseHeld();
    await Promise.all(reads);
  });

  test('a WRITE waits for an overlapping WRITE (two threads copying into one block could mix it), and a DISCARD for a READ', async () => {
    const { s, probe } = await declaredThreads();
    const da = s.da(0);
    probe.holdIf = (op) => op.kind === 'write' || op.kind === 'read';
    const first = da.write(0n, filled(4, 5));
    const read = da.read(64n, 8);
    await until(() => probe.heldCount === 2, 'the first WRITE and the READ at the backend');
    const startedBefore = probe.started;
    const second = da.write(3n, filled(2, 6));
    const discard = da.discard(64n, 8);
    // Issued after them and answered: they are at the backend by now, or held back.
    probe.holdIf = (op) => (op.kind === 'write' || op.kind === 'read') && op.offset < 100 * BS;
    await da.read(100n, 1);
    expect({ started: probe.started - startedBefore, held: probe.heldCount, waiting: s.sim.bcs.waitingForOverlap }).toEqual({ started: 1, held: 2, waiting: 2 });
    probe.holdIf = undefined;
    probe.releaseHeld();
    await Promise.all([first, second, read, discard]);
    const got = await da.read(0n, 5);
    expect(all(got.subarray(0, 3 * BS), 5) && all(got.subarray(3 * BS), 6)).toBe(true);
  });

  test('on one device thread (the plain local transport) the SIM holds nothing back: the backend keeps its own order', async () => {
    const { s, probe } = await declaredThreads({ threads: false });
    const da = s.da(0);
    probe.holdIf = (op) => op.kind === 'write';
    const write = da.write(0n, filled(4, 2));
    await until(() => probe.heldCount === 1, 'the WRITE at the backend');
    // The READ completes while the WRITE is still held at the backend.
    expect(all(await da.read(0n, 4), 0)).toBe(true);
    expect(probe.heldCount).toBe(1);
    probe.holdIf = undefined;
    probe.releaseHeld();
    await write;
  });
});

describe('a request waiting for an overlap, its command aborted', () => {
  test('ABORT TASK SET from A while A’s WRITE waits behind B’s READ at the device: the WRITE ends CAM_REQ_ABORTED unsent, the function completes, and a READ that waited for the WRITE alone goes, all while B’s READ is still held', async () => {
    const { s, probe } = await declaredThreads();
    for (const who of [A, B]) await settle(s, who);
    probe.holdIf = (op) => op.kind === 'read' && op.offset === 0;
    const readB = run(s, B, rw10('read', 0, 4));
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    const started = probe.started;
    const writeA = track(run(s, A, rw10('write', 2, 4), filled(4, 9)), [], 'A’s WRITE');
    // Blocks 5..6: they overlap A's WRITE (2..5) and not B's READ (0..3).
    const readOwn = track(scsi(s, 'read', 5, 2), [], 'the READ behind the WRITE');
    await until(() => s.sim.bcs.waitingForOverlap === 2, 'A’s WRITE and the READ behind it held back');
    const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
    await until(() => fn.done() && writeA.done() && readOwn.done(), 'the function, A’s WRITE and the READ behind it answered');
    expect(probe.heldCount).toBe(1);
    const [w, r] = await Promise.all([writeA.p, readOwn.p]);
    expect({ write: w.camStatus & 0x3f, scsi: w.scsiStatus, read: r.camStatus & 0x3f }).toEqual({ write: REQ_ABORTED, scsi: 0, read: REQ_CMP });
    // Started at the backend since B's READ: the READ behind the WRITE, never the WRITE.
    expect(probe.started - started).toBe(1);
    expect(s.sim.bcs.waitingForOverlap).toBe(0);
    probe.holdIf = undefined;
    probe.releaseHeld();
    expect(((await readB).camStatus & 0x3f)).toBe(REQ_CMP);
    expect(all(await s.da(0).read(0n, 8), 0)).toBe(true);
  });

  // VERIFY (10) and WRITE AND VERIFY (10) of blocks 2..5, BYTCHK 00b (byte 1 bits 2..1): one reads, one writes then reads.
  test.each([
    { name: 'VERIFY’s read waits behind B’s WRITE', cdb: Uint8Array.of(0x2f, 0, 0, 0, 0, 2, 0, 0, 4, 0), data: undefined, b: 'write' as const },
    { name: 'WRITE AND VERIFY’s write waits behind B’s READ', cdb: Uint8Array.of(0x2e, 0, 0, 0, 0, 2, 0, 0, 4, 0), data: filled(4, 9), b: 'read' as const },
  ])('ABORT TASK SET from A while A’s $name at the device: the request ends unsent, the function completes while B’s is still held', async ({ cdb, data, b }) => {
    const { s, probe } = await declaredThreads();
    for (const who of [A, B]) await settle(s, who);
    probe.holdIf = (op) => op.kind === b && op.offset === 0;
    const heldB = b === 'write' ? run(s, B, rw10('write', 0, 4), filled(4, 7)) : run(s, B, rw10('read', 0, 4));
    await until(() => probe.heldCount === 1, 'B’s request at the backend');
    const started = probe.started;
    const req = data === undefined ? { cdb, initiator: A, direction: 'none' as const } : { cdb, initiator: A, direction: 'out' as const, data };
    const cmdA = track(s.pass(0).scsi(req), [], 'A’s command');
    await until(() => s.sim.bcs.waitingForOverlap === 1, 'A’s request held back');
    const fn = track(s.pass(0).abortTaskSet(A), [], 'ABORT TASK SET');
    await until(() => fn.done() && cmdA.done(), 'the function and A’s command answered');
    expect(probe.heldCount).toBe(1);
    const a = await cmdA.p;
    expect([a.camStatus & 0x3f, a.scsiStatus, probe.started - started, s.sim.bcs.waitingForOverlap]).toEqual([REQ_ABORTED, 0, 0, 0]);
    probe.holdIf = undefined;
    probe.releaseHeld();
    expect(((await heldB).camStatus & 0x3f)).toBe(REQ_CMP);
    expect(all(await s.da(0).read(4n, 2), 0)).toBe(true);
  });
});

describe('OverlapOrder: requests of aborted commands', () => {
  /** IN (0) or OUT (1) of `sectors` 512-byte sectors at `sector` (VIRTIO 1.2 §5.2.6). */
  const request = (type: 0 | 1, sector: number, sectors: number): BlkRequest => ({ type, sector: BigInt(sector), data: [{ addr: 0, len: sectors * BS }] });
  const OK: BlkCompletion = { kind: 'done', status: 0, len: 0 };
  const DROPPED: BlkCompletion = { kind: 'aborted', reason: 'dropped' };

  /** An order whose sends are recorded, each answered when the test says. */
  function recordedOrder(): { order: OverlapOrder; sent: string[]; answer: (i: number) => void; answers: Map<string, BlkCompletion> } {
    const sent: string[] = [];
    const pending: ((c: BlkCompletion) => void)[] = [];
    const order = new OverlapOrder((req, then) => {
      sent.push(req.type === 1 ? 'write' : 'read');
      pending.push(then);
    });
    return { order, sent, answer: (i) => pending[i]?.(OK), answers: new Map() };
  }

  test('a waiting READ whose command is aborted later is answered unsent by dropAborted; the WRITE behind it goes at once', async () => {
    const { order, sent, answer, answers } = recordedOrder();
    const aborted = { on: false };
    order.submit(request(1, 0, 8), (c) => answers.set('first write', c), undefined, DROPPED);
    order.submit(request(0, 4, 8), (c) => answers.set('read', c), () => aborted.on, DROPPED);
    // Overlaps the READ (8..11) and not the first WRITE (0..7).
    order.submit(request(1, 8, 4), (c) => answers.set('second write', c), undefined, DROPPED);
    expect({ sent, waiting: order.waiting }).toEqual({ sent: ['write'], waiting: 2 });
    order.dropAborted(DROPPED);
    expect({ sent, waiting: order.waiting }).toEqual({ sent: ['write'], waiting: 2 });
    aborted.on = true;
    order.dropAborted(DROPPED);
    expect({ sent, waiting: order.waiting }).toEqual({ sent: ['write', 'write'], waiting: 0 });
    await Promise.resolve();
    expect(answers.get('read')).toEqual(DROPPED);
    answer(0);
    answer(1);
    expect([...answers.keys()]).toEqual(['read', 'first write', 'second write']);
  });

  test('a request of a command aborted already that would wait is answered unsent at once; one that would not wait is sent', async () => {
    const { order, sent, answers } = recordedOrder();
    order.submit(request(1, 0, 8), (c) => answers.set('write', c), undefined, DROPPED);
    order.submit(request(0, 0, 1), (c) => answers.set('read', c), () => true, DROPPED);
    order.submit(request(0, 100, 1), (c) => answers.set('read elsewhere', c), () => true, DROPPED);
    expect({ sent, waiting: order.waiting }).toEqual({ sent: ['write', 'read'], waiting: 0 });
    await Promise.resolve();
    expect(answers.get('read')).toEqual(DROPPED);
  });
});

describe('a request waiting for an overlap, in a recovery', () => {
  test('XPT_ABORT of a READ held back behind a WRITE: the READ never reaches the device and ends CAM_REQ_ABORTED once; the WRITE runs again and lands', async () => {
    const { s, probe } = await declaredThreads();
    const ledger = watchCcbs(s);
    let hold = true;
    probe.holdIf = (op) => hold && op.kind === 'write';
    const write = scsi(s, 'write', 0, 4, 7);
    await until(() => probe.heldCount === 1, 'the WRITE at the backend');
    const reads = probe.started;
    const c = new AbortController();
    const read = scsi(s, 'read', 0, 4, 0, c.signal);
    // Issued after the READ and answered: the READ is at the backend by now, or held back.
    await scsi(s, 'read', 100, 1);
    expect(s.sim.bcs.waitingForOverlap).toBe(1);
    c.abort();
    await until(() => s.stats(0).simFrozen === 1, 'recovery started', 2000);
    expect(s.sim.bcs.waitingForOverlap).toBe(0);
    hold = false;
    probe.releaseHeld();
    const [w, r] = await Promise.all([write, read]);
    expect({ write: w.camStatus & 0x3f, read: r.camStatus & 0x3f, data: r.data }).toEqual({ write: REQ_CMP, read: REQ_ABORTED, data: undefined });
    // Started at the backend since the READ arrived: the READ elsewhere and the WRITE's re-run, not the READ.
    expect(probe.started - reads).toBe(2);
    expect(ledger.doubles).toBe(0);
    expect(all(await s.da(0).read(0n, 4), 7)).toBe(true);
  });

  test('XPT_RESET_DEV while a READ waits behind a WRITE: both are given back, re-run, and complete once, each block read whole', async () => {
    const { s, probe } = await declaredThreads();
    const ledger = watchCcbs(s);
    let hold = true;
    probe.holdIf = (op) => hold && op.kind === 'write';
    const write = scsi(s, 'write', 0, 4, 8);
    await until(() => probe.heldCount === 1, 'the WRITE at the backend');
    const read = scsi(s, 'read', 2, 4);
    await until(() => s.sim.bcs.waitingForOverlap === 1, 'the READ held back');
    const reset = resetDevice(s);
    await until(() => s.stats(0).simFrozen === 1, 'recovery started', 2000);
    hold = false;
    probe.releaseHeld();
    expect((await reset) & 0x3f).toBe(REQ_CMP);
    const [w, r] = await Promise.all([write, read]);
    expect([w.camStatus & 0x3f, r.camStatus & 0x3f]).toEqual([REQ_CMP, REQ_CMP]);
    // Re-issued, the two are new arrivals again, in either order: each block is the WRITE's or the old data.
    const data = r.data ?? new Uint8Array(0);
    const blocks = Array.from({ length: 4 }, (_, i) => data.subarray(i * BS, (i + 1) * BS));
    expect(blocks.map((b) => all(b, b[0] ?? 1) && (b[0] === 0 || b[0] === 8))).toEqual([true, true, true, true]);
    expect(all(data.subarray(2 * BS), 0)).toBe(true);
    expect(ledger.doubles).toBe(0);
    expect(s.sim.bcs.waitingForOverlap).toBe(0);
  });
});

// PERSISTENT RESERVE OUT PREEMPT AND ABORT through CAM (SPC-5 PREEMPT AND
// ABORT; SAM-5 aborting commands): after the preempt, every command of the I_T
// nexuses registered with the SERVICE ACTION RESERVATION KEY (with 0 under an
// all registrants reservation, of every registrant), the sender's included, is
// aborted — at once when it waits in the device queue, once the device has
// answered when it is at the device, and also when the SIM has just handed it
// back for a ring shortage — the PROUT itself excepted, which completes GOOD
// only after all of them. vtcam's Control mode page reports TAS 0, so an
// aborted command completes without status (CAM_REQ_ABORTED, even when it then
// times out) and each other nexus that had commands aborted gets COMMANDS
// CLEARED BY ANOTHER INITIATOR (2Fh/00h) after REGISTRATIONS PREEMPTED
// (2Ah/05h). CDBs and parameter lists are written from the SPC-5 tables; CAM
// status words from FreeBSD cam.h.

import { afterEach, describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { VIRTIO_BLK_T_IN } from '../../src/virtio/blk-wire.js';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { ProbeBackend, hex, until } from './helpers.js';
import { BS, DIRECT, expectIdle } from './fault-rig.js';
import { A, B, C, ProutAction, READ_1, READ_KEYS, TUR, WRITE_1, list, prout, run, settle, track, type Who } from './pr-fixtures.js';

const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;
const STATUS_MASK = 0x3f;
const CHECK_CONDITION = 0x02;
const RESERVATION_CONFLICT = 0x18;
const { RESERVE, PREEMPT, PREEMPT_AND_ABORT, REGISTER_AND_IGNORE } = ProutAction;
/** TYPE 1h: Write Exclusive (anyone may read; only the holder may write). */
const WE = 1;
/** TYPE 3h: Exclusive Access. */
const EA = 3;
/** TYPE 7h: Write Exclusive – All Registrants (every registrant holds it). */
const WE_AR = 7;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A stack over a backend that holds every READ while `held.on`. */
async function open(): Promise<{ s: Stack; probe: ProbeBackend; held: { on: boolean } }> {
  const probe = new ProbeBackend(new MemoryBackend({ blocks: 4096 }));
  const held = { on: false };
  probe.holdIf = (op) => held.on && op.kind === 'read';
  stack = await createStack({ backend: probe, queueSize: 64 });
  return { s: stack, probe, held };
}

const cam = (r: ScsiResult): number => r.camStatus & STATUS_MASK;

/** READ (10) (28h) or WRITE (10) (2Ah) of `blocks` blocks at LBA `lba` (< 256). */
const bytes10 = (op: number, lba: number, blocks = 1): Uint8Array => Uint8Array.of(op, 0, 0, 0, 0, lba, 0, 0, blocks, 0);

/** A and B registered (keys a1h, b2h), A holding a Write Exclusive reservation; every nexus past its power-on unit attention. */
async function reserved(s: Stack, others: readonly Who[] = []): Promise<void> {
  for (const who of [A, B, ...others]) await settle(s, who);
  expect(cam(await run(s, B, prout(REGISTER_AND_IGNORE), list(0, 0xb2)))).toBe(REQ_CMP);
  expect(cam(await run(s, A, prout(REGISTER_AND_IGNORE), list(0, 0xa1)))).toBe(REQ_CMP);
  expect(cam(await run(s, A, prout(RESERVE, WE), list(0xa1, 0)))).toBe(REQ_CMP);
}

/** Nothing left in the device queue or the SIM, nothing frozen or charged, and the openings as they were. */
function expectIdleWith(s: Stack, openings: number): void {
  expectIdle(s);
  expect(s.stats(0).openings).toBe(openings);
}

describe('PREEMPT AND ABORT aborts the preempted nexus’s commands', () => {
  test('B’s READ at the device and its command waiting in the device queue complete CAM_REQ_ABORTED; the PROUT waits for them, then GOOD; B sees 2Ah/05h, 2Fh/00h, then the reservation', async () => {
    const { s, probe, held } = await open();
    await reserved(s);
    const openings = s.stats(0).openings;
    const order: string[] = [];
    held.on = true;
    const bRead = track(run(s, B, READ_1), order, 'B READ');
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    // An ORDERED command waits for the active READ (a barrier); A's HEAD OF QUEUE PROUT goes past it.
    const bOrdered = track(run(s, B, TUR, undefined, 'ordered'), order, 'B ORDERED TUR');
    expect(s.stats(0).queued).toBe(1);
    const pa = track(run(s, A, prout(PREEMPT_AND_ABORT, WE), list(0xa1, 0xb2), 'head'), order, 'A PROUT');
    await until(() => bOrdered.done(), 'B’s queued command aborted');
    expect(cam(await bOrdered.p)).toBe(REQ_ABORTED);
    // The READ is still at the device: the PROUT waits.
    await new Promise((r) => setTimeout(r, 20));
    expect(pa.done()).toBe(false);
    expect(bRead.done()).toBe(false);
    held.on = false;
    probe.releaseHeld();
    const [read, ok] = await Promise.all([bRead.p, pa.p]);
    expect({ cam: read.camStatus & STATUS_MASK, scsi: read.scsiStatus, sense: read.sense, data: read.data }).toEqual({ cam: REQ_ABORTED, scsi: 0, sense: undefined, data: undefined });
    expect({ cam: ok.camStatus, scsi: ok.scsiStatus }).toEqual({ cam: REQ_CMP, scsi: 0 });
    expect(order).toEqual(['B ORDERED TUR', 'B READ', 'A PROUT']);
    // REGISTRATIONS PREEMPTED, then COMMANDS CLEARED BY ANOTHER INITIATOR, in the order they were established.
    expect(await settle(s, B)).toEqual(['6,42,5', '6,47,0']);
    // Write Exclusive: B, no longer registered, may read but not write.
    expect(cam(await run(s, B, READ_1))).toBe(REQ_CMP);
    expect((await run(s, B, WRITE_1, new Uint8Array(512))).scsiStatus).toBe(RESERVATION_CONFLICT);
    // READ KEYS: PRGENERATION 3 (two registrations, the preempt; not the RESERVE), one key: a1h.
    expect(hex((await run(s, A, READ_KEYS)).data)).toBe('00 00 00 03 00 00 00 08 00 00 00 00 00 00 00 a1');
    expect(await settle(s, A)).toEqual([]);
    expectIdleWith(s, openings);
  });

  test('the preempting nexus’s other commands and a nexus not preempted run to the end; only B gets unit attentions', async () => {
    const { s, probe, held } = await open();
    await reserved(s, [C]);
    expect(cam(await run(s, C, prout(REGISTER_AND_IGNORE), list(0, 0xc3)))).toBe(REQ_CMP);
    const openings = s.stats(0).openings;
    const block = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
    expect(cam(await run(s, A, WRITE_1, block))).toBe(REQ_CMP);
    held.on = true;
    const reads = [A, B, C].map((who) => run(s, who, READ_1));
    await until(() => probe.heldCount === 3, 'three READs at the backend');
    // Waiting in the device queue behind a barrier: A's and C's stay, B's goes.
    const ordered = [A, B, C].map((who) => run(s, who, TUR, undefined, 'ordered'));
    const pa = run(s, A, prout(PREEMPT_AND_ABORT, WE), list(0xa1, 0xb2), 'head');
    expect(cam(await (ordered[1] as Promise<ScsiResult>))).toBe(REQ_ABORTED);
    expect(s.stats(0).queued).toBe(2);
    held.on = false;
    probe.releaseHeld();
    const [ra, rb, rc] = await Promise.all(reads);
    expect({ a: ra?.camStatus, b: (rb?.camStatus ?? 0) & STATUS_MASK, c: rc?.camStatus }).toEqual({ a: REQ_CMP, b: REQ_ABORTED, c: REQ_CMP });
    expect(ra?.data?.subarray(0, 512)).toEqual(block);
    expect(rc?.data?.subarray(0, 512)).toEqual(block);
    expect(cam(await pa)).toBe(REQ_CMP);
    const [oa, , oc] = await Promise.all(ordered);
    expect([oa?.camStatus, oc?.camStatus]).toEqual([REQ_CMP, REQ_CMP]);
    expect(await settle(s, A)).toEqual([]);
    expect(await settle(s, C)).toEqual([]);
    expect(await settle(s, B)).toEqual(['6,42,5', '6,47,0']);
    expectIdleWith(s, openings);
  });

  test('a nexus whose registration it removes along with its own: the sender’s other commands are aborted too, the PROUT not; no unit attention for the sender', async () => {
    const { s, probe, held } = await open();
    for (const who of [A, B]) await settle(s, who);
    // No reservation; A and B registered with the same key: PREEMPT removes every registration with it (SPC-5).
    expect(cam(await run(s, A, prout(REGISTER_AND_IGNORE), list(0, 0x77)))).toBe(REQ_CMP);
    expect(cam(await run(s, B, prout(REGISTER_AND_IGNORE), list(0, 0x77)))).toBe(REQ_CMP);
    const openings = s.stats(0).openings;
    held.on = true;
    const reads = [A, B].map((who) => run(s, who, READ_1));
    await until(() => probe.heldCount === 2, 'two READs at the backend');
    const pa = run(s, A, prout(PREEMPT_AND_ABORT, WE), list(0x77, 0x77));
    await new Promise((r) => setTimeout(r, 20));
    held.on = false;
    probe.releaseHeld();
    const [ra, rb] = await Promise.all(reads);
    expect([(ra?.camStatus ?? 0) & STATUS_MASK, (rb?.camStatus ?? 0) & STATUS_MASK]).toEqual([REQ_ABORTED, REQ_ABORTED]);
    expect(cam(await pa)).toBe(REQ_CMP);
    // READ KEYS: PRGENERATION 3, no keys.
    expect(hex((await run(s, A, READ_KEYS)).data)).toBe('00 00 00 03 00 00 00 00');
    expect(await settle(s, A)).toEqual([]);
    expect(await settle(s, B)).toEqual(['6,42,5', '6,47,0']);
    expectIdleWith(s, openings);
  });

  test('a device reset while the PROUT waits: B’s READ completes CAM_REQ_ABORTED, not re-issued; the PROUT is left running (re-issued it would preempt again) and completes GOOD', async () => {
    const { s, probe, held } = await open();
    await reserved(s);
    const openings = s.stats(0).openings;
    held.on = true;
    const bRead = run(s, B, READ_1);
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    const pa = run(s, A, prout(PREEMPT_AND_ABORT, WE), list(0xa1, 0xb2));
    await until(() => s.stats(0).active === 2, 'the PROUT at the SIM');
    const started = probe.started;
    const reset = s.pass(0).resetDevice();
    await until(() => s.stats(0).simFrozen === 1, 'recovery started', 2000);
    held.on = false;
    probe.releaseHeld();
    await reset;
    const [read, ok] = await Promise.all([bRead, pa]);
    expect([read.camStatus & STATUS_MASK, ok.camStatus, ok.scsiStatus]).toEqual([REQ_ABORTED, REQ_CMP, 0]);
    // Nothing went to the backend again: neither the READ nor the PROUT was re-issued.
    expect(probe.started).toBe(started);
    // The reset's unit attention supersedes the others (SAM-5); the registrations are as the preempt left them.
    expect(await settle(s, B)).toEqual(['6,41,3']);
    expect(await settle(s, A)).toEqual(['6,41,3']);
    expect(hex((await run(s, A, READ_KEYS)).data)).toBe('00 00 00 03 00 00 00 08 00 00 00 00 00 00 00 a1');
    expectIdleWith(s, openings);
  });

  test('B with nothing in flight gets REGISTRATIONS PREEMPTED only', async () => {
    const { s } = await open();
    await reserved(s);
    expect(cam(await run(s, A, prout(PREEMPT_AND_ABORT, WE), list(0xa1, 0xb2)))).toBe(REQ_CMP);
    expect(await settle(s, B)).toEqual(['6,42,5']);
  });
});

describe('whose commands: every I_T nexus registered with the SERVICE ACTION RESERVATION KEY, the sender’s too', () => {
  test('the holder preempting its own key to change the type (Write Exclusive to Exclusive Access): its other commands are aborted, B’s READ runs to the end; no 2Fh/00h for anyone, B gets RESERVATIONS RELEASED', async () => {
    const { s, probe, held } = await open();
    await reserved(s);
    const openings = s.stats(0).openings;
    const order: string[] = [];
    held.on = true;
    const aRead = track(run(s, A, READ_1), order, 'A READ');
    const bRead = track(run(s, B, READ_1), order, 'B READ');
    await until(() => probe.heldCount === 2, 'A’s and B’s READs at the backend');
    const aOrdered = track(run(s, A, TUR, undefined, 'ordered'), order, 'A ORDERED TUR');
    expect(s.stats(0).queued).toBe(1);
    const pa = track(run(s, A, prout(PREEMPT_AND_ABORT, EA), list(0xa1, 0xa1), 'head'), order, 'A PROUT');
    await until(() => aOrdered.done(), 'A’s queued command aborted');
    expect(cam(await aOrdered.p)).toBe(REQ_ABORTED);
    held.on = false;
    probe.releaseHeld();
    const [ra, rb, ok] = await Promise.all([aRead.p, bRead.p, pa.p]);
    expect({ a: cam(ra), aData: ra.data, b: rb.camStatus, pa: ok.camStatus, paScsi: ok.scsiStatus }).toEqual({ a: REQ_ABORTED, aData: undefined, b: REQ_CMP, pa: REQ_CMP, paScsi: 0 });
    expect(order.indexOf('A PROUT')).toBeGreaterThan(order.indexOf('A READ'));
    expect(await settle(s, A)).toEqual([]);
    // B stays registered (another key): only the changed type reaches it (2Ah/04h).
    expect(await settle(s, B)).toEqual(['6,42,4']);
    // READ KEYS: PRGENERATION 3, both keys still there.
    expect(hex((await run(s, A, READ_KEYS)).data)).toBe('00 00 00 03 00 00 00 10 00 00 00 00 00 00 00 b2 00 00 00 00 00 00 00 a1');
    expectIdleWith(s, openings);
  });

  test('SERVICE ACTION RESERVATION KEY 0 under an all registrants reservation: every registrant’s commands are aborted, the sender’s too; an unregistered nexus’s run to the end', async () => {
    const { s, probe, held } = await open();
    for (const who of [A, B, C]) await settle(s, who);
    expect(cam(await run(s, B, prout(REGISTER_AND_IGNORE), list(0, 0xb2)))).toBe(REQ_CMP);
    expect(cam(await run(s, A, prout(REGISTER_AND_IGNORE), list(0, 0xa1)))).toBe(REQ_CMP);
    expect(cam(await run(s, A, prout(RESERVE, WE_AR), list(0xa1, 0)))).toBe(REQ_CMP);
    const openings = s.stats(0).openings;
    const block = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) & 0xff);
    expect(cam(await run(s, A, WRITE_1, block))).toBe(REQ_CMP);
    held.on = true;
    const reads = [A, B, C].map((who) => run(s, who, READ_1));
    await until(() => probe.heldCount === 3, 'three READs at the backend');
    const pa = run(s, A, prout(PREEMPT_AND_ABORT, WE_AR), list(0xa1, 0));
    await new Promise((r) => setTimeout(r, 20));
    held.on = false;
    probe.releaseHeld();
    const done = await Promise.all(reads);
    expect(done.map((r) => r.camStatus & STATUS_MASK)).toEqual([REQ_ABORTED, REQ_ABORTED, REQ_CMP]);
    expect(done[2]?.data?.subarray(0, 512)).toEqual(block);
    const ok = await pa;
    expect([ok.camStatus, ok.scsiStatus]).toEqual([REQ_CMP, 0]);
    expect(await settle(s, A)).toEqual([]);
    expect(await settle(s, B)).toEqual(['6,42,5', '6,47,0']);
    expect(await settle(s, C)).toEqual([]);
    // READ KEYS: PRGENERATION 3 (two registrations, the preempt), one key: a1h.
    expect(hex((await run(s, A, READ_KEYS)).data)).toBe('00 00 00 03 00 00 00 08 00 00 00 00 00 00 00 a1');
    expectIdleWith(s, openings);
  });
});

describe('commands between the SIM and the device queue, and timeouts', () => {
  test('B’s WRITEs handed back CAM_REQUEUE_REQ for a ring shortage in the turn the PROUT runs: aborted (CAM_REQ_ABORTED, not re-issued) before the PROUT completes; their data never lands', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 65_536, blockSize: BS }));
    stack = await createStack({ backend: probe, queueSize: 16, features: DIRECT });
    const s = stack;
    for (const who of [A, B]) await settle(s, who);
    expect(cam(await run(s, B, prout(REGISTER_AND_IGNORE), list(0, 0xb2)))).toBe(REQ_CMP);
    expect(cam(await run(s, A, prout(REGISTER_AND_IGNORE), list(0, 0xa1)))).toBe(REQ_CMP);
    const openings = s.stats(0).openings;
    // Someone else's requests (past block 60000) hold 15 of the 16 descriptors; ours cost 3 without indirect descriptors.
    probe.holdIf = (op) => op.offset >= 60_000 * BS;
    const { driver, allocator } = s.virtio;
    const buf = allocator.alloc(BS);
    if (buf === undefined) throw new Error('no guest memory');
    const foreign = Array.from({ length: 5 }, (_, i) => driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(60_000 + i), data: [buf] }));
    await until(() => probe.heldCount === 5, 'foreign requests at the device');
    const order: string[] = [];
    const data = new Uint8Array(BS).fill(0xbb);
    // WRITE (10) of LBA 2 and of LBA 1; then A's PREEMPT AND ABORT (no reservation: B's key goes), all in one turn.
    const writes = [bytes10(0x2a, 2), WRITE_1].map((cdb, i) => track(run(s, B, cdb, data), order, `B WRITE ${i}`));
    const pa = track(run(s, A, prout(PREEMPT_AND_ABORT, WE), list(0xa1, 0xb2)), order, 'A PROUT');
    const ok = await pa.p;
    expect([ok.camStatus, ok.scsiStatus]).toEqual([REQ_CMP, 0]);
    expect(order).toEqual(['B WRITE 0', 'B WRITE 1', 'A PROUT']);
    expect((await Promise.all(writes.map((w) => w.p))).map((r) => ({ cam: cam(r), scsi: r.scsiStatus, sense: r.sense }))).toEqual([
      { cam: REQ_ABORTED, scsi: 0, sense: undefined },
      { cam: REQ_ABORTED, scsi: 0, sense: undefined },
    ]);
    probe.holdIf = undefined;
    probe.releaseHeld();
    expect((await Promise.all(foreign)).map((c) => c.kind)).toEqual(['done', 'done', 'done', 'done', 'done']);
    allocator.free(buf.addr);
    // Nothing of B's reached the medium.
    const back = await run(s, A, bytes10(0x28, 1, 2));
    expect(back.data?.subarray(0, 2 * BS)).toEqual(new Uint8Array(2 * BS));
    expect(await settle(s, B)).toEqual(['6,42,5', '6,47,0']);
    expect(await settle(s, A)).toEqual([]);
    expectIdleWith(s, openings);
  });

  test.each([
    ['times out with nothing else going on', false],
    ['times out during a device reset that took it over', true],
  ] as const)('B’s aborted READ at the device %s: it still completes CAM_REQ_ABORTED (TAS 0: no status), not CAM_CMD_TIMEOUT', async (_, resetFirst) => {
    const { s, probe, held } = await open();
    await reserved(s);
    const openings = s.stats(0).openings;
    held.on = true;
    const bRead = run(s, B, READ_1, undefined, undefined, 100);
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    const pa = run(s, A, prout(PREEMPT_AND_ABORT, WE), list(0xa1, 0xb2));
    await until(() => s.stats(0).active === 2, 'the PROUT at the SIM');
    const reset = resetFirst ? s.pass(0).resetDevice() : undefined;
    // The recovery (the reset's, else the timeout's) waits for the held READ; let the READ's timeout pass first.
    await until(() => s.stats(0).simFrozen === 1, 'recovery started', 2000);
    await new Promise((r) => setTimeout(r, 200));
    held.on = false;
    probe.releaseHeld();
    await reset;
    const [read, ok] = await Promise.all([bRead, pa]);
    expect({ cam: cam(read), scsi: read.scsiStatus, sense: read.sense }).toEqual({ cam: REQ_ABORTED, scsi: 0, sense: undefined });
    expect([ok.camStatus, ok.scsiStatus]).toEqual([REQ_CMP, 0]);
    // The reset's unit attention supersedes the others (SAM-5): 29h/03h after a device reset, 29h/00h after a timeout's bus reset.
    const ua = resetFirst ? '6,41,3' : '6,41,0';
    expect(await settle(s, B)).toEqual([ua]);
    expect(await settle(s, A)).toEqual([ua]);
    expectIdleWith(s, openings);
  });
});

describe('what aborts nothing', () => {
  test('PREEMPT: the PROUT completes with B’s READ still at the device, which then completes GOOD; B gets 2Ah/05h only', async () => {
    const { s, probe, held } = await open();
    await reserved(s);
    const openings = s.stats(0).openings;
    held.on = true;
    const bRead = run(s, B, READ_1);
    await until(() => probe.heldCount === 1, 'B’s READ at the backend');
    expect(cam(await run(s, A, prout(PREEMPT, WE), list(0xa1, 0xb2)))).toBe(REQ_CMP);
    expect(probe.heldCount).toBe(1);
    held.on = false;
    probe.releaseHeld();
    expect((await bRead).camStatus).toBe(REQ_CMP);
    expect(await settle(s, B)).toEqual(['6,42,5']);
    expectIdleWith(s, openings);
  });

  test.each([
    ['a SERVICE ACTION RESERVATION KEY nobody has: RESERVATION CONFLICT', list(0xa1, 0x99), RESERVATION_CONFLICT],
    ['a RESERVATION KEY that is not the sender’s: RESERVATION CONFLICT', list(0xa2, 0xb2), RESERVATION_CONFLICT],
    ['SERVICE ACTION RESERVATION KEY 0 under a Write Exclusive reservation: CHECK CONDITION, INVALID FIELD IN PARAMETER LIST', list(0xa1, 0), CHECK_CONDITION],
  ] as const)('a failed PREEMPT AND ABORT, %s: the sender’s READ and B’s run to the end, no unit attention', async (_, params, status) => {
    const { s, probe, held } = await open();
    await reserved(s);
    const openings = s.stats(0).openings;
    held.on = true;
    const reads = [A, B].map((who) => run(s, who, READ_1));
    await until(() => probe.heldCount === 2, 'A’s and B’s READs at the backend');
    expect((await run(s, A, prout(PREEMPT_AND_ABORT, WE), params)).scsiStatus).toBe(status);
    expect(probe.heldCount).toBe(2);
    held.on = false;
    probe.releaseHeld();
    expect((await Promise.all(reads)).map((r) => r.camStatus)).toEqual([REQ_CMP, REQ_CMP]);
    expect(await settle(s, A)).toEqual([]);
    expect(await settle(s, B)).toEqual([]);
    expectIdleWith(s, openings);
  });
});

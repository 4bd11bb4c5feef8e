// A backend that never answers, through the whole stack: the device reset a
// timeout starts waits for the backend until the local transport's
// resetTimeoutMs, then the device is lost: the timed-out CCB completes
// CAM_CMD_TIMEOUT, every other CCB once with CAM_DEV_NOT_THERE, AC_LOST_DEVICE
// is posted once, and the guest buffers the backend may still write stay
// quarantined (never handed out again) even when the backend wakes up later.

import { expect, test } from 'vitest';
import { AsyncCode } from '../../src/cam/async.js';
import { CamError } from '../../src/cam/periph/errors.js';
import { rw10, until } from './helpers.js';
import { BS, CMD_TIMEOUT, DEV_QFRZN, fill, rig } from './fault-rig.js';

const DEV_NOT_THERE = 0x08;

test('reads the backend never answers: CCB timeout, reset gives up after resetTimeoutMs, device lost, every CCB completes once, buffers stay quarantined', async () => {
  const r = await rig(4096, { resetTimeoutMs: 150 });
  const da = r.stack.da(0);
  await fill(r, 0, 256, 1);
  const lost: unknown[] = [];
  r.stack.xpt.onAsync(AsyncCode.LOST_DEVICE, undefined, (_code, _path, arg) => lost.push(arg));

  // From now on every read sits at the backend: a hung file system.
  r.probe.holdIf = (op) => op.kind === 'read';
  const victim = r.stack.pass(0).scsi({ cdb: rw10('read', 100, 8), direction: 'in', length: 8 * BS, timeoutMs: 100 });
  const outcomes: string[] = [];
  const others = Array.from({ length: 20 }, (_, i) =>
    da.read(BigInt(i * 8), 8).then(
      () => 'ok',
      (e: unknown) => (e instanceof CamError ? `cam 0x${(e.camStatus & 0x3f).toString(16)}` : String(e)),
    ).then((o) => {
      outcomes.push(o);
    }),
  );
  await until(() => r.probe.heldCount === 21, 'all 21 reads at the backend');
  const startedAt = Date.now();

  const v = await victim;
  await Promise.all(others);
  // The reset waited resetTimeoutMs for the backend before the device was given up (the CCB timeout came first).
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
  expect({ cam: v.camStatus, scsi: v.scsiStatus, data: v.data }).toEqual({ cam: CMD_TIMEOUT | DEV_QFRZN, scsi: 0, data: undefined });
  expect(outcomes).toEqual(Array.from({ length: 20 }, () => `cam 0x${DEV_NOT_THERE.toString(16)}`));
  expect(lost).toEqual([expect.objectContaining({ path: { bus: 0, target: 0, lun: 0 } })]);
  expect(r.stack.virtio.transport.lost()).toBe('device reset still waiting for backend I/O after 150 ms');
  expect(r.ledger.doubles).toBe(0);

  // The 21 data buffers belong to the device until it answers, which it may never do.
  expect(r.stack.sim.bcs.quarantined).toBe(21);
  // Lost: a new command fails at once, with nothing sent to the backend.
  const before = r.probe.started;
  await expect(da.write(0n, new Uint8Array(BS))).rejects.toThrow(/CAM_DEV_NOT_THERE/);
  expect(r.probe.started).toBe(before);

  // The backend wakes up and writes its reads into guest memory: nothing completes again, the buffers stay out.
  expect(r.probe.releaseHeld()).toBe(21);
  await until(() => r.probe.running === 0, 'the held reads finished');
  expect(r.ledger.doubles).toBe(0);
  expect(r.stack.sim.bcs.quarantined).toBe(21);
  // close() does not wait for the lost device again.
  const closing = Date.now();
  await r.stack.close();
  expect(Date.now() - closing).toBeLessThan(150);
});

test('a reset that the backend lets finish in time loses nothing: the device comes back', async () => {
  const r = await rig(4096, { resetTimeoutMs: 5000 });
  const da = r.stack.da(0);
  await fill(r, 0, 64, 2);
  r.probe.holdIf = (op) => op.kind === 'read' && op.offset === 16 * BS;
  const victim = r.stack.pass(0).scsi({ cdb: rw10('read', 16, 8), direction: 'in', length: 8 * BS, timeoutMs: 100 });
  await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
  r.probe.holdIf = undefined;
  r.probe.releaseHeld();
  expect((await victim).camStatus).toBe(CMD_TIMEOUT | DEV_QFRZN);
  expect(r.stack.virtio.transport.lost()).toBeUndefined();
  expect(r.stack.sim.bcs.quarantined).toBe(0);
  expect(r.shadow.mismatch(0, await da.read(0n, 64))).toBeUndefined();
  await r.stack.close();
});

test('resetTimeoutMs must be a positive number, within Node\'s longest timer', async () => {
  for (const bad of [0, -1, Number.NaN, 2 ** 31, Number.POSITIVE_INFINITY]) {
    await expect(rig(64, { resetTimeoutMs: bad })).rejects.toThrow(new RangeError(`resetTimeoutMs must be a positive number of milliseconds up to 2147483647, got ${bad}`));
  }
});

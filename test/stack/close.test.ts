// stack.close() with work in flight (Stack.close doc; ARCHITECTURE.md "every
// accepted CCB completes exactly once"): CCBs the SIM answers on a later turn
// (an I_T nexus loss, a CCB handed back for a ring shortage) complete once and
// close resolves; da I/O outstanding on a device that never answers ends
// CAM_DEV_NOT_THERE and close resolves once closeGraceMs has passed and the
// device reset has given the backend up (resetTimeoutMs), whatever da's
// timeout, while da I/O on a unit that answers finishes GOOD; close still closes the
// transport and the backend when detaching the bus fails, and rejects with
// the first failure. CAM status words from FreeBSD cam.h.

import { describe, expect, test, vi } from 'vitest';
import { VIRTIO_BLK_T_IN } from '../../src/virtio/blk-wire.js';
import { rw10, turns, until } from './helpers.js';
import { BS, DIRECT, camErrorOf, rig } from './fault-rig.js';
import { A } from './pr-fixtures.js';

const DEV_NOT_THERE = 0x08;
const STATUS_MASK = 0x3f;

describe('stack.close() right after a command the SIM answers on a later turn', () => {
  test('an I_T nexus loss: close resolves, the CCB completes once, nothing completes it again later', async () => {
    const r = await rig(4096);
    const told = r.stack.pass(0).nexusLost(A);
    await r.stack.close();
    await told;
    // The SIM's own later turn comes and goes: it finds nothing to complete (a second completion throws in the XPT).
    await turns(5);
  });

  test('a READ handed back for a ring shortage (TASK SET FULL): it completes CAM_DEV_NOT_THERE once and close resolves', async () => {
    const r = await rig(65_536, { features: DIRECT });
    const driver = r.stack.virtio.driver;
    // Someone else's requests the device sits on: 21 × 3 of the 64 descriptors, 1 left.
    r.probe.holdIf = (op) => op.offset >= 60_000 * BS;
    const buf = r.stack.virtio.allocator.alloc(BS);
    if (buf === undefined) throw new Error('no guest memory');
    const foreign = Array.from({ length: 21 }, (_, i) => driver.request({ type: VIRTIO_BLK_T_IN, sector: BigInt(60_000 + i), data: [buf] }));
    await until(() => r.probe.heldCount === 21, 'foreign requests at the device');
    const read = r.stack.pass(0).scsi({ cdb: rw10('read', 100, 1), direction: 'in', length: BS });
    const closed = r.stack.close();
    r.probe.releaseHeld();
    await closed;
    expect((await read).camStatus & STATUS_MASK).toBe(DEV_NOT_THERE);
    await Promise.all(foreign);
    await turns(5);
    expect(r.ledger.doubles).toBe(0);
    expect(r.ledger.completions).toBe(r.ledger.actions);
  });
});

describe('stack.close() with da I/O outstanding on a device that never answers', () => {
  test.each([
    ['no timeout (da.timeoutMs 0)', 0],
    ['the default 60 s timeout', undefined],
  ])('%s: the read and the pass read end CAM_DEV_NOT_THERE, close resolves after the reset gives up', async (_name, timeoutMs) => {
    // The device reset that closes the driver waits for the backend's I/O this long (the transport's bound), then gives it up.
    const r = await rig(4096, { resetTimeoutMs: 100, closeGraceMs: 100, ...(timeoutMs === undefined ? {} : { da: { timeoutMs } }) });
    r.faulty.stall();
    const read = camErrorOf(r.stack.da(0).read(0n, 8));
    const passRead = r.stack.pass(0).scsi({ cdb: rw10('read', 8, 1), direction: 'in', length: BS, timeoutMs: 0 });
    await until(() => r.faulty.stalledCount === 2, 'both reads at the backend');
    const closed = r.stack.close().then(() => 'closed');
    // Waiting for the device (or for the CCB timeout and the reset after it) would take until the test times out.
    const late = new Promise((resolve) => setTimeout(resolve, 2000, 'still closing after 2 s'));
    expect(await Promise.race([closed, late])).toBe('closed');
    expect((await read).camStatus & STATUS_MASK).toBe(DEV_NOT_THERE);
    expect((await passRead).camStatus & STATUS_MASK).toBe(DEV_NOT_THERE);
    expect(r.stack.da(0).outstanding).toBe(0);
    expect(r.ledger.doubles).toBe(0);
    r.faulty.release();
  });
});

describe('stack.close() with da I/O in flight on a unit that answers', () => {
  test('the I/O issued before close finishes GOOD and lands (within closeGraceMs); I/O after close fails at once', async () => {
    const r = await rig(4096);
    const da = r.stack.da(0);
    const data = Array.from({ length: 32 }, (_, i) => new Uint8Array(BS).fill(i + 1));
    const writes = data.map((d, i) => da.write(BigInt(i), d));
    const closed = r.stack.close();
    await expect(Promise.all(writes)).resolves.toHaveLength(32);
    await closed;
    for (let i = 0; i < 32; i++) {
      const back = new Uint8Array(BS);
      expect(await r.disk.read(i * BS, back)).toBe('ok');
      expect(back).toEqual(data[i]);
    }
    expect((await camErrorOf(da.write(40n, new Uint8Array(BS)))).camStatus & STATUS_MASK).toBe(DEV_NOT_THERE);
    expect(r.ledger.doubles).toBe(0);
  });
});

describe('stack.close() when a step fails', () => {
  test('the transport and the backend are closed all the same; close rejects with the first failure', async () => {
    const r = await rig(4096);
    const sim = r.stack.sim;
    const detach = sim.detach.bind(sim);
    vi.spyOn(sim, 'detach').mockImplementation(async () => {
      await detach();
      throw new Error('detach failed');
    });
    const transport = r.stack.virtio.transport;
    const closeTransport = transport.close.bind(transport);
    const transportClose = vi.spyOn(transport, 'close').mockImplementation(async () => {
      await closeTransport();
      throw new Error('transport close failed');
    });
    const backendClose = vi.spyOn(r.probe, 'close');
    await expect(r.stack.close()).rejects.toThrow('detach failed');
    expect(transportClose).toHaveBeenCalledTimes(1);
    expect(backendClose).toHaveBeenCalledTimes(1);
    // Once closed, closed: the same answer, nothing closed twice.
    await expect(r.stack.close()).rejects.toThrow('detach failed');
    expect(backendClose).toHaveBeenCalledTimes(1);
  });
});

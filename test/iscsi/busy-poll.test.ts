// The portal's busy poll (busy-poll.ts): after a touch the event loop keeps
// turning for the window and then stops by itself; 0 never spins; stop() ends
// it; a bad window is a RangeError, from the server's options too.

import { afterEach, describe, expect, it } from 'vitest';
import { BusyPoll, MAX_BUSY_POLL_US } from '../../src/iscsi/busy-poll.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { TestInitiator } from './initiator.js';

/** INQUIRY, 36 bytes: answered even before the unit attention of power-on is reported. */
const INQUIRY = Uint8Array.of(0x12, 0, 0, 0, 36, 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Resolves on the loop's next check phase: turns of a spin in between have run. */
const nextCheck = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('BusyPoll', () => {
  it('keeps the loop turning for the window after the last touch, then stops by itself', async () => {
    let clock = 0;
    const poll = new BusyPoll(10_000, () => clock);
    expect(poll.state.spinning).toBe(false);
    poll.touch();
    expect(poll.state.spinning).toBe(true);
    clock = 6;
    await nextCheck();
    poll.touch(); // the window starts over at 6 ms
    clock = 15.9;
    await nextCheck();
    await nextCheck();
    expect(poll.state.spinning).toBe(true);
    const turns = poll.state.turns;
    expect(turns).toBeGreaterThanOrEqual(3);
    clock = 16;
    await nextCheck();
    await nextCheck();
    expect(poll.state).toMatchObject({ windowUs: 10_000, spinning: false });
    const after = poll.state.turns;
    await sleep(5);
    expect(poll.state.turns).toBe(after);
  });

  it('0 never spins', async () => {
    const poll = new BusyPoll(0);
    poll.touch();
    expect(poll.state.spinning).toBe(false);
    await nextCheck();
    expect(poll.state.turns).toBe(0);
  });

  it('stop() ends a spin at its next turn, and later touches do nothing', async () => {
    const poll = new BusyPoll(MAX_BUSY_POLL_US);
    poll.touch();
    poll.stop();
    await nextCheck();
    await nextCheck();
    expect(poll.state.spinning).toBe(false);
    poll.touch();
    expect(poll.state.spinning).toBe(false);
  });

  it.each([-1, 1.5, MAX_BUSY_POLL_US + 1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a window of %s µs', (us) => {
    expect(() => new BusyPoll(us)).toThrow(new RangeError(`busy poll window must be a whole number of microseconds in 0..${MAX_BUSY_POLL_US}, got ${us}`));
  });
});

describe('IscsiServer with busyPollUs', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('the package entry exports the window limit', async () => {
    const api = await import('../../src/index.js');
    expect(api.MAX_BUSY_POLL_US).toBe(10_000);
  });

  it('refuses a bad window before it listens', async () => {
    stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }) });
    await expect(IscsiServer.listen({ port: 0, busyPollUs: -5, targets: [{ name: 'iqn.2026-11.org.vtcam:poll', luns: [{ lun: 0, pass: stack.pass(0) }] }] })).rejects.toThrow(RangeError);
  });

  it('is off by default', async () => {
    stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }) });
    const srv = await IscsiServer.listen({ port: 0, targets: [{ name: 'iqn.2026-11.org.vtcam:poll', luns: [{ lun: 0, pass: stack.pass(0) }] }] });
    const ini = await TestInitiator.connect(srv.address.port);
    await ini.login('iqn.2026-11.org.vtcam:poll');
    expect((await ini.result(ini.command({ cdb: INQUIRY, read: true, edtl: 36 }))).status).toBe(0);
    expect(srv.busyPoll).toEqual({ windowUs: 0, spinning: false, turns: 0 });
    ini.close();
    await srv.close();
  });

  it('serves with it on, and closing leaves the loop nothing to turn', async () => {
    stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }) });
    const srv = await IscsiServer.listen({ port: 0, busyPollUs: MAX_BUSY_POLL_US, targets: [{ name: 'iqn.2026-11.org.vtcam:poll', luns: [{ lun: 0, pass: stack.pass(0) }] }] });
    const ini = await TestInitiator.connect(srv.address.port);
    const r = await ini.login('iqn.2026-11.org.vtcam:poll');
    expect([r.bhs[36], r.bhs[37]]).toEqual([0, 0]);
    for (let i = 0; i < 3; i++) expect((await ini.result(ini.command({ cdb: INQUIRY, read: true, edtl: 36 }))).status).toBe(0);
    expect(srv.busyPoll).toMatchObject({ windowUs: MAX_BUSY_POLL_US, spinning: true });
    expect(srv.busyPoll.turns).toBeGreaterThan(0);
    ini.close();
    await srv.close();
    // A spin still running after close would hold the process open for up to 10 ms more.
    await nextCheck();
    await nextCheck();
    expect(srv.busyPoll.spinning).toBe(false);
  });
});

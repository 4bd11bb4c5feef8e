// One device, one target: a logical unit has one target port in vtcam, so
// IscsiServer.listen refuses a device that two targets export (an initiator
// port logged in to both would be one I_T nexus to the unit, SAM-5 I_T nexus:
// initiator port + target port), and serves two targets on two devices.

import { Socket, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { PassPeriph } from '../../src/cam/periph/pass.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator } from './initiator.js';

const T1 = 'iqn.2026-11.org.vtcam:t1';
const T2 = 'iqn.2026-11.org.vtcam:t2';
let one: Stack;
let two: Stack;

beforeAll(async () => {
  one = await createStack({ backend: new MemoryBackend({ blocks: 1024, blockSize: 512 }), queueSize: 32 });
  two = await createStack({ backend: new MemoryBackend({ blocks: 1024, blockSize: 512 }), queueSize: 32 });
});

afterAll(async () => {
  await one.close();
  await two.close();
});

/** A TCP port nothing listens on now: bound, read and let go. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  await new Promise<void>((resolve) => s.close(() => { resolve(); }));
  if (a === null || typeof a === 'string') throw new Error('no TCP address');
  return a.port;
}

/** Whether a TCP connection to `port` on 127.0.0.1 is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new Socket();
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => { resolve(false); });
    c.connect(port, '127.0.0.1');
  });
}

const refusal = (lunA: number, lunB: number): string =>
  `iSCSI server: targets '${T1}' (LUN ${lunA}) and '${T2}' (LUN ${lunB}) export the same device (0:0:0): ` +
  'a logical unit has one target port, the target that exports it, and an initiator logged in to both would be ' +
  'one I_T nexus to it, sharing its reservations and unit attentions across the two sessions; export it from one target ' +
  '(for multipath, log in to that target twice, with two ISIDs)';

describe('a device exported by two targets', () => {
  it('is refused with a RangeError naming both targets and why, and nothing listens', async () => {
    const port = await freePort();
    const targets = [
      { name: T1, luns: [{ lun: 0, pass: one.pass(0) }] },
      { name: T2, luns: [{ lun: 0, pass: two.pass(0) }, { lun: 3, pass: one.pass(0) }] },
    ];
    await expect(IscsiServer.listen({ port, targets })).rejects.toThrow(new RangeError(refusal(0, 3)));
    expect(await accepts(port)).toBe(false);
  });

  it('is refused also when each target reaches it through a pass periph of its own', async () => {
    const again = new PassPeriph(one.xpt, one.pass(0).path);
    const targets = [
      { name: T1, luns: [{ lun: 1, pass: one.pass(0) }] },
      { name: T2, luns: [{ lun: 0, pass: again }] },
    ];
    await expect(IscsiServer.listen({ port: 0, targets })).rejects.toThrow(new RangeError(refusal(1, 0)));
  });
});

describe('two targets on two devices', () => {
  it('are served, each its own logical unit: a key registered through one is not the other\'s', async () => {
    // Both devices sit at 0:0:0 of their own stack: the same path on two XPTs is two devices.
    const server = await IscsiServer.listen({ port: 0, targets: [
      { name: T1, luns: [{ lun: 0, pass: one.pass(0) }] },
      { name: T2, luns: [{ lun: 0, pass: two.pass(0) }] },
    ] });
    try {
      const port = server.address.port;
      const [a, b] = [await TestInitiator.connect(port), await TestInitiator.connect(port)];
      expect((await a.login(T1, {}, 1n)).bhs[36]).toBe(0);
      expect((await b.login(T2, {}, 1n)).bhs[36]).toBe(0);
      // PERSISTENT RESERVE OUT REGISTER (5Fh/00h), PARAMETER LIST LENGTH 24: SERVICE ACTION RESERVATION KEY at 8..15.
      const list = new Uint8Array(24);
      list[15] = 0x0a;
      const register = Uint8Array.of(0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0);
      const readKeys = Uint8Array.of(0x5e, 0x00, 0, 0, 0, 0, 0, 0, 16, 0);
      // Each new nexus reports the power-on unit attention first (CHECK CONDITION), then runs the command.
      for (const ini of [a, b]) expect((await ini.result(ini.command({ cdb: new Uint8Array(6), edtl: 0 }))).status).toBe(2);
      expect((await a.result(a.command({ cdb: register, write: true, edtl: 24, data: list }))).status).toBe(0);
      // READ KEYS: PRGENERATION (0..3), ADDITIONAL LENGTH (4..7), then the keys.
      const keys = async (ini: TestInitiator): Promise<number[]> => [...(await ini.result(ini.command({ cdb: readKeys, read: true, edtl: 16 }))).data];
      expect(await keys(a)).toEqual([0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0x0a]);
      expect(await keys(b)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      a.close();
      b.close();
    } finally {
      await server.close();
    }
  });
});

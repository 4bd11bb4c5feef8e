// A LUN whose device is gone (its device worker exited, so the device is
// lost for good): every command but three ends CHECK CONDITION,
// ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25h/00h); INQUIRY, REPORT LUNS
// and REQUEST SENSE are answered as for a LUN the target does not have
// (no-lun.ts, SPC-5 §6.7.1: INQUIRY fails only when no data can be
// returned), INQUIRY with PERIPHERAL QUALIFIER 001b (not connected, §6.7.2),
// so that an initiator can still rescan the target. PDUs are built from
// RFC 7143's tables (initiator.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { SharedMemoryBackend } from '../../src/virtio/device/backends/shared-memory.js';
import type { WorkerTransport } from '../../src/virtio/transport/worker.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator } from './initiator.js';
import { senseOfTur } from './two-sessions.js';

const IQN = 'iqn.2026-11.org.vtcam:lun-gone';
let stack: Stack;
let server: IscsiServer;
let ini: TestInitiator;

beforeAll(async () => {
  stack = await createStack({ backend: new SharedMemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16, transport: 'worker', workers: 1 });
  server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], log: () => undefined });
  ini = await TestInitiator.connect(server.address.port);
  expect((await ini.login(IQN)).bhs[36]).toBe(0);
  expect(await senseOfTur(ini)).toEqual([0x06, 0x29, 0x00]);
  const transport = stack.virtio.transport as WorkerTransport;
  const lost = new Promise<string>((resolve) => {
    transport.onLost(resolve);
  });
  transport.injectFault(0, 'exit');
  await lost;
});
afterAll(async () => {
  ini.close();
  await server.close();
  await stack.close();
});

describe('a LUN whose device is gone', () => {
  it('TEST UNIT READY: CHECK CONDITION 05h/25h/00h', async () => {
    expect(await senseOfTur(ini)).toEqual([0x05, 0x25, 0x00]);
  });

  it('standard INQUIRY: GOOD, PERIPHERAL QUALIFIER 001b, type 00h (direct access, not connected)', async () => {
    const r = await ini.result(ini.command({ cdb: Uint8Array.of(0x12, 0, 0, 0, 36, 0), read: true, edtl: 36 }));
    expect(r.status).toBe(0);
    expect(r.data.length).toBe(36);
    expect(r.data[0]).toBe((0b001 << 5) | 0x00);
  });

  it('REPORT LUNS: GOOD, listing LUN 0', async () => {
    const r = await ini.result(ini.command({ cdb: Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0), read: true, edtl: 16 }));
    expect(r.status).toBe(0);
    // LUN LIST LENGTH 8, then one 8-byte LUN: 0.
    expect([...r.data]).toEqual([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('REQUEST SENSE: GOOD, LOGICAL UNIT NOT SUPPORTED as its data', async () => {
    const r = await ini.result(ini.command({ cdb: Uint8Array.of(0x03, 0, 0, 0, 18, 0), read: true, edtl: 18 }));
    expect(r.status).toBe(0);
    expect([(r.data[2] ?? 0) & 0x0f, r.data[12], r.data[13]]).toEqual([0x05, 0x25, 0x00]);
  });
});

// A stack closed before the iSCSI server that exports it (the wrong order, as
// a library user may close them): its bus is detached, so every command the
// server passes on ends CAM_PATH_INVALID, the unit gone. The LUN is answered
// as lun-gone.test.ts has it for a lost device: CHECK CONDITION, ILLEGAL
// REQUEST, LOGICAL UNIT NOT SUPPORTED (25h/00h), INQUIRY with PERIPHERAL
// QUALIFIER 001b (SPC-5 §6.7.2); it was HARDWARE ERROR, INTERNAL TARGET
// FAILURE (44h/00h), which makes initiators take the target for failing.
// PDUs are built from RFC 7143's tables (initiator.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator } from './initiator.js';
import { senseOfTur } from './two-sessions.js';

const IQN = 'iqn.2026-11.org.vtcam:lun-gone-stack-closed';
let stack: Stack;
let server: IscsiServer;
let ini: TestInitiator;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16 });
  server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], log: () => undefined });
  ini = await TestInitiator.connect(server.address.port);
  expect((await ini.login(IQN)).bhs[36]).toBe(0);
  expect(await senseOfTur(ini)).toEqual([0x06, 0x29, 0x00]);
  await stack.close();
});
afterAll(async () => {
  ini.close();
  await server.close();
});

describe('a LUN whose stack was closed first', () => {
  it('TEST UNIT READY: CHECK CONDITION 05h/25h/00h', async () => {
    expect(await senseOfTur(ini)).toEqual([0x05, 0x25, 0x00]);
  });

  it('READ (10): CHECK CONDITION 05h/25h/00h, no data', async () => {
    const r = await ini.result(ini.command({ cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), read: true, edtl: 512 }));
    expect(r.status).toBe(2);
    expect(r.dataIns).toEqual([]);
    const sense = r.response.data.subarray(2);
    expect([(sense[2] ?? 0) & 0x0f, sense[12], sense[13]]).toEqual([0x05, 0x25, 0x00]);
  });

  it('standard INQUIRY: GOOD, PERIPHERAL QUALIFIER 001b, type 00h (direct access, not connected)', async () => {
    const r = await ini.result(ini.command({ cdb: Uint8Array.of(0x12, 0, 0, 0, 36, 0), read: true, edtl: 36 }));
    expect(r.status).toBe(0);
    expect(r.data[0]).toBe((0b001 << 5) | 0x00);
  });
});

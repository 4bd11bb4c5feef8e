// Whatever a logged-in peer sends — random headers of every opcode, random
// lengths and flags, random bytes — the target neither crashes nor stops
// serving other sessions, and only that peer's connection may be closed.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator, pdu } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:fuzz';
let stack: Stack;
let server: IscsiServer;
let port: number;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 4096, blockSize: 512 }), queueSize: 32 });
  server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }] });
  port = server.address.port;
});

afterAll(async () => {
  await server.close();
  await stack.close();
});

/** A header with a chosen opcode and random other bytes, no AHS, a data segment of `data`. */
const randomPdu = fc.record({
  opcode: fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x1c, 0x3f),
  immediate: fc.boolean(),
  rest: fc.uint8Array({ minLength: 47, maxLength: 47 }),
  data: fc.uint8Array({ maxLength: 600 }),
});

async function stillServes(): Promise<void> {
  const ini = await TestInitiator.connect(port);
  const r = await ini.login(IQN, {}, 0xabcdn);
  expect(r.bhs[36]).toBe(0);
  let status = -1;
  for (let i = 0; i < 4 && status !== 0; i++) status = (await ini.result(ini.command({ cdb: new Uint8Array(6), edtl: 0 }))).status;
  expect(status).toBe(0);
  ini.close();
}

describe('the iSCSI target under random PDUs', () => {
  it('keeps serving after sequences of random PDUs from a logged-in peer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(randomPdu, { minLength: 1, maxLength: 12 }), fc.boolean(), async (pdus, raw) => {
        const ini = await TestInitiator.connect(port);
        await ini.login(IQN);
        for (const p of pdus) {
          const bhs = new Uint8Array(48);
          bhs.set(p.rest, 1);
          bhs[0] = (p.immediate ? 0x40 : 0) | p.opcode;
          bhs[4] = 0; // no AHS: the length below must be honest for the stream to stay framed
          ini.send(raw ? Uint8Array.from([...bhs, ...p.data]) : pdu(bhs, p.data));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        ini.close();
        await stillServes();
      }),
      { numRuns: Number(process.env['VTCAM_PROPERTY_RUNS'] ?? 25) },
    );
  }, 120_000);
});

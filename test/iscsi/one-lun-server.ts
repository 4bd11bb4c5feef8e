// A target with one LUN, a memory disk of 2048 blocks of 512 bytes, on a
// loopback port, for test files that drive it with raw PDUs (initiator.ts):
// made before the file's tests, closed after them; the sessions a test opens
// are closed after it. A session comes logged in, its power-on unit attention
// seen, so its next command meets none.

import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator, field32, opcodeOf, parseText, type RawPdu } from './initiator.js';
import { hex } from './hex.js';

export const BS = 512;
export const TUR = new Uint8Array(6);
export const write10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, blocks >> 8, blocks & 0xff, 0);
export const read10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x28, 0, 0, 0, 0, lba, 0, blocks >> 8, blocks & 0xff, 0);

export interface OneLunServer {
  /** A new session under `isid`, logged in with `keys` over initiator.ts's defaults: the initiator and the keys the target answered. */
  session(isid: bigint, keys?: Record<string, string>): Promise<{ readonly ini: TestInitiator; readonly agreed: Record<string, string> }>;
}

/** Registers the file's hooks for a server exporting one memory disk as LUN 0 of `iqn`. */
export function oneLunServer(iqn: string): OneLunServer {
  let stack: Stack;
  let server: IscsiServer;
  const opened: TestInitiator[] = [];
  beforeAll(async () => {
    stack = await createStack({ backend: new MemoryBackend({ blocks: 2048, blockSize: BS }), queueSize: 64 });
    server = await IscsiServer.listen({ port: 0, targets: [{ name: iqn, luns: [{ lun: 0, pass: stack.pass(0) }] }] });
  });
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
  });
  afterAll(async () => {
    await server.close();
    await stack.close();
  });
  return {
    async session(isid, keys = {}) {
      const ini = await TestInitiator.connect(server.address.port);
      opened.push(ini);
      const r = await ini.login(iqn, keys, isid);
      expect(r.bhs[36]).toBe(0);
      const agreed = parseText(r.data);
      ini.digests = { header: agreed['HeaderDigest'] === 'CRC32C', data: agreed['DataDigest'] === 'CRC32C' };
      expect((await ini.result(ini.command({ cdb: TUR, edtl: 0 }))).status).toBe(0x02);
      expect((await ini.result(ini.command({ cdb: TUR, edtl: 0 }))).status).toBe(0);
      return { ini, agreed };
    },
  };
}

/** `blocks` blocks from `lba`, read GOOD. */
export async function readBlocks(ini: TestInitiator, lba: number, blocks: number): Promise<Uint8Array> {
  const r = await ini.result(ini.command({ cdb: read10(lba, blocks), read: true, edtl: blocks * BS }));
  expect(r.status).toBe(0);
  return r.data;
}

/** A SCSI Response (§11.4) by offset: flags at byte 1, Response 2, Status 3, ExpDataSN 36, Residual Count 44; its data segment in hex. */
export function responseOf(p: RawPdu): { opcode: number; flags: number; response: number; status: number; expDataSN: number; residual: number; data: string } {
  return { opcode: opcodeOf(p), flags: p.bhs[1] ?? -1, response: p.bhs[2] ?? -1, status: p.bhs[3] ?? -1, expDataSN: field32(p, 36), residual: field32(p, 44), data: hex(p.data) };
}

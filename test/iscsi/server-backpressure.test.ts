// Back-pressure (issue: "each connection's PDUs handled in order with
// back-pressure, no unbounded buffering"): an initiator that sends commands
// but does not read their answers must not make the target execute them all
// and hold every answer in memory. One read chunk holds a whole window of
// 48-byte READs, so pausing the socket's reading alone bounds nothing: a READ
// goes to its unit only while the connection's unsent output and the Data-In
// of its READs at their units stay within DATA_IN_HIGH_WATER (data-in-gate.ts).
// The READs behind wait, unexecuted; when the initiator reads again, every
// one of them is answered, in full.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { DATA_IN_HIGH_WATER } from '../../src/iscsi/data-in-gate.js';
import { TestInitiator, field32, opcodeOf, type RawPdu } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:backpressure';
const BLOCK = 512;
/** Each READ asks for 512 KiB: the window's worth is many times the high-water mark plus what loopback TCP buffers. */
const READ_BLOCKS = 1024;
let stack: Stack;
let server: IscsiServer;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 2 ** 17, blockSize: BLOCK }), queueSize: 256 });
  server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], queueAllowance: 400 });
});
afterAll(async () => {
  await server.close();
  await stack.close();
});

const read10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x28, 0, lba >>> 24, (lba >> 16) & 0xff, (lba >> 8) & 0xff, lba & 0xff, 0, blocks >> 8, blocks & 0xff, 0);
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a connection whose initiator stops reading', () => {
  it('runs no more READs once its unsent output and READs at the unit pass the high-water mark; every one is answered once the initiator reads', async () => {
    const a = await TestInitiator.connect(server.address.port);
    const login = await a.login(IQN);
    expect(login.bhs[36]).toBe(0);
    // The new I_T nexus's UNIT ATTENTION (29h/00h) goes to this TEST UNIT READY, not to a READ below.
    const tur = a.command({ cdb: new Uint8Array(6), edtl: 0 });
    expect((await a.next((p) => opcodeOf(p) === 0x21 && field32(p, 16) === tur)).bhs[3]).toBe(2);
    const window = field32(login, 32) - field32(login, 28);
    const n = Math.min(window, 400);
    // A window this deep holds n × 512 KiB of answers; the kernel's loopback buffers take a few MiB of them.
    expect(n * READ_BLOCKS * BLOCK).toBeGreaterThan(4 * DATA_IN_HIGH_WATER);
    const before = stack.stats(0).completed;
    a.socket.pause();
    const itts: number[] = [];
    for (let i = 0; i < n; i++) itts.push(a.command({ cdb: read10((i * READ_BLOCKS) % (2 ** 17 - READ_BLOCKS), READ_BLOCKS), read: true, edtl: READ_BLOCKS * BLOCK }));
    await settle(500);
    const executed = stack.stats(0).completed - before;
    // Executed: what fills the high-water mark (64 READs of 512 KiB) and loopback's buffers, not the whole window.
    expect(executed).toBeGreaterThan(0);
    expect(executed).toBeLessThan(n / 2);
    await settle(300);
    expect(stack.stats(0).completed - before).toBe(executed);

    a.socket.resume();
    const statuses = new Map<number, number>();
    const done = (p: RawPdu): boolean => opcodeOf(p) === 0x21 || (opcodeOf(p) === 0x25 && ((p.bhs[1] ?? 0) & 0x01) !== 0);
    while (statuses.size < n) {
      const p = await a.next(done, 10_000);
      statuses.set(field32(p, 16), p.bhs[3] ?? -1);
    }
    expect([...statuses.keys()].sort((x, y) => x - y)).toEqual(itts);
    expect(new Set(statuses.values())).toEqual(new Set([0]));
    expect(stack.stats(0).completed - before).toBe(n);
    a.close();
  });
});

describe('IscsiServerOptions.dataInHighWater', () => {
  it('a lower limit lets fewer READs run for an initiator that stops reading; every one is still answered', async () => {
    const low = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], queueAllowance: 400, dataInHighWater: 2 ** 20 });
    try {
      const a = await TestInitiator.connect(low.address.port);
      expect((await a.login(IQN)).bhs[36]).toBe(0);
      const tur = a.command({ cdb: new Uint8Array(6), edtl: 0 });
      await a.next((p) => opcodeOf(p) === 0x21 && field32(p, 16) === tur);
      const n = 200;
      const before = stack.stats(0).completed;
      a.socket.pause();
      for (let i = 0; i < n; i++) a.command({ cdb: read10((i * READ_BLOCKS) % (2 ** 17 - READ_BLOCKS), READ_BLOCKS), read: true, edtl: READ_BLOCKS * BLOCK });
      await settle(500);
      // 1 MiB is two READs of 512 KiB, past what loopback's buffers take: at 32 MiB the same load runs about 70.
      const executed = stack.stats(0).completed - before;
      expect(executed).toBeGreaterThan(0);
      expect(executed).toBeLessThan(40);
      a.socket.resume();
      const done = (p: RawPdu): boolean => opcodeOf(p) === 0x21 || (opcodeOf(p) === 0x25 && ((p.bhs[1] ?? 0) & 0x01) !== 0);
      for (let answered = 0; answered < n; answered++) expect((await a.next(done, 10_000)).bhs[3]).toBe(0);
      a.close();
    } finally {
      await low.close();
    }
  });

  it.each([0, -1, 1.5, Number.NaN])('%s is a RangeError from listen', async (dataInHighWater) => {
    await expect(IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], dataInHighWater })).rejects.toThrow(
      new RangeError(`iSCSI server: dataInHighWater must be a positive whole number of bytes, got ${dataInHighWater}`),
    );
  });
});

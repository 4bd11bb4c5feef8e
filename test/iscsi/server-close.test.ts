// IscsiServer.close() with connections open: each connection's responses go out, then it closes on the
// peer's FIN, read although the connection stopped taking commands, or after a grace period if the peer
// keeps its side open or stopped reading. A paused socket reads no FIN and holds no event loop, so a
// `vtcam serve` awaiting close() used to exit unsettled (status 13) instead of flushing its image. While
// close() waits for the tasks, the Data-Out they are owed is still read (RFC 7143 §11.8: the initiator
// answers an R2T with it); new commands are not taken.

import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer, type IscsiServerOptions } from '../../src/iscsi/server.js';
import { TestInitiator, field32, ittOf, opcodeOf } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:server-close';
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function serve(blocks = 64, log: string[] = [], timers: IscsiServerOptions['timers'] = {}): Promise<IscsiServer> {
  stack = await createStack({ backend: new MemoryBackend({ blocks, blockSize: 512 }), queueSize: 16 });
  return IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], log: (l) => log.push(l), timers });
}

function dial(port: number, allowHalfOpen: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen }, () => {
      resolve(s);
    });
    s.on('error', reject);
  });
}

describe('IscsiServer.close() with connections open', () => {
  it('a peer that sends more and closes on our FIN: close() resolves at once, well inside the 2 s grace period', async () => {
    const server = await serve();
    const peer = await dial(server.address.port, false);
    const closed = new Promise<void>((resolve) => peer.once('close', () => {
      resolve();
    }));
    const t0 = Date.now();
    const closing = server.close();
    // Bytes that reach the connection after it stopped taking commands (half a header: never a command) sit
    // ahead of the peer's FIN.
    peer.write(new Uint8Array(20));
    await closing;
    expect(Date.now() - t0).toBeLessThan(1000);
    await closed;
  });

  it('a peer that keeps its side open: close() resolves once the grace period has passed, the socket destroyed', async () => {
    const server = await serve();
    const peer = await dial(server.address.port, true);
    const ended = new Promise<void>((resolve) => peer.once('end', () => {
      resolve();
    }));
    const t0 = Date.now();
    await server.close();
    const took = Date.now() - t0;
    await ended;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4000);
    peer.destroy();
  });
});

/** R2T (RFC 7143 §11.8). */
const R2T = 0x31;
/** READ (10) (SBC-4) of `blocks` blocks at LBA 0. */
const read10 = (blocks: number): Uint8Array => Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, blocks >> 8, blocks & 0xff, 0);
/** WRITE (10) (SBC-4) of `blocks` blocks at `lba` (< 256). */
const write10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, blocks, 0);

/** A session on `server` (InitialR2T=Yes), its power-on unit attention taken. */
async function session(server: IscsiServer): Promise<TestInitiator> {
  const ini = await TestInitiator.connect(server.address.port);
  expect((await ini.login(IQN)).bhs[36]).toBe(0);
  expect((await ini.result(ini.command({ cdb: new Uint8Array(6), edtl: 0 }))).status).toBe(2);
  return ini;
}

/** A WRITE (10) of 4 blocks at `lba` without immediate data, waiting at its R2T: its ITT and Target Transfer Tag. */
async function writeAtR2t(ini: TestInitiator, lba: number): Promise<{ itt: number; ttt: number }> {
  const itt = ini.command({ cdb: write10(lba, 4), write: true, edtl: 2048 });
  const r2t = await ini.next((p) => opcodeOf(p) === R2T && ittOf(p) === itt);
  return { itt, ttt: field32(r2t, 20) };
}

async function block(lba: number): Promise<number[]> {
  if (stack === undefined) throw new Error('no stack');
  return [...(await stack.da(0).read(BigInt(lba), 1)).subarray(0, 4)];
}

describe('IscsiServer.close() while a WRITE waits for its Data-Out', () => {
  it('the Data-Out sent after close() began is taken: the WRITE ends GOOD, its data is written, close() resolves at once', async () => {
    const server = await serve();
    const ini = await session(server);
    const w = await writeAtR2t(ini, 10);
    const t0 = Date.now();
    const closing = server.close();
    ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(2048).fill(0xab), final: true });
    expect((await ini.result(w.itt)).status).toBe(0);
    await closing;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await block(10)).toEqual([0xab, 0xab, 0xab, 0xab]);
    await ini.closedWithin();
  });

  it('a command sent after close() began is not taken: no response, nothing written; the WRITE before it completes', async () => {
    const server = await serve();
    const ini = await session(server);
    const w = await writeAtR2t(ini, 10);
    const closing = server.close();
    const late = ini.command({ cdb: write10(20, 1), write: true, edtl: 512, data: new Uint8Array(512).fill(0xcd) });
    ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(2048).fill(0xab), final: true });
    expect((await ini.result(w.itt)).status).toBe(0);
    await closing;
    await ini.closedWithin();
    expect(await ini.silence((p) => ittOf(p) === late, 0)).toBe(true);
    expect(await block(20)).toEqual([0, 0, 0, 0]);
  });

  it('Data-Out that never comes: the WRITE ends unanswered after the 2 s grace, nothing written, close() resolves', async () => {
    const log: string[] = [];
    const server = await serve(64, log);
    const ini = await session(server);
    const port = ini.socket.localPort ?? 0;
    const w = await writeAtR2t(ini, 10);
    const t0 = Date.now();
    await server.close();
    const took = Date.now() - t0;
    // The grace is the Data-Out watchdog's at close: ended between one and one and a half of it after the last Data-Out.
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4000);
    await ini.closedWithin();
    expect(await ini.silence((p) => ittOf(p) === w.itt, 0)).toBe(true);
    expect(await block(10)).toEqual([0, 0, 0, 0]);
    expect(log.filter((l) => l.includes('closing'))).toEqual([`iscsi: 127.0.0.1:${port}: closing: 1 task(s) ended without a response: the Data-Out they were owed stopped for 2 s, or was not all in 60 s after the close began`]);
  });

  it('Data-Out that trickles (4 bytes every 500 ms, never the last): the WRITE ends unanswered at the Data-Out timeout after close() began', async () => {
    const log: string[] = [];
    const server = await serve(64, log, { pingTimeoutMs: 3000 });
    const ini = await session(server);
    const w = await writeAtR2t(ini, 10);
    let dataSN = 0;
    // Each PDU moves the burst on, so the 2 s quiet rule alone would wait for the last of its 512 (256 s).
    const trickle = setInterval(() => {
      ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN, offset: dataSN * 4, data: new Uint8Array(4).fill(0xab), final: false });
      dataSN++;
    }, 500);
    try {
      const t0 = Date.now();
      await server.close();
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(2900);
      expect(took).toBeLessThan(6000);
    } finally {
      clearInterval(trickle);
    }
    await ini.closedWithin();
    expect(await ini.silence((p) => ittOf(p) === w.itt, 0)).toBe(true);
    expect(await block(10)).toEqual([0, 0, 0, 0]);
    expect(log.filter((l) => l.includes('closing'))).toHaveLength(1);
  });
});

describe('IscsiServer.close() with a peer that reads slowly', () => {
  it('four READs of 2 MiB, read at about 1.3 MB/s: every one is answered in full before the socket goes', async () => {
    const server = await serve(16384);
    const ini = await session(server);
    // After each chunk the peer stops reading for 50 ms: it takes what comes, slowly.
    ini.socket.on('data', () => {
      ini.socket.pause();
      setTimeout(() => ini.socket.resume(), 50);
    });
    const itts = [0, 1, 2, 3].map((i) => ini.command({ cdb: Uint8Array.of(0x28, 0, 0, 0, (i * 4096) >> 8, 0, 0, 0x10, 0, 0), read: true, edtl: 4096 * 512 }));
    await new Promise((r) => setTimeout(r, 200));
    const closing = server.close();
    const answers = await Promise.all(itts.map((itt) => ini.result(itt, 30_000)));
    expect(answers.map((a) => [a.status, a.data.length])).toEqual(itts.map(() => [0, 4096 * 512]));
    await closing;
  }, 40_000);
});

describe('IscsiServer.close() with a peer that stopped reading', () => {
  it('several MiB of Data-In unsent: close() resolves at the ping timeout, not when the peer reads', async () => {
    const server = await serve(4096, [], { pingTimeoutMs: 3000 });
    const ini = await session(server);
    ini.socket.pause();
    for (let i = 0; i < 8; i++) ini.command({ cdb: read10(2048), read: true, edtl: 2048 * 512 });
    // The READs have reached the target and their Data-In fills the socket.
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await server.close();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(2900);
    expect(took).toBeLessThan(5000);
    ini.close();
  });
});

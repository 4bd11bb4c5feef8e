// IscsiServer.close() with connections open: each connection's responses go out, then it closes on the
// peer's FIN, read although the connection stopped taking commands, or after a grace period if the peer
// keeps its side open. A paused socket reads no FIN and holds no event loop, so a `vtcam serve` awaiting
// close() used to exit unsettled (status 13) instead of flushing its image.

import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';

const IQN = 'iqn.2026-11.org.vtcam:server-close';
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function serve(): Promise<IscsiServer> {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16 });
  return IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], log: () => undefined });
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

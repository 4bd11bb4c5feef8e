// IscsiServerOptions.connectionLimit: a portal serves at most that many TCP
// connections at once. One more is closed as it is accepted, before anything
// of it is read, and logged with its address and what to do; a place freed
// (its socket gone) takes the next one. Every connection holds a socket and
// buffers, so without the limit a peer opening connections grows the process
// without bound (the login timeout only bounds how long each one lives).

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:connection-limit';
let stack: Stack;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16 });
});
afterAll(async () => {
  await stack.close();
});

const targets = (): { name: string; luns: { lun: number; pass: ReturnType<Stack['pass']> }[] }[] => [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }];

describe('IscsiServerOptions.connectionLimit', () => {
  it('past the limit a connection is closed as it is accepted and logged once; a freed place takes the next', async () => {
    const log: string[] = [];
    const server = await IscsiServer.listen({ port: 0, targets: targets(), connectionLimit: 2, log: (l) => log.push(l) });
    const { port } = server.address;
    const a = await TestInitiator.connect(port);
    const b = await TestInitiator.connect(port);
    await vi.waitFor(() => {
      expect(server.connections).toBe(2);
    });
    const refused = await TestInitiator.connect(port);
    const peer = `127.0.0.1:${refused.socket.localPort ?? -1}`;
    await refused.closedWithin();
    expect(server.connections).toBe(2);
    expect(log.filter((l) => l.includes('refused'))).toEqual([
      `iscsi: ${peer}: connection refused: 2 connections open, the limit (connectionLimit, vtcam serve --max-connections); raise it to serve more`,
    ]);
    // The ones inside the limit are served.
    expect((await a.login(IQN)).bhs[36]).toBe(0);
    b.close();
    await vi.waitFor(() => {
      expect(server.connections).toBe(1);
    });
    const c = await TestInitiator.connect(port);
    expect((await c.login(IQN)).bhs[36]).toBe(0);
    expect(server.connections).toBe(2);
    a.close();
    c.close();
    await server.close();
    await vi.waitFor(() => {
      expect(server.connections).toBe(0);
    });
  });

  it('the package entry exports the default, 1024', async () => {
    const api = await import('../../src/index.js');
    expect(api.DEFAULT_CONNECTION_LIMIT).toBe(1024);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('%s is a RangeError, and no portal opens', async (connectionLimit) => {
    await expect(IscsiServer.listen({ port: 0, targets: targets(), connectionLimit })).rejects.toThrow(
      new RangeError(`iSCSI server: connectionLimit must be a whole number of at least 1, got ${connectionLimit}`),
    );
  });
});

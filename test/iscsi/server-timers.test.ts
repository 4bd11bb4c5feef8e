// IscsiServerOptions.timers are checked when the portal opens. A timer a
// connection cannot keep used to fail only later: a ping timeout of 0 made
// every login stall once it reached full feature phase (the session's
// Data-Out watchdog refused it), and a delay past Node's timer range fires
// after 1 ms instead of never.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { DEFAULT_TIMERS, connectionTimers, type ConnectionTimers } from '../../src/iscsi/connection-types.js';
import { TestInitiator } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:timers';
const MAX = 2 ** 31 - 1;
let stack: Stack;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16 });
});
afterAll(async () => {
  await stack.close();
});

const targets = (): { name: string; luns: { lun: number; pass: ReturnType<Stack['pass']> }[] }[] => [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }];

describe('IscsiServerOptions.timers', () => {
  it.each<[keyof ConnectionTimers, number, number]>([
    ['pingTimeoutMs', 0, 1],
    ['pingTimeoutMs', -1, 1],
    ['pingTimeoutMs', Number.NaN, 1],
    ['loginTimeoutMs', 0, 1],
    ['loginTimeoutMs', MAX + 1, 1],
    ['pingIntervalMs', -5, 0],
    ['pingIntervalMs', Number.POSITIVE_INFINITY, 0],
  ])('%s %s is a RangeError and no portal opens', async (name, value, min) => {
    await expect(IscsiServer.listen({ port: 0, targets: targets(), timers: { [name]: value } })).rejects.toThrow(
      new RangeError(`iSCSI server: timers.${name} must be ${min}..${MAX} ms, got ${value}`),
    );
  });

  it('fills what is left out from the defaults; pingIntervalMs 0 (never ping) and the largest delay are taken', () => {
    expect(connectionTimers()).toEqual(DEFAULT_TIMERS);
    expect(DEFAULT_TIMERS).toEqual({ pingIntervalMs: 30_000, pingTimeoutMs: 60_000, loginTimeoutMs: 15_000 });
    expect(connectionTimers({ pingIntervalMs: 0, loginTimeoutMs: MAX })).toEqual({ pingIntervalMs: 0, pingTimeoutMs: 60_000, loginTimeoutMs: MAX });
  });

  it('a portal with short timers in range logs a session in', async () => {
    const server = await IscsiServer.listen({ port: 0, targets: targets(), timers: { pingTimeoutMs: 1, pingIntervalMs: 0 } });
    const a = await TestInitiator.connect(server.address.port);
    expect((await a.login(IQN)).bhs[36]).toBe(0);
    a.close();
    await server.close();
  });
});

describe('loginTimeoutMs', () => {
  it('a connection that has not finished its login by then is closed and logged; one that finished is kept', async () => {
    const log: string[] = [];
    const server = await IscsiServer.listen({ port: 0, targets: targets(), timers: { loginTimeoutMs: 150 }, log: (l) => log.push(l) });
    const silent = await TestInitiator.connect(server.address.port);
    const peer = `127.0.0.1:${silent.socket.localPort ?? -1}`;
    const done = await TestInitiator.connect(server.address.port);
    expect((await done.login(IQN)).bhs[36]).toBe(0);
    await silent.closedWithin(2000);
    expect(log).toContain(`iscsi: ${peer}: closing connection: login timed out`);
    // Past the login timeout the logged-in connection still answers.
    await new Promise((r) => setTimeout(r, 200));
    expect(log.filter((l) => l.includes('login timed out'))).toHaveLength(1);
    expect(server.connections).toBe(1);
    done.close();
    await server.close();
  });
});

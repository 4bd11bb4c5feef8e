// A fault inside the target while it handles what a peer sent (a bug, not
// the peer's doing) ends that connection at once, logged; the portal still
// hears that it closed, and nothing escapes to the process.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IscsiConnection } from '../../src/iscsi/connection.js';
import { TargetLogin } from '../../src/iscsi/login.js';
import type { ConnectionHost } from '../../src/iscsi/connection-types.js';
import { env } from './login-harness.js';

const TIMERS = { pingIntervalMs: 0, pingTimeoutMs: 1000, loginTimeoutMs: 5000 };

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** A loopback pair: the server side wrapped in an IscsiConnection over `host`, the client side returned. */
async function pair(host: (conn: () => IscsiConnection | undefined) => ConnectionHost): Promise<{ client: Socket; conn: () => IscsiConnection | undefined }> {
  let made: IscsiConnection | undefined;
  const accepted = new Promise<void>((resolve) => {
    server = createServer((s) => {
      made = new IscsiConnection(s, host(() => made), TIMERS);
      resolve();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server?.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  const client = connect(address.port, '127.0.0.1');
  await accepted;
  return { client, conn: () => made };
}

/**
 * A connection over a host that faults whenever the connection reports traffic (`touched`), and also when
 * told the connection closed if `closingFaults`, fed `bytes` by its peer; resolves once the peer sees the
 * connection end, with what the host was told.
 */
async function faultOn(bytes: Uint8Array, closingFaults = false): Promise<{ logs: string[]; closed: unknown[] }> {
  const logs: string[] = [];
  const closed: unknown[] = [];
  const { client } = await pair(() => ({
    login: () => new TargetLogin(env()),
    attach: () => {
      throw new Error('not reached');
    },
    closed: (c) => {
      closed.push(c);
      if (closingFaults) throw new Error('a second bug, while closing');
    },
    touched: () => {
      throw new Error('a bug below the connection');
    },
    log: (line) => logs.push(line),
  }));
  const ended = new Promise<void>((resolve) => client.on('close', () => { resolve(); }));
  client.on('error', () => undefined);
  // Reading, so that the end of the connection is seen.
  client.resume();
  client.write(bytes);
  await ended;
  return { logs, closed };
}

describe('IscsiConnection: a fault while handling input', () => {
  it('ends that connection, logged, and nothing escapes to the process', async () => {
    // A NOP-Out (opcode 0) during login drops the connection; its last flush then meets the fault, which ends it at once.
    const { logs, closed } = await faultOn(new Uint8Array(48));
    expect(closed).toHaveLength(1);
    expect(logs).toHaveLength(2);
    expect(logs[1]).toMatch(/closing connection: internal error: Error: a bug below the connection/);
  });

  it('a fault before anything was answered ends the connection the same way, the portal told once', async () => {
    // Part of a header: nothing to answer yet, and the host fails as the connection takes the bytes in.
    const { logs, closed } = await faultOn(new Uint8Array(10));
    expect(closed).toHaveLength(1);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/closing connection: internal error: Error: a bug below the connection/);
  });

  it('a second fault while closing is logged too, and the connection still ends', async () => {
    const { logs, closed } = await faultOn(new Uint8Array(10), true);
    expect(closed).toHaveLength(1);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatch(/closing connection: internal error: Error: a bug below the connection/);
    expect(logs[1]).toMatch(/internal error while closing: Error: a second bug, while closing/);
  });
});

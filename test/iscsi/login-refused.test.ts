// A refused login ends the connection (RFC 7143 §11.13.5: a Login Response
// with a non-zero Status-Class ends the login, and the target closes the
// TCP connection). The refusal goes out first; what the peer sends after it
// is never answered, and a peer that keeps its side open and goes on sending
// is cut off after the grace period, so no one without a valid login can hold
// connections open. PDUs are built from RFC 7143's tables (initiator.ts).

import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { bhsOf, pdu, text } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:login-refused';
let stack: Stack | undefined;
let server: IscsiServer | undefined;
afterEach(async () => {
  await server?.close();
  await stack?.close();
  server = undefined;
  stack = undefined;
});

/** Login Request (§11.12), immediate, T 1, CSG 0 → NSG 1, ISID, ITT 1, CmdSN 1, for target `name`. */
const loginTo = (name: string): Uint8Array =>
  pdu(
    bhsOf([[0, 0x03 | 0x40, 1], [1, 0x80 | 0x01, 1], [8, 0x23d0_0000_0031n, 8], [16, 1, 4], [24, 1, 4]]),
    text({ InitiatorName: 'iqn.2026-11.org.vtcam:test-initiator', TargetName: name, SessionType: 'Normal', AuthMethod: 'None' }),
  );
/** NOP-Out (§11.18), immediate, ITT 2, TTT reserved: a ping that full feature phase would answer. */
const nopOut = pdu(bhsOf([[0, 0x00 | 0x40, 1], [1, 0x80, 1], [16, 2, 4], [20, 0xffffffff, 4], [24, 1, 4]]));

/** A raw connection to the server that keeps its side open on the target's FIN (allowHalfOpen), and what it received. */
async function dial(): Promise<{ peer: Socket; received: Buffer[]; closed: Promise<void> }> {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16 });
  server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], log: () => undefined });
  const port = server.address.port;
  const peer = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  peer.on('error', () => undefined);
  const received: Buffer[] = [];
  peer.on('data', (c: Buffer) => received.push(c));
  const closed = new Promise<void>((resolve) => peer.once('close', () => {
    resolve();
  }));
  return { peer, received, closed };
}

/** Exactly one Login Response (opcode 23h) with Status-Class 02h, Status-Detail 03h (not found), no data segment. */
function onlyTheRefusal(received: readonly Buffer[]): void {
  const all = Buffer.concat(received);
  expect(all.length).toBe(48);
  expect([(all[0] ?? 0) & 0x3f, all[36], all[37]]).toEqual([0x23, 0x02, 0x03]);
}

describe('a refused login', () => {
  it('(02h/03h, no such target) ends the connection: a peer that keeps its side open and trickles bytes is cut off after the grace period', async () => {
    const { peer, received, closed } = await dial();
    const t0 = Date.now();
    peer.write(loginTo('iqn.2026-11.org.vtcam:no-such-target'));
    const trickle = setInterval(() => {
      if (!peer.destroyed) peer.write(Uint8Array.of(0));
    }, 100);
    try {
      await closed;
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - t0).toBeLessThan(4000);
    onlyTheRefusal(received);
  });

  it('a Login Request whose data segment is over the 8192 bytes a login may carry (§13.12) is refused 02h/00h, not Rejected', async () => {
    const { peer, received } = await dial();
    const ended = new Promise<void>((resolve) => peer.once('end', () => {
      resolve();
    }));
    // Login Request as loginTo's, ITT 0x1234, with a 9000-byte data segment (never parsed: the reader skips it).
    peer.write(pdu(bhsOf([[0, 0x03 | 0x40, 1], [1, 0x80 | 0x01, 1], [8, 0x23d0_0000_0032n, 8], [16, 0x1234, 4], [24, 1, 4]]), new Uint8Array(9000).fill(0x41)));
    await ended;
    peer.destroy();
    const all = Buffer.concat(received);
    // One Login Response (23h): ITT echoed at 16, Status-Class 02h, Status-Detail 00h; no Reject (3Fh) before it.
    expect(all.length).toBe(48);
    expect([(all[0] ?? 0) & 0x3f, all.readUInt32BE(16), all[36], all[37]]).toEqual([0x23, 0x1234, 0x02, 0x00]);
  });

  it('answers nothing that comes after the refusal', async () => {
    const { peer, received } = await dial();
    peer.write(loginTo('iqn.2026-11.org.vtcam:no-such-target'));
    peer.write(nopOut);
    await new Promise((r) => setTimeout(r, 300));
    onlyTheRefusal(received);
    peer.destroy();
  });
});

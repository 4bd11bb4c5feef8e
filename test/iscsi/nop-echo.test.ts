// The NOP-In answering an initiator's ping (RFC 7143 §11.19) carries up to the
// first MaxRecvDataSegmentLength bytes of the ping data: the initiator's, as
// declared at login or later by Text (§13.12), in normal and discovery
// sessions alike. PDUs are built from RFC 7143's tables (initiator.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator, bhsOf, ittOf, opcodeOf, pdu, text } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:nop-echo';
/** NOP-In and Text Response opcodes (§11.2.1.2). */
const NOP_IN = 0x20;
const TEXT_RESPONSE = 0x24;
let stack: Stack;
let server: IscsiServer;
const opened: TestInitiator[] = [];

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16 });
  server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }] });
});
afterAll(async () => {
  for (const s of opened) s.close();
  await server.close();
  await stack.close();
});

const ping = Uint8Array.from({ length: 4000 }, (_, i) => (i * 11) & 0xff);

/** Sends an immediate NOP-Out (§11.18) with ITT `itt`, TTT reserved and `data`; resolves with the NOP-In's data. */
async function echo(ini: TestInitiator, itt: number, data: Uint8Array): Promise<Uint8Array> {
  ini.send(pdu(bhsOf([[0, 0x00 | 0x40, 1], [1, 0x80, 1], [16, itt, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]]), data));
  return (await ini.next((p) => opcodeOf(p) === NOP_IN && ittOf(p) === itt)).data;
}

async function session(target: string | undefined, keys: Record<string, string>): Promise<TestInitiator> {
  const ini = await TestInitiator.connect(server.address.port);
  opened.push(ini);
  expect((await ini.login(target, keys)).bhs[36]).toBe(0);
  return ini;
}

describe('the NOP-In echo of a ping', () => {
  it('is the whole ping data when it fits the initiator’s MaxRecvDataSegmentLength', async () => {
    const ini = await session(IQN, { MaxRecvDataSegmentLength: '8192' });
    expect(await echo(ini, 1, ping)).toEqual(ping);
  });

  it('is cut to the MaxRecvDataSegmentLength the initiator declared at login, in a normal session and a discovery one', async () => {
    for (const target of [IQN, undefined]) {
      const ini = await session(target, { MaxRecvDataSegmentLength: '512' });
      expect(await echo(ini, 2, ping)).toEqual(ping.subarray(0, 512));
    }
  });

  it('follows a MaxRecvDataSegmentLength declared later by Text (§13.12)', async () => {
    const ini = await session(IQN, { MaxRecvDataSegmentLength: '8192' });
    // Text Request (§11.10), immediate, F: byte 1 80h, ITT, TTT reserved, CmdSN, ExpStatSN.
    ini.send(pdu(bhsOf([[0, 0x04 | 0x40, 1], [1, 0x80, 1], [16, 3, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]]), text({ MaxRecvDataSegmentLength: '1024' })));
    await ini.next((p) => opcodeOf(p) === TEXT_RESPONSE && ittOf(p) === 3);
    expect(await echo(ini, 4, ping)).toEqual(ping.subarray(0, 1024));
  });
});

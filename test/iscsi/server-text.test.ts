// Text Requests continued with the C bit in full feature phase, end to end
// over loopback TCP (RFC 7143 §11.10.2, §6.2): each C=1 part is answered with
// an empty Text Response, read here by the byte offsets of §11.11, and the
// joined text once the last part arrives; an exchange left open is dropped
// after the ping timeout (§11.11.4).

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, parseText, pdu, type RawPdu } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:text';
const OTHER = 'iqn.2026-11.org.vtcam:text-other';
let stack: Stack;
let otherStack: Stack;
let server: IscsiServer;
let port: number;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 1024, blockSize: 512 }), queueSize: 32 });
  // A device per target: one device in two targets is refused (server-targets.test.ts).
  otherStack = await createStack({ backend: new MemoryBackend({ blocks: 1024, blockSize: 512 }), queueSize: 32 });
  server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }, { name: OTHER, luns: [{ lun: 0, pass: otherStack.pass(0) }] }] });
  port = server.address.port;
});

afterAll(async () => {
  await server.close();
  await stack.close();
  await otherStack.close();
});

const RESERVED = 0xffffffff;
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A Text Request (§11.10): byte 0 I|04h, byte 1 F (80h) | C (40h), ITT at 16, TTT at 20, CmdSN at 24,
 * ExpStatSN at 28. A non-immediate one takes the next CmdSN.
 */
function textRequest(ini: TestInitiator, o: { itt: number; ttt?: number; final: boolean; cont: boolean; immediate?: boolean; data: string }): void {
  const immediate = o.immediate ?? true;
  const b = bhsOf([
    [0, (immediate ? 0x40 : 0) | 0x04, 1],
    [1, (o.final ? 0x80 : 0) | (o.cont ? 0x40 : 0), 1],
    [16, o.itt, 4],
    [20, o.ttt ?? RESERVED, 4],
    [24, ini.cmdSN, 4],
    [28, ini.expStatSN, 4],
  ]);
  if (!immediate) ini.cmdSN = (ini.cmdSN + 1) >>> 0;
  ini.send(pdu(b, ascii(o.data)));
}

/** The next Text Response or Reject; a Text Response moves ExpStatSN on. */
async function answer(ini: TestInitiator): Promise<RawPdu> {
  const r = await ini.next((p) => opcodeOf(p) === 0x24 || opcodeOf(p) === 0x3f);
  if (opcodeOf(r) === 0x24) ini.expStatSN = (field32(r, 24) + 1) >>> 0;
  return r;
}

/** §11.11 header of the empty answer to a C=1 part: F=0 and C=0, no data, a TTT to quote, the next StatSN. */
function expectEmptyPart(r: RawPdu, itt: number, statSN: number, expCmdSN: number): number {
  expect(opcodeOf(r)).toBe(0x24);
  expect(r.bhs[1]).toBe(0x00); // byte 1: F (bit 7) = 0, C (bit 6) = 0
  expect([r.bhs[4], r.bhs[5], r.bhs[6], r.bhs[7]]).toEqual([0, 0, 0, 0]); // TotalAHSLength, DataSegmentLength
  expect(r.data.length).toBe(0);
  expect(field32(r, 16)).toBe(itt); // Initiator Task Tag
  const ttt = field32(r, 20); // Target Transfer Tag: not 0xffffffff while F=0 (§11.11.1, §11.11.4)
  expect(ttt).not.toBe(RESERVED);
  expect(field32(r, 24)).toBe(statSN); // StatSN
  expect(field32(r, 28)).toBe(expCmdSN); // ExpCmdSN
  expect((field32(r, 32) - field32(r, 28)) | 0).toBeGreaterThanOrEqual(0); // MaxCmdSN: the window stays open
  return ttt;
}

/** The last part (C=0, F=1) of the exchange `itt`: the answer is final, F=1 and TTT 0xffffffff (§11.11.1). */
async function lastPart(ini: TestInitiator, o: { itt: number; ttt?: number; immediate?: boolean; data: string }): Promise<RawPdu> {
  textRequest(ini, { ...o, final: true, cont: false });
  const r = await answer(ini);
  expect(opcodeOf(r)).toBe(0x24);
  expect(r.bhs[1]).toBe(0x80); // F = 1, C = 0
  expect(ittOf(r)).toBe(o.itt);
  expect(field32(r, 20)).toBe(RESERVED);
  return r;
}

/** A discovery session whose first Text Request part (C=1) got its empty answer: the initiator and the TTT to quote. */
async function discoveryFirstPart(itt: number, data: string): Promise<{ ini: TestInitiator; ttt: number; statSN: number }> {
  const ini = await TestInitiator.connect(port);
  await ini.login(undefined);
  const statSN = ini.expStatSN;
  textRequest(ini, { itt, final: false, cont: true, data });
  return { ini, ttt: expectEmptyPart(await answer(ini), itt, statSN, ini.cmdSN), statSN };
}

describe('a Text Request continued with the C bit (RFC 7143 §11.10.2, §6.2)', () => {
  it('discovery: SendTargets=All cut mid-key over two requests gets an empty response, then the full answer', async () => {
    const { ini, ttt, statSN } = await discoveryFirstPart(0x77, 'SendTar');
    const r = await lastPart(ini, { itt: 0x77, ttt, data: 'gets=All\0' });
    expect(field32(r, 24)).toBe((statSN + 1) >>> 0);
    const address = `TargetAddress=127.0.0.1:${port},1`;
    expect(new TextDecoder().decode(r.data)).toBe(`TargetName=${IQN}\0${address}\0TargetName=${OTHER}\0${address}\0`);
    ini.close();
  });

  it('normal session: the parts are ordered by CmdSN (non-immediate), a complete pair with C=1 waits for the rest', async () => {
    const ini = await TestInitiator.connect(port);
    await ini.login(IQN);
    const statSN = ini.expStatSN;
    const cmdSN = ini.cmdSN;
    textRequest(ini, { itt: 0x78, final: false, cont: true, immediate: false, data: 'X-foo=1\0Send' });
    const ttt = expectEmptyPart(await answer(ini), 0x78, statSN, (cmdSN + 1) >>> 0);
    const r = await lastPart(ini, { itt: 0x78, ttt, immediate: false, data: 'Targets=All\0' });
    expect(field32(r, 28)).toBe((cmdSN + 2) >>> 0);
    // A normal session's SendTargets names its own target only (§13.3 / Appendix C).
    expect(parseText(r.data)).toEqual({ TargetName: IQN, TargetAddress: `127.0.0.1:${port},1`, 'X-foo': 'NotUnderstood' });
    ini.close();
  });

  it('C=1 with F=1 is Reject 09h carrying the header; the exchange under way still completes', async () => {
    const { ini, ttt } = await discoveryFirstPart(0x79, 'SendTargets');
    textRequest(ini, { itt: 0x79, ttt, final: true, cont: true, data: '=All' });
    const rej = await answer(ini);
    // Reject (§11.17): opcode 3Fh, reason at byte 2, the rejected BHS as data (its byte 1 F|C, its ITT at 16).
    expect([opcodeOf(rej), rej.bhs[2], rej.data[1], field32({ bhs: rej.data, data: rej.data }, 16)]).toEqual([0x3f, 0x09, 0xc0, 0x79]);
    const r = await lastPart(ini, { itt: 0x79, ttt, data: '=All\0' });
    expect(parseText(r.data)['TargetAddress']).toBe(`127.0.0.1:${port},1`);
    ini.close();
  });

  it('a part with TTT 0xffffffff starts a new request (§11.10.4): "gets=All" alone is NotUnderstood', async () => {
    const { ini } = await discoveryFirstPart(0x7a, 'SendTar');
    const r = await lastPart(ini, { itt: 0x7a, data: 'gets=All\0' });
    expect(parseText(r.data)).toEqual({ gets: 'NotUnderstood' });
    ini.close();
  });
});

describe('SendTargets values (RFC 7143 Appendix C)', () => {
  /** One whole Text Request `SendTargets=value` on a session logged in to `target` (undefined: discovery); the answer's text. */
  async function sendTargets(target: string | undefined, value: string): Promise<string> {
    const ini = await TestInitiator.connect(port);
    try {
      expect((await ini.login(target)).bhs[36]).toBe(0);
      textRequest(ini, { itt: 0x90, final: true, cont: false, data: `SendTargets=${value}\0` });
      const r = await answer(ini);
      expect(opcodeOf(r)).toBe(0x24);
      return new TextDecoder().decode(r.data);
    } finally {
      ini.close();
    }
  }
  const entry = (name: string): string => `TargetName=${name}\0TargetAddress=127.0.0.1:${port},1\0`;

  it.each([
    ['discovery, All: every target', undefined, 'All', () => entry(IQN) + entry(OTHER)],
    ['discovery, a target name: that target alone', undefined, OTHER, () => entry(OTHER)],
    ['discovery, a name no target has: none', undefined, 'iqn.2026-11.org.vtcam:nobody', () => ''],
    ['discovery, empty: none (no target is the session’s own)', undefined, '', () => ''],
    ['normal, empty: its own target', IQN, '', () => entry(IQN)],
    ['normal, its own name: its own target', IQN, IQN, () => entry(IQN)],
    ['normal, another target’s name: none', IQN, OTHER, () => ''],
  ])('%s', async (_name, target, value, expected) => {
    expect(await sendTargets(target, value)).toBe(expected());
  });
});

describe('a Text exchange the initiator leaves open (RFC 7143 §11.11.4)', () => {
  it('is dropped after the ping timeout and logged; the part that would end it is Reject 09h; the session goes on', async () => {
    const log: string[] = [];
    const quick = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], timers: { pingIntervalMs: 0, pingTimeoutMs: 200 }, log: (l) => log.push(l) });
    try {
      const ini = await TestInitiator.connect(quick.address.port);
      await ini.login(undefined);
      const statSN = ini.expStatSN;
      textRequest(ini, { itt: 0x7b, final: false, cont: true, data: 'SendTar' });
      const ttt = expectEmptyPart(await answer(ini), 0x7b, statSN, ini.cmdSN);
      await vi.waitFor(() => {
        expect(log.filter((l) => l.includes('Text exchange'))).toHaveLength(1);
      });
      expect(log.find((l) => l.includes('Text exchange'))).toMatch(/^iscsi: 127\.0\.0\.1:\d+: Text exchange of ITT 7bh dropped: no next request for 0\.2 s; a part continuing it gets Reject 09h$/);
      textRequest(ini, { itt: 0x7b, ttt, final: true, cont: false, data: 'gets=All\0' });
      const rej = await answer(ini);
      expect([opcodeOf(rej), rej.bhs[2], field32({ bhs: rej.data, data: rej.data }, 16)]).toEqual([0x3f, 0x09, 0x7b]);
      const r = await lastPart(ini, { itt: 0x7c, data: 'SendTargets=All\0' });
      expect(parseText(r.data)['TargetName']).toBe(IQN);
      ini.close();
    } finally {
      await quick.close();
    }
  });
});

// The target's connection-level duties end to end: CHAP at login, CRC32C
// digests once negotiated (a bad data digest is rejected, a bad header digest
// ends the connection), and NOP-In pings of idle connections.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, parseText, pdu } from './initiator.js';

const OPEN = 'iqn.2026-11.org.vtcam:open';
const LOCKED = 'iqn.2026-11.org.vtcam:locked';
const SECRET = 'twelve-chars-plus';
let stack: Stack;
let lockedStack: Stack;
let server: IscsiServer;
let port: number;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 1024, blockSize: 512 }), queueSize: 32 });
  // A device per target: one device in two targets is refused (server-targets.test.ts).
  lockedStack = await createStack({ backend: new MemoryBackend({ blocks: 1024, blockSize: 512 }), queueSize: 32 });
  server = await IscsiServer.listen({
    port: 0,
    targets: [
      { name: OPEN, luns: [{ lun: 0, pass: stack.pass(0) }] },
      { name: LOCKED, luns: [{ lun: 0, pass: lockedStack.pass(0) }], chap: { user: 'alice', secret: SECRET } },
    ],
    timers: { pingIntervalMs: 500, pingTimeoutMs: 300 },
  });
  port = server.address.port;
});

afterAll(async () => {
  await server.close();
  await stack.close();
  await lockedStack.close();
});

const tur = new Uint8Array(6);

/** The security stage with CHAP (RFC 7143 §12.1.3): AuthMethod, CHAP_A, then CHAP_N/CHAP_R. */
async function chapLogin(ini: TestInitiator, secret: string): Promise<{ status: [number, number] }> {
  const base = { InitiatorName: 'iqn.2026-11.org.vtcam:alice-host', SessionType: 'Normal', TargetName: LOCKED };
  ini.send(ini.loginRequest({ transit: false, csg: 0, nsg: 0, keys: { ...base, AuthMethod: 'CHAP' } }));
  const a = await ini.next((p) => opcodeOf(p) === 0x23);
  expect(parseText(a.data)['AuthMethod']).toBe('CHAP');
  ini.send(ini.loginRequest({ transit: false, csg: 0, nsg: 0, keys: { CHAP_A: '5' } }));
  const c = parseText((await ini.next((p) => opcodeOf(p) === 0x23)).data);
  expect(c['CHAP_A']).toBe('5');
  const id = Number(c['CHAP_I']);
  const challenge = Buffer.from((c['CHAP_C'] ?? '').replace(/^0x/i, ''), 'hex');
  // RFC 1994 §4.1: Response = MD5(Identifier ‖ secret ‖ Challenge).
  const r = createHash('md5').update(Uint8Array.of(id)).update(secret).update(challenge).digest('hex');
  ini.send(ini.loginRequest({ transit: true, csg: 0, nsg: 1, keys: { CHAP_N: 'alice', CHAP_R: `0x${r}` } }));
  const done = await ini.next((p) => opcodeOf(p) === 0x23);
  return { status: [done.bhs[36] ?? -1, done.bhs[37] ?? -1] };
}

describe('CHAP', () => {
  it('the right secret passes the security stage', async () => {
    const ini = await TestInitiator.connect(port);
    expect((await chapLogin(ini, SECRET)).status).toEqual([0, 0]);
    ini.close();
  });

  it('a wrong secret is an authentication failure (02h/01h) and the connection ends', async () => {
    const ini = await TestInitiator.connect(port);
    expect((await chapLogin(ini, 'not-the-secret')).status).toEqual([0x02, 0x01]);
    await ini.closedWithin();
  });

  it('AuthMethod=None on a CHAP target is refused 02h/01h', async () => {
    const ini = await TestInitiator.connect(port);
    const r = await ini.login(LOCKED);
    expect([r.bhs[36], r.bhs[37]]).toEqual([0x02, 0x01]);
    await ini.closedWithin();
  });
});

describe('digests', () => {
  async function digestSession(): Promise<TestInitiator> {
    const ini = await TestInitiator.connect(port);
    const r = await ini.login(OPEN, { HeaderDigest: 'CRC32C', DataDigest: 'CRC32C' });
    expect(r.bhs[36]).toBe(0);
    const agreed = parseText(r.data);
    expect([agreed['HeaderDigest'], agreed['DataDigest']]).toEqual(['CRC32C', 'CRC32C']);
    ini.digests = { header: true, data: true };
    return ini;
  }

  it('commands work with both digests on', async () => {
    const ini = await digestSession();
    let status = -1;
    for (let i = 0; i < 3 && status !== 0; i++) status = (await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status;
    expect(status).toBe(0);
    const w = await ini.result(ini.command({ cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0), write: true, edtl: 512, data: new Uint8Array(512).fill(0x5c) }));
    expect(w.status).toBe(0);
    const r = await ini.result(ini.command({ cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0), read: true, edtl: 512 }));
    expect(r.data).toEqual(new Uint8Array(512).fill(0x5c));
    ini.close();
  });

  it('a data digest error drops that PDU with a Reject (reason 02h) and the connection carries on', async () => {
    const ini = await digestSession();
    const bytes = pdu(bhsOf([[0, 0x00 | 0x40, 1], [1, 0x80, 1], [16, 71, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4]]), Uint8Array.of(1, 2, 3, 4), { header: true, data: true });
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    ini.send(bytes);
    const rej = await ini.next((p) => opcodeOf(p) === 0x3f);
    expect(rej.bhs[2]).toBe(0x02);
    expect(await ini.silence((p) => opcodeOf(p) === 0x20 && ittOf(p) === 71, 200)).toBe(true);
    let status = -1;
    for (let i = 0; i < 3 && status !== 0; i++) status = (await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status;
    expect(status).toBe(0);
    ini.close();
  });

  it('a header digest error ends the connection (ERL 0 cannot trust the lengths)', async () => {
    const ini = await digestSession();
    const bytes = pdu(bhsOf([[0, 0x00 | 0x40, 1], [1, 0x80, 1], [16, 72, 4], [20, 0xffffffff, 4]]), new Uint8Array(0), { header: true, data: true });
    bytes[50] = (bytes[50] ?? 0) ^ 0x01;
    ini.send(bytes);
    await ini.closedWithin();
  });
});

describe('NOP-In pings of idle connections', () => {
  it('an idle connection is pinged; answering keeps it open', async () => {
    const ini = await TestInitiator.connect(port);
    await ini.login(OPEN);
    const ping = await ini.next((p) => opcodeOf(p) === 0x20, 2000);
    // NOP-In ping (§11.19): ITT reserved, TTT set — the initiator must answer with a NOP-Out quoting the TTT.
    expect(ittOf(ping)).toBe(0xffffffff);
    const ttt = field32(ping, 20);
    expect(ttt).not.toBe(0xffffffff);
    ini.send(pdu(bhsOf([[0, 0x40, 1], [1, 0x80, 1], [16, 0xffffffff, 4], [20, ttt, 4], [24, ini.cmdSN, 4]])));
    const second = await ini.next((p) => opcodeOf(p) === 0x20, 2000);
    expect(field32(second, 20)).not.toBe(0xffffffff);
    expect(ini.closed).toBe(false);
    ini.close();
  });

  it('a connection that never answers the ping is dropped', async () => {
    const ini = await TestInitiator.connect(port);
    await ini.login(OPEN);
    await ini.next((p) => opcodeOf(p) === 0x20, 2000);
    await ini.closedWithin(2000);
  });
});

describe('long Text Responses', () => {
  it('SendTargets longer than the initiator\'s MaxRecvDataSegmentLength comes in parts (C bit, TTT), each asked for', async () => {
    // Three targets with long names (a device each: one device in two targets is refused) make well over 512 bytes.
    const names = Array.from({ length: 3 }, (_, i) => `iqn.2026-11.org.vtcam:many-targets-for-a-long-answer-${String(i).padStart(2, '0')}-`.padEnd(200, 'x'));
    const exports = await Promise.all(names.map(async (name) => ({ name, stack: await createStack({ backend: new MemoryBackend({ blocks: 1024, blockSize: 512 }), queueSize: 32 }) })));
    const many = await IscsiServer.listen({ port: 0, targets: exports.map(({ name, stack: s }) => ({ name, luns: [{ lun: 0, pass: s.pass(0) }] })) });
    try {
      const ini = await TestInitiator.connect(many.address.port);
      const r = await ini.login(undefined, { MaxRecvDataSegmentLength: '512' });
      expect(r.bhs[36]).toBe(0);
      const textRequest = (itt: number, ttt: number, data: Uint8Array): Uint8Array =>
        pdu(bhsOf([[0, 0x04 | 0x40, 1], [1, 0x80, 1], [16, itt, 4], [20, ttt, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]]), data);
      ini.send(textRequest(900, 0xffffffff, new TextEncoder().encode('SendTargets=All\0')));
      const parts: Uint8Array[] = [];
      for (;;) {
        const p = await ini.next((x) => opcodeOf(x) === 0x24 && ittOf(x) === 900);
        expect(p.data.length).toBeLessThanOrEqual(512);
        parts.push(p.data);
        const final = ((p.bhs[1] ?? 0) & 0x80) !== 0;
        const cont = ((p.bhs[1] ?? 0) & 0x40) !== 0;
        expect(final).toBe(!cont);
        if (final) {
          expect(field32(p, 20)).toBe(0xffffffff);
          break;
        }
        // §11.10.4: the initiator asks for the rest with an empty Text Request quoting the TTT.
        ini.send(textRequest(900, field32(p, 20), new Uint8Array(0)));
      }
      expect(parts.length).toBeGreaterThan(1);
      const all = new Uint8Array(parts.reduce((n, d) => n + d.length, 0));
      let at = 0;
      for (const d of parts) {
        all.set(d, at);
        at += d.length;
      }
      const listed = new TextDecoder().decode(all).split('\0').filter((l) => l.startsWith('TargetName='));
      expect(listed).toEqual(names.map((n) => `TargetName=${n}`));
      ini.close();
    } finally {
      await many.close();
      await Promise.all(exports.map(({ stack: s }) => s.close()));
    }
  });
});

describe('target resets', () => {
  it('TARGET COLD RESET is answered, then every session of the target is dropped (RFC 7143 §11.5.1)', async () => {
    const a = await TestInitiator.connect(port);
    await a.login(OPEN, {}, 0x1111n);
    const b = await TestInitiator.connect(port);
    await b.login(OPEN, {}, 0x2222n);
    a.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 7, 1], [16, 808, 4], [20, 0xffffffff, 4], [24, a.cmdSN, 4], [28, a.expStatSN, 4]])));
    const resp = await a.next((p) => opcodeOf(p) === 0x22 && ittOf(p) === 808);
    expect(resp.bhs[2]).toBe(0);
    await a.closedWithin();
    await b.closedWithin();
  });

  it('TARGET WARM RESET keeps the sessions; the next command sees the reset unit attention', async () => {
    const a = await TestInitiator.connect(port);
    await a.login(OPEN, {}, 0x3333n);
    let status = -1;
    for (let i = 0; i < 3 && status !== 0; i++) status = (await a.result(a.command({ cdb: tur, edtl: 0 }))).status;
    a.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 6, 1], [16, 809, 4], [20, 0xffffffff, 4], [24, a.cmdSN, 4], [28, a.expStatSN, 4]])));
    expect((await a.next((p) => opcodeOf(p) === 0x22 && ittOf(p) === 809)).bhs[2]).toBe(0);
    const r = await a.result(a.command({ cdb: tur, edtl: 0 }));
    expect([r.status, r.response.data[2 + 2], r.response.data[2 + 12]]).toEqual([2, 0x06, 0x29]);
    expect(a.closed).toBe(false);
    a.close();
  });
});

describe('Text negotiation in full feature phase (RFC 7143 §6.2, §13)', () => {
  it('a new MaxRecvDataSegmentLength applies to Data-In; login-only keys are Reject, unknown ones NotUnderstood', async () => {
    const ini = await TestInitiator.connect(port);
    await ini.login(OPEN);
    const body = new TextEncoder().encode('MaxRecvDataSegmentLength=512\0InitialR2T=No\0TargetAlias=me\0X-vendor.key=1\0NoSuchKey=1\0');
    ini.send(pdu(bhsOf([[0, 0x04 | 0x40, 1], [1, 0x80, 1], [16, 950, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]]), body));
    const r = await ini.next((p) => opcodeOf(p) === 0x24 && ittOf(p) === 950);
    expect(parseText(r.data)).toEqual({ InitialR2T: 'Reject', TargetAlias: 'Reject', 'X-vendor.key': 'NotUnderstood', NoSuchKey: 'NotUnderstood' });
    let status = -1;
    for (let i = 0; i < 3 && status !== 0; i++) status = (await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status;
    const read = await ini.result(ini.command({ cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0), read: true, edtl: 2048 }));
    expect(read.status).toBe(0);
    expect(read.dataIns.length).toBe(4);
    expect(read.dataIns.every((d) => d.data.length <= 512)).toBe(true);
    ini.close();
  });

  it('a MaxRecvDataSegmentLength out of range is answered Reject and changes nothing', async () => {
    const ini = await TestInitiator.connect(port);
    await ini.login(OPEN);
    ini.send(pdu(bhsOf([[0, 0x04 | 0x40, 1], [1, 0x80, 1], [16, 951, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]]), new TextEncoder().encode('MaxRecvDataSegmentLength=100\0')));
    expect(parseText((await ini.next((p) => opcodeOf(p) === 0x24 && ittOf(p) === 951)).data)).toEqual({ MaxRecvDataSegmentLength: 'Reject' });
    let status = -1;
    for (let i = 0; i < 3 && status !== 0; i++) status = (await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status;
    const read = await ini.result(ini.command({ cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0), read: true, edtl: 2048 }));
    expect(read.dataIns.length).toBe(1);
    ini.close();
  });
});

describe('LUN numbering', () => {
  it('a device exported as LUN 3: REPORT LUNS lists 3, LUN 0 is not there (qualifier 011b, 25h/00h)', async () => {
    const other = await IscsiServer.listen({ port: 0, targets: [{ name: 'iqn.2026-11.org.vtcam:lun3', luns: [{ lun: 3, pass: stack.pass(0) }] }] });
    try {
      const ini = await TestInitiator.connect(other.address.port);
      await ini.login('iqn.2026-11.org.vtcam:lun3');
      const lun3 = 0x0003_0000_0000_0000n;
      let status = -1;
      for (let i = 0; i < 3 && status !== 0; i++) status = (await ini.result(ini.command({ cdb: tur, edtl: 0, lun: lun3 }))).status;
      expect(status).toBe(0);
      // REPORT LUNS (SPC-5 §6.33): A0h, ALLOCATION LENGTH at bytes 6..9; data: LUN LIST LENGTH, 4 reserved, 8-byte LUNs.
      const rl = await ini.result(ini.command({ cdb: Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0), read: true, edtl: 64, lun: lun3 }));
      expect(rl.status).toBe(0);
      expect([...rl.data]).toEqual([0, 0, 0, 8, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0]);
      const inq = await ini.result(ini.command({ cdb: Uint8Array.of(0x12, 0, 0, 0, 36, 0), read: true, edtl: 36, lun: 0n }));
      expect(inq.data[0]).toBe(0x7f);
      const t0 = await ini.result(ini.command({ cdb: tur, edtl: 0, lun: 0n }));
      expect([t0.status, t0.response.data[2 + 2], t0.response.data[2 + 12]]).toEqual([2, 0x05, 0x25]);
      // The missing LUN still lists the target's LUNs, answers REQUEST SENSE with 25h/00h as data, and checks CDBs:
      // INQUIRY with EVPD 0 and a PAGE CODE is INVALID FIELD IN CDB (24h/00h).
      const rl0 = await ini.result(ini.command({ cdb: Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0), read: true, edtl: 16, lun: 0n }));
      expect([...rl0.data]).toEqual([0, 0, 0, 8, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0]);
      const rs = await ini.result(ini.command({ cdb: Uint8Array.of(0x03, 0, 0, 0, 18, 0), read: true, edtl: 18, lun: 0n }));
      expect([rs.status, rs.data[2], rs.data[12]]).toEqual([0, 0x05, 0x25]);
      const badInq = await ini.result(ini.command({ cdb: Uint8Array.of(0x12, 0, 0x80, 0, 36, 0), read: true, edtl: 36, lun: 0n }));
      expect([badInq.status, badInq.response.data[2 + 2], badInq.response.data[2 + 12]]).toEqual([2, 0x05, 0x24]);
      ini.close();
    } finally {
      await other.close();
    }
  });
});

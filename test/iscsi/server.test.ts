// The iSCSI target end to end over loopback TCP, driven by a hand-written
// initiator (initiator.ts) that builds PDUs from RFC 7143's tables.

import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { DATA_IN_ROOM_SLAB_BYTES } from '../../src/iscsi/data-in-rooms.js';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, parseText, pdu, text } from './initiator.js';
import { ProbeBackend, until } from '../stack/helpers.js';

const IQN = 'iqn.2026-11.org.vtcam:test';
const BS = 512;
let stack: Stack;
let server: IscsiServer;
let port: number;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 2048, blockSize: BS }), queueSize: 64 });
  server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, alias: 'test disk', luns: [{ lun: 0, pass: stack.pass(0) }] }] });
  port = server.address.port;
});

afterAll(async () => {
  await server.close();
  await stack.close();
});

const tur = new Uint8Array(6);
const read10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x28, 0, lba >>> 24, (lba >> 16) & 0xff, (lba >> 8) & 0xff, lba & 0xff, 0, blocks >> 8, blocks & 0xff, 0);
const write10 = (lba: number, blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, lba >>> 24, (lba >> 16) & 0xff, (lba >> 8) & 0xff, lba & 0xff, 0, blocks >> 8, blocks & 0xff, 0);

/** Logs in and clears the new nexus's power-on unit attention with TEST UNIT READY. */
async function session(isid?: bigint): Promise<TestInitiator> {
  const ini = await TestInitiator.connect(port);
  const resp = await ini.login(IQN, {}, isid);
  expect(resp.bhs[36]).toBe(0);
  expect((resp.bhs[1] ?? 0) & 0x03).toBe(3);
  for (let i = 0; i < 5; i++) {
    const r = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
    if (r.status === 0) return ini;
  }
  throw new Error('TEST UNIT READY never GOOD');
}

describe('login', () => {
  it('a normal session logs in without authentication and reaches full feature phase', async () => {
    const ini = await TestInitiator.connect(port);
    const r = await ini.login(IQN);
    expect(opcodeOf(r)).toBe(0x23);
    // Status-Class/Detail at bytes 36/37: success; TSIH (bytes 14..15) non-zero.
    expect([r.bhs[36], r.bhs[37]]).toEqual([0, 0]);
    expect(((r.bhs[14] ?? 0) << 8) | (r.bhs[15] ?? 0)).toBeGreaterThan(0);
    ini.close();
  });

  it('an unknown target is refused with 02h/03h and the connection ends', async () => {
    const ini = await TestInitiator.connect(port);
    const r = await ini.login('iqn.2026-11.org.vtcam:nope');
    expect([r.bhs[36], r.bhs[37]]).toEqual([0x02, 0x03]);
    await ini.closedWithin();
  });

  it('a SCSI command before login completes is refused 02h/0Bh and closes the connection', async () => {
    const ini = await TestInitiator.connect(port);
    ini.command({ cdb: tur, edtl: 0 });
    const r = await ini.next((p) => opcodeOf(p) === 0x23);
    expect([r.bhs[36], r.bhs[37]]).toEqual([0x02, 0x0b]);
    await ini.closedWithin();
  });

  it('discovery: SendTargets lists the target with this portal and its tag', async () => {
    const ini = await TestInitiator.connect(port);
    await ini.login(undefined);
    const b = bhsOf([
      [0, 0x04 | 0x40, 1],
      [1, 0x80, 1],
      [16, 99, 4],
      [20, 0xffffffff, 4],
      [24, ini.cmdSN, 4],
      [28, ini.expStatSN, 4],
    ]);
    ini.send(pdu(b, text({ SendTargets: 'All' })));
    const r = await ini.next((p) => opcodeOf(p) === 0x24);
    expect(ittOf(r)).toBe(99);
    expect(parseText(r.data)).toEqual({ TargetName: IQN, TargetAddress: `127.0.0.1:${port},1` });
    ini.close();
  });

  it('discovery: SendTargets names the address the connection reached, not a wildcard the portal listens on (§13.8)', async () => {
    // What IscsiServer.address reports after listen on 0.0.0.0 (every address); the socket stays on 127.0.0.1.
    const wildcard = vi.spyOn(IscsiServer.prototype, 'address', 'get').mockReturnValue({ address: '0.0.0.0', port });
    try {
      const ini = await TestInitiator.connect(port);
      await ini.login(undefined);
      const b = bhsOf([[0, 0x04 | 0x40, 1], [1, 0x80, 1], [16, 98, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4]]);
      ini.send(pdu(b, text({ SendTargets: 'All' })));
      const r = await ini.next((p) => opcodeOf(p) === 0x24);
      expect(parseText(r.data)).toEqual({ TargetName: IQN, TargetAddress: `127.0.0.1:${port},1` });
      ini.close();
    } finally {
      wildcard.mockRestore();
    }
  });
});

describe('full feature phase', () => {
  it('WRITE (10) with immediate data and an R2T for the rest, then READ (10) returns the same bytes', async () => {
    const ini = await session();
    const data = Uint8Array.from({ length: 8 * BS }, (_, i) => (i * 13) & 0xff);
    const itt = ini.command({ cdb: write10(100, 8), write: true, edtl: data.length, data: data.subarray(0, BS), final: true });
    const r2t = await ini.next((p) => opcodeOf(p) === 0x31 && ittOf(p) === itt);
    // R2T (§11.8): TTT at 20, R2TSN at 36, Buffer Offset at 40, Desired Data Transfer Length at 44.
    expect(field32(r2t, 40)).toBe(BS);
    expect(field32(r2t, 44)).toBe(7 * BS);
    ini.dataOut({ itt, ttt: field32(r2t, 20), dataSN: 0, offset: BS, data: data.subarray(BS), final: true });
    const w = await ini.result(itt);
    expect(w.status).toBe(0);
    const r = await ini.result(ini.command({ cdb: read10(100, 8), read: true, edtl: data.length }));
    expect(r.status).toBe(0);
    expect(r.data).toEqual(data);
    ini.close();
  });

  it('READ with EDTL 200 for one block: 200 bytes and an overflow residual of the rest (§11.4.5.1)', async () => {
    const ini = await session();
    const r = await ini.result(ini.command({ cdb: read10(0, 1), read: true, edtl: 200 }));
    expect(r.status).toBe(0);
    expect(r.data.length).toBe(200);
    // Flags byte 1: O (bit 2) overflow; Residual Count at 44.
    expect(((r.response.bhs[1] ?? 0) & 0x04) !== 0).toBe(true);
    expect(field32(r.response, 44)).toBe(BS - 200);
    ini.close();
  });

  it('INQUIRY and MODE SENSE with ALLOCATION LENGTH past EDTL: GOOD, the first EDTL bytes, overflow of the rest (§11.4.5.1)', async () => {
    const ini = await session();
    // SPC-5 INQUIRY: ALLOCATION LENGTH bytes 3..4 = 96; the full standard data is returned whole with EDTL 96.
    const whole = await ini.result(ini.command({ cdb: Uint8Array.of(0x12, 0, 0, 0, 96, 0), read: true, edtl: 96 }));
    expect(whole.status).toBe(0);
    const cut = await ini.result(ini.command({ cdb: Uint8Array.of(0x12, 0, 0, 0, 96, 0), read: true, edtl: 36 }));
    expect(cut.status).toBe(0);
    expect(cut.data).toEqual(whole.data.subarray(0, 36));
    expect(((cut.response.bhs[1] ?? 0) & 0x04) !== 0).toBe(true);
    expect(field32(cut.response, 44)).toBe(whole.data.length - 36);
    // MODE SENSE (6), all pages, ALLOCATION LENGTH 255 (byte 4), EDTL 4: the header only, overflow of the rest.
    const mode = await ini.result(ini.command({ cdb: Uint8Array.of(0x1a, 0x08, 0x3f, 0, 0xff, 0), read: true, edtl: 4 }));
    expect(mode.status).toBe(0);
    expect(mode.data.length).toBe(4);
    expect(field32(mode.response, 44)).toBe((mode.data[0] ?? 0) + 1 - 4);
    ini.close();
  });

  it('WRITE of two blocks with EDTL of one: GOOD, overflow of one block, only the first block written', async () => {
    const ini = await session();
    const a = new Uint8Array(2 * BS).fill(0x61);
    const w1 = ini.command({ cdb: write10(40, 2), write: true, edtl: 2 * BS, data: a.subarray(0, BS) });
    const r2t = await ini.next((p) => opcodeOf(p) === 0x31 && ittOf(p) === w1);
    ini.dataOut({ itt: w1, ttt: field32(r2t, 20), dataSN: 0, offset: BS, data: a.subarray(BS), final: true });
    expect((await ini.result(w1)).status).toBe(0);
    const w2 = await ini.result(ini.command({ cdb: write10(40, 2), write: true, edtl: BS, data: new Uint8Array(BS).fill(0x62) }));
    expect(w2.status).toBe(0);
    expect(((w2.response.bhs[1] ?? 0) & 0x04) !== 0).toBe(true);
    expect(field32(w2.response, 44)).toBe(BS);
    const r = await ini.result(ini.command({ cdb: read10(40, 2), read: true, edtl: 2 * BS }));
    expect(r.data.subarray(0, BS)).toEqual(new Uint8Array(BS).fill(0x62));
    expect(r.data.subarray(BS)).toEqual(new Uint8Array(BS).fill(0x61));
    ini.close();
  });

  it('ABORT TASK for a command already completed: task does not exist; for one not yet received: function complete', async () => {
    const ini = await session();
    const doneCmdSN = ini.cmdSN;
    await ini.result(ini.command({ cdb: tur, edtl: 0 }));
    const tmf = (itt: number, refItt: number, refCmdSN: number): Uint8Array =>
      pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 1, 1], [16, itt, 4], [20, refItt, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4], [32, refCmdSN, 4]]));
    ini.send(tmf(601, 1, doneCmdSN));
    expect((await ini.next((p) => opcodeOf(p) === 0x22 && ittOf(p) === 601)).bhs[2]).toBe(1);
    // A command the initiator numbered but the target never saw (lost): RefCmdSN = ExpCmdSN < the TMF's CmdSN.
    const lost = ini.cmdSN;
    ini.cmdSN = (ini.cmdSN + 1) >>> 0;
    ini.send(tmf(602, 0x5555, lost));
    expect((await ini.next((p) => opcodeOf(p) === 0x22 && ittOf(p) === 602)).bhs[2]).toBe(0);
    // The lost CmdSN counts as received: the next command is not held behind it.
    expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
    ini.close();
  });

  it('an unsupported opcode is CHECK CONDITION with sense in the response data segment', async () => {
    const ini = await session();
    const r = await ini.result(ini.command({ cdb: Uint8Array.of(0xff, 0, 0, 0, 0, 0), edtl: 0 }));
    expect(r.status).toBe(2);
    // Data segment: SenseLength (2 bytes), then fixed sense: key at +2, ASC at +12.
    const sense = r.response.data.subarray(2);
    expect([sense[2], sense[12]]).toEqual([0x05, 0x20]);
    ini.close();
  });

  it('a CmdSN beyond MaxCmdSN is ignored; the next in-window command is answered (§4.2.2.1)', async () => {
    const ini = await session();
    const max = field32(await ini.result(ini.command({ cdb: tur, edtl: 0 })).then((r) => r.response), 32);
    const itt = ini.command({ cdb: tur, edtl: 0, cmdSN: (max + 1) >>> 0 });
    expect(await ini.silence((p) => ittOf(p) === itt)).toBe(true);
    const ok = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
    expect(ok.status).toBe(0);
    ini.close();
  });

  it('a NOP-Out ping is answered by a NOP-In echoing its data', async () => {
    const ini = await session();
    const b = bhsOf([
      [0, 0x00 | 0x40, 1],
      [1, 0x80, 1],
      [16, 4242, 4],
      [20, 0xffffffff, 4],
      [24, ini.cmdSN, 4],
      [28, ini.expStatSN, 4],
    ]);
    ini.send(pdu(b, Uint8Array.of(1, 2, 3, 4, 5)));
    const r = await ini.next((p) => opcodeOf(p) === 0x20);
    expect(ittOf(r)).toBe(4242);
    expect([...r.data]).toEqual([1, 2, 3, 4, 5]);
    ini.close();
  });

  it('Data-Out with the wrong DataSN fails the command (ABORTED COMMAND) and the session keeps working', async () => {
    const ini = await session();
    const itt = ini.command({ cdb: write10(10, 2), write: true, edtl: 2 * BS });
    const r2t = await ini.next((p) => opcodeOf(p) === 0x31 && ittOf(p) === itt);
    ini.dataOut({ itt, ttt: field32(r2t, 20), dataSN: 0, offset: 0, data: new Uint8Array(BS), final: false });
    ini.dataOut({ itt, ttt: field32(r2t, 20), dataSN: 0, offset: BS, data: new Uint8Array(BS), final: true });
    const r = await ini.result(itt);
    expect(r.status).toBe(2);
    expect(r.response.data[2 + 2]).toBe(0x0b);
    expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
    ini.close();
  });

  it('a malformed PDU gets a Reject carrying its header, and the connection carries on', async () => {
    const ini = await session();
    // SCSI Command with neither F nor W set (§11.3.1): invalid PDU field.
    const b = bhsOf([
      [0, 0x01, 1],
      [1, 0x00, 1],
      [16, 777, 4],
      [24, ini.cmdSN, 4],
      [28, ini.expStatSN, 4],
    ]);
    ini.send(pdu(b));
    const rej = await ini.next((p) => opcodeOf(p) === 0x3f);
    expect(rej.bhs[2]).toBe(0x09);
    expect(field32({ bhs: rej.data, data: new Uint8Array(0) }, 16)).toBe(777);
    expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
    ini.close();
  });

  it('a SCSI Command or a task management function under the reserved ITT FFFFFFFFh (§11.2.1.8) gets Reject 09h and never runs; the command’s CmdSN is not taken', async () => {
    const ini = await session();
    const cmdSN = ini.cmdSN;
    ini.command({ cdb: read10(0, 1), read: true, edtl: BS, itt: 0xffff_ffff });
    const sent = ini.lastHeader;
    // Reject (§11.17): Reason at byte 2, ExpCmdSN at 28 (the command's own: not received, §7.3), its header as data.
    const rej = await ini.next((p) => opcodeOf(p) === 0x3f || ittOf(p) === 0xffff_ffff);
    expect([opcodeOf(rej), rej.bhs[2], field32(rej, 28), [...rej.data]]).toEqual([0x3f, 0x09, cmdSN, [...sent]]);
    // ABORT TASK (§11.5), immediate, under the reserved ITT too: Reject 09h, no response.
    const tmf = bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 1, 1], [16, 0xffff_ffff, 4], [20, 1, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4], [32, cmdSN, 4]]);
    ini.send(pdu(tmf));
    const rejTmf = await ini.next((p) => opcodeOf(p) === 0x3f || opcodeOf(p) === 0x22);
    expect([opcodeOf(rejTmf), rejTmf.bhs[2], [...rejTmf.data]]).toEqual([0x3f, 0x09, [...tmf]]);
    // The same CmdSN under a valid ITT: it is the command the target takes (a READ, not a gap plugged).
    const r = await ini.result(ini.command({ cdb: read10(0, 1), read: true, edtl: BS, cmdSN }));
    expect([r.status, r.data.length]).toEqual([0, BS]);
    expect(await ini.silence((p) => ittOf(p) === 0xffff_ffff && opcodeOf(p) !== 0x3f, 100)).toBe(true);
    ini.close();
  });

  it('a data segment longer than the MaxRecvDataSegmentLength we declared is rejected (04h); the connection goes on', async () => {
    const ini = await TestInitiator.connect(port);
    const login = await ini.login(IQN);
    const declared = Number(parseText(login.data)['MaxRecvDataSegmentLength'] ?? 8192);
    const big = new Uint8Array(declared + 4).fill(0xee);
    ini.send(pdu(bhsOf([[0, 0x40, 1], [1, 0x80, 1], [16, 4343, 4], [20, 0xffffffff, 4], [24, ini.cmdSN, 4]]), big));
    const rej = await ini.next((p) => opcodeOf(p) === 0x3f);
    expect(rej.bhs[2]).toBe(0x04);
    expect(await ini.silence((p) => opcodeOf(p) === 0x20 && ittOf(p) === 4343, 200)).toBe(true);
    let status = -1;
    for (let i = 0; i < 3 && status !== 0; i++) status = (await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status;
    expect(status).toBe(0);
    ini.close();
  });

  it('immediate commands past the session depth are refused (Reject 06h), not queued without bound', async () => {
    const ini = await session();
    // Many immediate READs at once: the window does not hold them back (§3.2.2.1), the depth does.
    const itts: number[] = [];
    for (let i = 0; i < 400; i++) itts.push(ini.command({ cdb: read10(0, 1), read: true, edtl: BS, immediate: true }));
    const rejected = await ini.next((p) => opcodeOf(p) === 0x3f && p.bhs[2] === 0x06, 5000);
    expect(itts).toContain(field32({ bhs: rejected.data, data: new Uint8Array(0) }, 16));
    ini.close();
  });

  it('LOGICAL UNIT RESET completes and the next command sees the reset unit attention', async () => {
    const ini = await session();
    const b = bhsOf([
      [0, 0x02 | 0x40, 1],
      [1, 0x80 | 5, 1],
      [16, 555, 4],
      [20, 0xffffffff, 4],
      [24, ini.cmdSN, 4],
      [28, ini.expStatSN, 4],
    ]);
    ini.send(pdu(b));
    const resp = await ini.next((p) => opcodeOf(p) === 0x22);
    expect(resp.bhs[2]).toBe(0);
    const r = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
    expect(r.status).toBe(2);
    expect(r.response.data[2 + 2]).toBe(0x06);
    expect(r.response.data[2 + 12]).toBe(0x29);
    ini.close();
  });

  it('ABORT TASK for a task that does not exist answers "task does not exist"', async () => {
    const ini = await session();
    const b = bhsOf([
      [0, 0x02 | 0x40, 1],
      [1, 0x80 | 1, 1],
      [16, 556, 4],
      [20, 12345, 4],
      [24, ini.cmdSN, 4],
      [28, ini.expStatSN, 4],
      [32, (ini.cmdSN + 100) >>> 0, 4],
    ]);
    ini.send(pdu(b));
    const resp = await ini.next((p) => opcodeOf(p) === 0x22);
    expect(resp.bhs[2]).toBe(1);
    ini.close();
  });

  it('Logout closes the session: a Logout Response, then the target closes the connection', async () => {
    const ini = await session();
    const b = bhsOf([
      [0, 0x06 | 0x40, 1],
      [1, 0x80, 1],
      [16, 31337, 4],
      [24, ini.cmdSN, 4],
      [28, ini.expStatSN, 4],
    ]);
    ini.send(pdu(b));
    const r = await ini.next((p) => opcodeOf(p) === 0x26);
    expect(r.bhs[2]).toBe(0);
    await ini.closedWithin();
  });

  it('a truncated PDU followed by a hang-up does not disturb another session', async () => {
    const bad = await TestInitiator.connect(port);
    await bad.login(IQN, {}, 0x1234n);
    bad.send(pdu(bhsOf([[0, 0x01, 1]])).subarray(0, 20));
    bad.close();
    const ini = await session();
    expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
    ini.close();
  });
});

describe('what one turn answers leaves together', () => {
  /** Server-side socket writes while `f` runs: the chunks written to the socket whose peer is `ini`. */
  async function serverWrites(ini: TestInitiator, f: () => Promise<void>): Promise<Uint8Array[]> {
    const local = ini.socket.localPort;
    const write = vi.spyOn(Socket.prototype, 'write');
    try {
      await f();
      const contexts = write.mock.contexts as Socket[];
      return write.mock.calls.flatMap(([chunk], i) => (contexts[i]?.remotePort === local && chunk instanceof Uint8Array ? [new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)] : []));
    } finally {
      write.mockRestore();
    }
  }

  it('four READs answered in one turn: one socket write holding the four Data-In PDUs in order', async () => {
    const ini = await session();
    const expected = Uint8Array.from({ length: 4 * BS }, (_, i) => (i * 7 + 3) & 0xff);
    expect((await ini.result(ini.command({ cdb: write10(300, 4), write: true, edtl: expected.length, data: expected }))).status).toBe(0);
    const itts: number[] = [];
    const writes = await serverWrites(ini, async () => {
      ini.socket.cork();
      for (let i = 0; i < 4; i++) itts.push(ini.command({ cdb: read10(300 + i, 1), read: true, edtl: BS }));
      ini.socket.uncork();
      for (const [i, itt] of itts.entries()) {
        const r = await ini.result(itt);
        expect([r.status, r.dataIns.length]).toEqual([0, 1]);
        expect(r.data).toEqual(expected.subarray(i * BS, (i + 1) * BS));
      }
    });
    expect(writes.map((w) => w.length)).toEqual([4 * (48 + BS)]);
    const one = writes[0] ?? new Uint8Array(0);
    // Not a copy: each READ landed in a Data-In room with its header in front, and the four make one run.
    expect(one.buffer.byteLength).toBe(DATA_IN_ROOM_SLAB_BYTES);
    // Each PDU: opcode 25h (Data-In), its ITT at bytes 16..19, then its block.
    for (const [i, itt] of itts.entries()) {
      const at = i * (48 + BS);
      expect([(one[at] ?? 0) & 0x3f, new DataView(one.buffer, one.byteOffset + at + 16, 4).getUint32(0)]).toEqual([0x25, itt]);
      expect(one.subarray(at + 48, at + 48 + BS)).toEqual(expected.subarray(i * BS, (i + 1) * BS));
    }
    ini.close();
  });

  it('four 32 KiB READs in one turn (more than 64 KiB): still one run of their rooms, not copied', async () => {
    const ini = await session();
    const blocks = 64;
    const itts: number[] = [];
    const writes = await serverWrites(ini, async () => {
      ini.socket.cork();
      for (let i = 0; i < 4; i++) itts.push(ini.command({ cdb: read10(i * blocks, blocks), read: true, edtl: blocks * BS }));
      ini.socket.uncork();
      for (const itt of itts) expect((await ini.result(itt)).status).toBe(0);
    });
    expect(writes.map((w) => w.length)).toEqual([4 * (48 + blocks * BS)]);
    expect(writes[0]?.buffer.byteLength).toBe(DATA_IN_ROOM_SLAB_BYTES);
    ini.close();
  });

  it('a turn past 64 KiB that is not one run goes as its runs, uncopied: two 80 KiB READs, each header and data one view', async () => {
    const blocks = 160; // 80 KiB: a room of its own, past the slab's
    const expected = Uint8Array.from({ length: 2 * blocks * BS }, (_, i) => (i * 13 + 1) & 0xff);
    const w = await session();
    // Written 32 KiB at a time, as immediate data (within FirstBurstLength).
    for (let at = 0; at < expected.length; at += 64 * BS) {
      const piece = expected.subarray(at, at + 64 * BS);
      expect((await w.result(w.command({ cdb: write10(1000 + at / BS, 64), write: true, edtl: piece.length, data: piece }))).status).toBe(0);
    }
    const itts: number[] = [];
    const writes = await serverWrites(w, async () => {
      w.socket.cork();
      for (let i = 0; i < 2; i++) itts.push(w.command({ cdb: read10(1000 + i * blocks, blocks), read: true, edtl: blocks * BS }));
      w.socket.uncork();
      for (const [i, itt] of itts.entries()) {
        const r = await w.result(itt);
        expect(r.status).toBe(0);
        expect(r.data).toEqual(expected.subarray(i * blocks * BS, (i + 1) * blocks * BS));
      }
    });
    expect(writes.map((x) => [x.length, x.byteOffset, x.buffer.byteLength])).toEqual([
      [48 + blocks * BS, 0, 48 + blocks * BS],
      [48 + blocks * BS, 0, 48 + blocks * BS],
    ]);
    w.close();
  });

  it('a turn mixing a room with another PDU is copied into one buffer: a READ, and a READ whose 510-byte EDTL needs padding', async () => {
    const ini = await session();
    const expected = Uint8Array.from({ length: 2 * BS }, (_, i) => (i * 5 + 9) & 0xff);
    expect((await ini.result(ini.command({ cdb: write10(500, 2), write: true, edtl: expected.length, data: expected }))).status).toBe(0);
    const itts: number[] = [];
    const writes = await serverWrites(ini, async () => {
      ini.socket.cork();
      itts.push(ini.command({ cdb: read10(500, 1), read: true, edtl: BS }));
      // EDTL 510 of a 512-byte READ: 510 bytes go (overflow 2), padded to 512 on the wire: no room for it.
      itts.push(ini.command({ cdb: read10(501, 1), read: true, edtl: 510 }));
      ini.socket.uncork();
      const whole = await ini.result(itts[0] ?? 0);
      const cut = await ini.result(itts[1] ?? 0);
      expect([whole.status, cut.status]).toEqual([0, 0]);
      expect(whole.data).toEqual(expected.subarray(0, BS));
      expect(cut.data).toEqual(expected.subarray(BS, BS + 510));
    });
    expect(writes.map((w) => w.length)).toEqual([2 * 48 + 2 * BS]);
    expect(writes[0]?.buffer.byteLength).not.toBe(DATA_IN_ROOM_SLAB_BYTES);
    const one = writes[0] ?? new Uint8Array(0);
    expect([one[0], one[48 + BS]].map((b) => (b ?? 0) & 0x3f)).toEqual([0x25, 0x25]);
    ini.close();
  });
});

describe('the package entry', () => {
  it('exports IscsiServer: a stack served from the public API answers an initiator', async () => {
    const api = await import('../../src/index.js');
    const st = await api.createStack({ backend: new api.MemoryBackend({ blocks: 64, blockSize: 512 }) });
    const srv = await api.IscsiServer.listen({ port: 0, targets: [{ name: 'iqn.2026-11.org.vtcam:api', luns: [{ lun: 0, pass: st.pass(0) }] }] });
    try {
      const ini = await TestInitiator.connect(srv.address.port);
      const r = await ini.login('iqn.2026-11.org.vtcam:api');
      expect([r.bhs[36], r.bhs[37]]).toEqual([0, 0]);
      expect(srv.sessions).toBe(1);
      ini.close();
    } finally {
      await srv.close();
      await st.close();
    }
  });
});

describe('configuration errors', () => {
  it.each([
    ['no targets', []],
    ['a target without LUNs', [{ name: 'iqn.2026-11.org.vtcam:x', luns: [] }]],
    ['a LUN past 16383', [{ name: 'iqn.2026-11.org.vtcam:x', luns: [{ lun: 16384 }] }]],
    ['a negative LUN', [{ name: 'iqn.2026-11.org.vtcam:x', luns: [{ lun: -1 }] }]],
    ['a LUN twice', [{ name: 'iqn.2026-11.org.vtcam:x', luns: [{ lun: 0 }, { lun: 0 }] }]],
    ['a target twice', [{ name: 'iqn.2026-11.org.vtcam:x', luns: [{ lun: 0 }] }, { name: 'iqn.2026-11.org.vtcam:x', luns: [{ lun: 1 }] }]],
  ] as const)('%s is a RangeError before anything listens', async (_, targets) => {
    const withPass = targets.map((t) => ({ name: t.name, luns: t.luns.map((l) => ({ lun: l.lun, pass: stack.pass(0) })) }));
    await expect(IscsiServer.listen({ port: 0, targets: withPass })).rejects.toThrow(RangeError);
  });
});

describe('ABORT TASK of a command the device is running', () => {
  it('the TMF completes, the aborted command gets no response, the next command sees the reset unit attention, then runs', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 2048, blockSize: BS }));
    const own = await createStack({ backend: probe, queueSize: 64 });
    const srv = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: own.pass(0) }] }] });
    try {
      const ini = await TestInitiator.connect(srv.address.port);
      expect((await ini.login(IQN)).bhs[36]).toBe(0);
      // The power-on unit attention first (SAM-5 §5.14: 29h/00h), then GOOD.
      expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(2);
      expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
      probe.holdIf = (op) => op.kind === 'read';
      const readCmdSN = ini.cmdSN;
      const itt = ini.command({ cdb: read10(3, 1), read: true, edtl: BS });
      await until(() => probe.heldCount === 1, 'the READ at the backend');
      // Task Management Function Request (§11.5): opcode 02h immediate, F | function 1 (ABORT TASK), ITT, RTT, CmdSN, ExpStatSN, RefCmdSN.
      ini.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 1, 1], [16, 700, 4], [20, itt, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4], [32, readCmdSN, 4]])));
      // The SIM aborts a command at the device by resetting it; the held READ is let go once the reset is under way.
      await until(() => own.stats(0).simFrozen === 1, 'recovery started', 2000);
      probe.holdIf = undefined;
      probe.releaseHeld();
      // Task Management Function Response (22h): Response 0, function complete.
      expect((await ini.next((p) => opcodeOf(p) === 0x22 && ittOf(p) === 700)).bhs[2]).toBe(0);
      expect(await ini.silence((p) => ittOf(p) === itt)).toBe(true);
      const ua = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
      expect(ua.status).toBe(2);
      // SenseLength (2 bytes), then fixed sense: key at +2, ASC/ASCQ at +12/+13: UNIT ATTENTION, 29h/00h.
      const sense = ua.response.data.subarray(2);
      expect([sense[2], sense[12], sense[13]]).toEqual([0x06, 0x29, 0x00]);
      expect((await ini.result(ini.command({ cdb: read10(3, 1), read: true, edtl: BS }))).status).toBe(0);
      ini.close();
    } finally {
      await srv.close();
      await own.close();
    }
  });
});

describe('PERSISTENT RESERVE OUT PREEMPT AND ABORT across two sessions', () => {
  /** PERSISTENT RESERVE OUT (SPC-5): SERVICE ACTION, SCOPE 0h | TYPE, PARAMETER LIST LENGTH 24. */
  const prout = (sa: number, type: number): Uint8Array => Uint8Array.of(0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0);
  /** The basic parameter list: RESERVATION KEY bytes 0..7, SERVICE ACTION RESERVATION KEY bytes 8..15 (one byte each here). */
  const params = (rk: number, sark: number): Uint8Array => {
    const p = new Uint8Array(24);
    p[7] = rk;
    p[15] = sark;
    return p;
  };

  it('B’s READ at the device is aborted without a SCSI Response; A’s PROUT answers GOOD after it; B then sees 2Ah/05h and 2Fh/00h', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 2048, blockSize: BS }));
    const own = await createStack({ backend: probe, queueSize: 64 });
    const srv = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: own.pass(0) }] }] });
    const login = async (isid: bigint): Promise<TestInitiator> => {
      const ini = await TestInitiator.connect(srv.address.port);
      expect((await ini.login(IQN, {}, isid)).bhs[36]).toBe(0);
      // The power-on unit attention first, then GOOD.
      expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(2);
      expect((await ini.result(ini.command({ cdb: tur, edtl: 0 }))).status).toBe(0);
      return ini;
    };
    const proutGood = async (ini: TestInitiator, sa: number, type: number, p: Uint8Array): Promise<void> => {
      expect((await ini.result(ini.command({ cdb: prout(sa, type), write: true, edtl: 24, data: p }))).status).toBe(0);
    };
    /** Sense key, ASC, ASCQ of the fixed sense after the 2-byte SenseLength. */
    const ua = async (ini: TestInitiator): Promise<number[]> => {
      const r = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
      expect(r.status).toBe(2);
      const sense = r.response.data.subarray(2);
      return [sense[2] ?? -1, sense[12] ?? -1, sense[13] ?? -1];
    };
    try {
      const a = await login(0x23d0_0000_00a1n);
      const b = await login(0x23d0_0000_00b2n);
      // REGISTER AND IGNORE EXISTING KEY (06h): B b2h, A a1h; A RESERVEs (01h) Write Exclusive (TYPE 1h).
      await proutGood(b, 0x06, 0, params(0, 0xb2));
      await proutGood(a, 0x06, 0, params(0, 0xa1));
      await proutGood(a, 0x01, 1, params(0xa1, 0));
      probe.holdIf = (op) => op.kind === 'read';
      const read = b.command({ cdb: read10(5, 1), read: true, edtl: BS });
      await until(() => probe.heldCount === 1, 'B’s READ at the backend');
      // PREEMPT AND ABORT (05h), Write Exclusive, SERVICE ACTION RESERVATION KEY b2h.
      const pa = a.command({ cdb: prout(0x05, 1), write: true, edtl: 24, data: params(0xa1, 0xb2) });
      // The PROUT waits for the READ: both still active at the device queue.
      await new Promise((r) => setTimeout(r, 50));
      expect(own.stats(0).active).toBe(2);
      probe.holdIf = undefined;
      probe.releaseHeld();
      expect((await a.result(pa)).status).toBe(0);
      expect(await b.silence((p) => ittOf(p) === read)).toBe(true);
      // REGISTRATIONS PREEMPTED, then COMMANDS CLEARED BY ANOTHER INITIATOR (TAS 0), then GOOD.
      expect(await ua(b)).toEqual([0x06, 0x2a, 0x05]);
      expect(await ua(b)).toEqual([0x06, 0x2f, 0x00]);
      expect((await b.result(b.command({ cdb: read10(5, 1), read: true, edtl: BS }))).status).toBe(0);
      a.close();
      b.close();
    } finally {
      await srv.close();
      await own.close();
    }
  });
});

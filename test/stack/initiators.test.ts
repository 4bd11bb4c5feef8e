// Many initiators through CAM, as the iSCSI front end drives it: pass and da
// CCBs that name their initiator (I_T nexus and TransportID) reach the vtblk
// SIM's logical unit as that nexus (reservations and unit attentions per
// initiator), an AbortSignal aborts one command (XPT_ABORT) wherever it is,
// resetDevice() is LOGICAL UNIT RESET (XPT_RESET_DEV), and nexusLost() is I_T
// nexus loss (XPT_IT_NEXUS_LOST). CDBs and parameter lists are written from
// the SPC-5/SBC-4 tables; CAM status words from FreeBSD cam.h.

import { afterEach, describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import type { BlockBackend } from '../../src/virtio/device/backend.js';
import { CamError } from '../../src/cam/periph/errors.js';
import { newNexusLost } from '../../src/cam/ccb.js';
import type { ScsiRequest, ScsiResult } from '../../src/cam/periph/request.js';
import { ProbeBackend, hex, senseTriple, until } from './helpers.js';
import { A, B, ProutAction, READ_1, READ_KEYS, TUR, WRITE_1, ascii, bytes, list, prout } from './pr-fixtures.js';

const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;
const DEV_NOT_THERE = 0x08;
const SCSI_STATUS_ERROR = 0x0c;
const DEV_QFRZN = 0x40;
const RESERVATION_CONFLICT = 0x18;

const RESERVE6 = bytes('16 00 00 00 00 00');
const READ_FULL_STATUS = bytes('5e 03 00 00 00 00 00 10 00 00');
const { REGISTER_AND_IGNORE, RESERVE } = ProutAction;
const EA = 3;

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function open(backend: BlockBackend = new MemoryBackend({ blocks: 4096 })): Promise<Stack> {
  stack = await createStack({ backend, queueSize: 64 });
  return stack;
}

type Who = typeof A | undefined;
/** One command through pass as `who` (undefined: no initiator, the SIM's own nexus). */
function run(s: Stack, who: Who, cdb: Uint8Array, data?: Uint8Array, length = 4096): Promise<ScsiResult> {
  const base = who === undefined ? { cdb } : { cdb, initiator: who };
  const req: ScsiRequest = data !== undefined ? { ...base, direction: 'out', data } : cdb[0] === 0x00 || cdb[0] === 0x16 || cdb[0] === 0x17 ? { ...base, direction: 'none' } : { ...base, direction: 'in', length };
  return s.pass(0).scsi(req);
}

/** TEST UNIT READY as `who` until GOOD; the unit attentions seen on the way. */
async function settle(s: Stack, who: Who): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await run(s, who, TUR);
    if (r.scsiStatus === 0 && (r.camStatus & 0x3f) === REQ_CMP) return seen;
    seen.push(String(senseTriple(r.sense)));
  }
  throw new Error(`unit attentions keep coming: ${seen.join(' ')}`);
}

describe('initiators on one stack', () => {
  test('two initiators: A reserves Exclusive Access, B is refused (RESERVATION CONFLICT, no sense, freeze released), A is not', async () => {
    const s = await open();
    await settle(s, A);
    await settle(s, B);
    expect((await run(s, A, prout(REGISTER_AND_IGNORE), list(0, 0xa1))).camStatus).toBe(REQ_CMP);
    expect((await run(s, A, prout(RESERVE, EA), list(0xa1, 0))).camStatus).toBe(REQ_CMP);
    const block = new Uint8Array(512).fill(0x33);
    for (const [cdb, data] of [[READ_1, undefined], [WRITE_1, block]] as const) {
      const r = await run(s, B, cdb, data);
      expect({ cam: r.camStatus, scsi: r.scsiStatus, sense: r.sense, data: r.data }).toEqual({ cam: SCSI_STATUS_ERROR | DEV_QFRZN, scsi: RESERVATION_CONFLICT, sense: undefined, data: undefined });
      // The SIM's own nexus is another initiator too.
      expect((await run(s, undefined, cdb, data)).scsiStatus).toBe(RESERVATION_CONFLICT);
    }
    expect((await run(s, A, WRITE_1, block)).camStatus).toBe(REQ_CMP);
    expect((await run(s, A, READ_1)).data).toEqual(block);
    expect(s.stats(0).frozen).toBe(0);
  });

  test("READ FULL STATUS reports each initiator's TransportID as its CCBs carried it; no initiator is the SIM's nexus 'cam'", async () => {
    const s = await open();
    await settle(s, A);
    await settle(s, undefined);
    await run(s, A, prout(REGISTER_AND_IGNORE), list(0, 0xa1));
    await run(s, undefined, prout(REGISTER_AND_IGNORE), list(0, 0xc3));
    const r = await run(s, B, READ_FULL_STATUS);
    expect(r.camStatus).toBe(0x80 | SCSI_STATUS_ERROR | DEV_QFRZN); // B's first command: the power-on unit attention
    const full = await run(s, B, READ_FULL_STATUS);
    // Descriptor: key, reserved, ALL_TG_PT|R_HOLDER, SCOPE|TYPE, reserved, RELATIVE TARGET PORT 1, ADDITIONAL DESCRIPTOR LENGTH, TransportID.
    const camTid = `05 00 00 20 ${ascii('iqn.2000-01.invalid.vtcam:cam')} 00 00 00`;
    const desc = (key: string, tid: string): string => `00 00 00 00 00 00 00 ${key} 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 ${(bytes(tid).length).toString(16)} ${tid}`;
    expect(hex(full.data)).toBe(hex(bytes(`00 00 00 02 00 00 00 7c ${desc('a1', hex(A.transportId))} ${desc('c3', camTid)}`)));
  });

  test('da.scsi carries the initiator as well; a signal is for pass only', async () => {
    const s = await open();
    await settle(s, A);
    const r = await s.da(0).scsi({ cdb: prout(REGISTER_AND_IGNORE), direction: 'out', data: list(0, 0x77), initiator: A });
    expect(r.camStatus).toBe(REQ_CMP);
    expect(hex((await run(s, A, READ_FULL_STATUS)).data?.subarray(32, 32 + A.transportId.length))).toBe(hex(A.transportId));
    expect(() => s.da(0).scsi({ cdb: TUR, direction: 'none', signal: new AbortController().signal })).toThrow(/da.scsi: signal \(abort\) is for pass.scsi/);
  });

  test('malformed initiators and signals are refused before anything is sent', async () => {
    const s = await open();
    const before = s.stats(0).completed;
    const p = s.pass(0);
    expect(() => p.scsi({ cdb: TUR, direction: 'none', initiator: { id: '', transportId: A.transportId } })).toThrow(/pass.scsi: initiator.id must be a non-empty string/);
    expect(() => p.scsi({ cdb: TUR, direction: 'none', initiator: { id: 'x', transportId: new Uint8Array(22) } })).toThrow(/initiator.transportId: a TransportID is 24..65536 bytes, a multiple of 4; got 22/);
    expect(() => p.scsi({ cdb: TUR, direction: 'none', initiator: { id: 'x', transportId: [0] as unknown as Uint8Array } })).toThrow(/must be a Uint8Array/);
    expect(() => p.scsi({ cdb: TUR, direction: 'none', initiator: null as unknown as typeof A })).toThrow(/initiator must be \{ id, transportId \}/);
    expect(() => p.scsi({ cdb: TUR, direction: 'none', signal: {} as AbortSignal })).toThrow(/signal must be an AbortSignal/);
    expect(() => p.nexusLost({ id: 7 } as unknown as typeof A)).toThrow(/pass.nexusLost: initiator.id/);
    expect(s.stats(0).completed).toBe(before);
  });
});

describe('abort through an AbortSignal (XPT_ABORT)', () => {
  test('a signal aborted before the call: nothing is sent, CAM_REQ_ABORTED', async () => {
    const s = await open();
    const before = s.stats(0).completed;
    const c = new AbortController();
    c.abort();
    const r = await s.pass(0).scsi({ cdb: READ_1, direction: 'in', length: 512, signal: c.signal });
    expect({ cam: r.camStatus, scsi: r.scsiStatus, data: r.data, resid: r.resid }).toEqual({ cam: REQ_ABORTED, scsi: 0, data: undefined, resid: 512 });
    expect(s.stats(0).completed).toBe(before);
  });

  test('a command waiting in the device queue completes CAM_REQ_ABORTED at once; the queue then runs', async () => {
    const s = await open();
    await settle(s, undefined);
    const path = s.pass(0).path;
    s.xpt.freezeDevq(path, 1);
    const c = new AbortController();
    const pending = s.pass(0).scsi({ cdb: READ_1, direction: 'in', length: 512, signal: c.signal });
    expect(s.stats(0).queued).toBe(1);
    c.abort();
    const r = await pending;
    expect(r.camStatus & 0x3f).toBe(REQ_ABORTED);
    expect(s.stats(0).queued).toBe(0);
    s.xpt.releaseDevq(path, 1, true);
    expect((await run(s, undefined, READ_1)).camStatus).toBe(REQ_CMP);
  });

  test('a command at the device: the SIM recovers (device reset) and completes it CAM_REQ_ABORTED', async () => {
    const probe = new ProbeBackend(new MemoryBackend({ blocks: 4096 }));
    const s = await open(probe);
    await settle(s, A);
    let hold = true;
    probe.holdIf = (op) => hold && op.kind === 'read';
    const c = new AbortController();
    const pending = s.pass(0).scsi({ cdb: READ_1, direction: 'in', length: 512, signal: c.signal, initiator: A });
    await until(() => probe.heldCount === 1, 'the READ at the backend');
    c.abort();
    await until(() => s.stats(0).simFrozen === 1, 'recovery started', 2000);
    hold = false;
    probe.releaseHeld();
    const r = await pending;
    expect(r.camStatus & 0x3f).toBe(REQ_ABORTED);
    // The reset is visible to every initiator (29h/00h after an abort's device reset), then I/O runs.
    expect(await settle(s, A)).toEqual(['6,41,0']);
    expect((await run(s, A, READ_1)).camStatus).toBe(REQ_CMP);
  });

  test('a signal aborted after completion changes nothing', async () => {
    const s = await open();
    await settle(s, undefined);
    const c = new AbortController();
    const r = await s.pass(0).scsi({ cdb: READ_1, direction: 'in', length: 512, signal: c.signal });
    expect(r.camStatus).toBe(REQ_CMP);
    c.abort();
    expect((await run(s, undefined, TUR)).camStatus).toBe(REQ_CMP);
  });
});

describe('pass.submit: a callback and an abort handle instead of a promise and a signal', () => {
  test('done is called once with the result; the data is the device\'s', async () => {
    const s = await open();
    await settle(s, undefined);
    const results: ScsiResult[] = [];
    s.pass(0).submit({ cdb: WRITE_1, direction: 'out', data: new Uint8Array(512).fill(0x5a) }, (r) => results.push(r));
    await until(() => results.length === 1, 'the WRITE');
    s.pass(0).submit({ cdb: READ_1, direction: 'in', length: 512 }, (r) => results.push(r));
    await until(() => results.length === 2, 'the READ');
    await new Promise((r) => setImmediate(r));
    expect(results.map((r) => r.camStatus)).toEqual([REQ_CMP, REQ_CMP]);
    expect(results[1]?.data).toEqual(new Uint8Array(512).fill(0x5a));
  });

  test('abort() of a command waiting in the device queue completes it CAM_REQ_ABORTED; after completion it changes nothing', async () => {
    const s = await open();
    await settle(s, undefined);
    const path = s.pass(0).path;
    s.xpt.freezeDevq(path, 1);
    const results: ScsiResult[] = [];
    const call = s.pass(0).submit({ cdb: READ_1, direction: 'in', length: 512, initiator: A }, (r) => results.push(r));
    expect(s.stats(0).queued).toBe(1);
    call.abort();
    expect(results.map((r) => r.camStatus & 0x3f)).toEqual([REQ_ABORTED]);
    s.xpt.releaseDevq(path, 1, true);
    const done = s.pass(0).submit({ cdb: TUR, direction: 'none' }, (r) => results.push(r));
    await until(() => results.length === 2, 'the TUR');
    done.abort();
    expect((await run(s, undefined, TUR)).camStatus).toBe(REQ_CMP);
    expect(results.map((r) => r.camStatus & 0x3f)).toEqual([REQ_ABORTED, REQ_CMP]);
  });

  test('a signal, or a malformed request, is refused before anything is sent', async () => {
    const s = await open();
    const before = s.stats(0).completed;
    const never = (): void => {
      throw new Error('done must not run');
    };
    expect(() => s.pass(0).submit({ cdb: TUR, direction: 'none', signal: new AbortController().signal }, never)).toThrow(/pass.submit: signal is for pass.scsi/);
    expect(() => s.pass(0).submit({ cdb: new Uint8Array(0), direction: 'none' }, never)).toThrow(/pass.submit: cdb must be a Uint8Array of 1..32 bytes/);
    expect(() => s.pass(0).submit({ cdb: READ_1, direction: 'in' }, never)).toThrow(/pass.submit: 'in' needs length/);
    expect(s.stats(0).completed).toBe(before);
  });
});

describe('resetDevice (XPT_RESET_DEV) and nexusLost (XPT_IT_NEXUS_LOST)', () => {
  test('LOGICAL UNIT RESET: resolves when done; every initiator gets 29h/03h; an SPC-2 reservation is released', async () => {
    const s = await open();
    await settle(s, A);
    await settle(s, B);
    expect((await run(s, A, RESERVE6)).camStatus).toBe(REQ_CMP);
    expect((await run(s, B, RESERVE6)).scsiStatus).toBe(RESERVATION_CONFLICT);
    await s.pass(0).resetDevice();
    expect(await settle(s, B)).toEqual(['6,41,3']);
    expect(await settle(s, A)).toEqual(['6,41,3']);
    expect((await run(s, B, RESERVE6)).camStatus).toBe(REQ_CMP);
  });

  test('LOGICAL UNIT RESET keeps persistent reservations', async () => {
    const s = await open();
    await settle(s, A);
    await settle(s, B);
    await run(s, A, prout(REGISTER_AND_IGNORE), list(0, 0xa1));
    await run(s, A, prout(RESERVE, EA), list(0xa1, 0));
    await s.pass(0).resetDevice();
    await settle(s, B);
    expect((await run(s, B, READ_1)).scsiStatus).toBe(RESERVATION_CONFLICT);
  });

  test('resetDevice on a device that is gone rejects with a CamError', async () => {
    const s = await open();
    const p = s.pass(0);
    await s.close();
    stack = undefined;
    await expect(p.resetDevice()).rejects.toThrow(CamError);
  });

  test('I_T nexus loss: its SPC-2 reservation is released; the next command of that initiator reports the loss (29h/07h)', async () => {
    const s = await open();
    await settle(s, A);
    await settle(s, B);
    expect((await run(s, A, RESERVE6)).camStatus).toBe(REQ_CMP);
    expect((await run(s, B, RESERVE6)).scsiStatus).toBe(RESERVATION_CONFLICT);
    await s.pass(0).nexusLost(A);
    expect((await run(s, B, RESERVE6)).camStatus).toBe(REQ_CMP);
    // TEST UNIT READY conflicts with B's reservation (SPC-2): B lets it go first.
    expect((await run(s, A, TUR)).scsiStatus).toBe(RESERVATION_CONFLICT);
    expect((await run(s, B, bytes('17 00 00 00 00 00'))).camStatus).toBe(REQ_CMP);
    // SAM-5 I_T nexus loss: I_T NEXUS LOSS OCCURRED, not POWER ON (the unit was not powered on).
    expect(await settle(s, A)).toEqual(['6,41,7']);
    // B was not touched: no unit attention.
    expect(await settle(s, B)).toEqual([]);
  });

  test('I_T nexus loss keeps the registrations and the persistent reservation', async () => {
    const s = await open();
    await settle(s, A);
    await settle(s, B);
    await run(s, A, prout(REGISTER_AND_IGNORE), list(0, 0xa1));
    await run(s, A, prout(RESERVE, EA), list(0xa1, 0));
    await s.pass(0).nexusLost(A);
    expect((await run(s, B, READ_1)).scsiStatus).toBe(RESERVATION_CONFLICT);
    expect(hex((await run(s, B, READ_KEYS)).data)).toBe('00 00 00 01 00 00 00 08 00 00 00 00 00 00 00 a1');
    await settle(s, A);
    expect((await run(s, A, READ_1)).camStatus).toBe(REQ_CMP);
  });

  test('nexus loss reaches the SIM past a frozen device queue (it waits for no I/O)', async () => {
    const s = await open();
    await settle(s, A);
    expect((await run(s, A, RESERVE6)).camStatus).toBe(REQ_CMP);
    const path = s.pass(0).path;
    s.xpt.freezeDevq(path, 1);
    const queued = run(s, B, RESERVE6);
    await s.pass(0).nexusLost(A);
    expect(s.stats(0).queued).toBe(1);
    s.xpt.releaseDevq(path, 1, true);
    // B's RESERVE(6) ran after the loss: its first command reports the power-on unit attention, then it reserves.
    expect(senseTriple((await queued).sense)).toEqual([6, 0x29, 0]);
    expect((await run(s, B, RESERVE6)).camStatus).toBe(REQ_CMP);
  });

  test('nexusLost resolves also when the device is gone; the XPT answers CAM_DEV_NOT_THERE for a path without a device', async () => {
    const s = await open();
    const status = await new Promise<number>((resolve) => {
      s.xpt.action(
        newNexusLost({ bus: s.pass(0).path.bus, target: 0, lun: 3 }, A.id, (c) => {
          resolve(c.status);
        }),
      );
    });
    expect(status).toBe(DEV_NOT_THERE);
    const p = s.pass(0);
    await s.close();
    stack = undefined;
    await expect(p.nexusLost(A)).resolves.toBeUndefined();
  });

  test('openings: the device queue tag limit, 0 once the device is gone', async () => {
    const s = await open();
    const p = s.pass(0);
    expect(p.openings()).toBe(s.stats(0).tagLimit);
    expect(p.openings()).toBeGreaterThan(0);
    await s.close();
    stack = undefined;
    expect(p.openings()).toBe(0);
  });
});

// A SANITIZE OVERWRITE goes on across device resets (SBC-4: a sanitize
// operation is not stopped by a reset or by aborting the SANITIZE command).
// The SIM resets the virtio-blk device for an ABORT TASK of the SANITIZE
// itself and for a LOGICAL UNIT RESET, and the reset fails the write it finds
// on the ring: the overwrite issues that write again once the device is back,
// and the medium ends up overwritten whole, with no sanitize failure mode.
// A SANITIZE command a reset catches is never re-issued (it would only find
// its own sanitize running): it ends as its ABORT TASK said, or, caught by a
// LOGICAL UNIT RESET, with what cut it short (CAM_BDR_SENT).
// A device that does not come back ends the sanitize as failed, at once.

import { expect, test } from 'vitest';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { resetDevice, senseTriple, until } from './helpers.js';
import { BS, fill, rig, type Rig } from './fault-rig.js';

const BLOCKS = 16_384;
const REQ_CMP = 0x01;
const REQ_ABORTED = 0x02;
/** CAM_BDR_SENT (FreeBSD cam.h): what a CCB the device reset cut short completes with. */
const BDR_SENT = 0x17;
const PATTERN = [0xde, 0xad, 0xbe, 0xef];

/**
 * SANITIZE (SBC-4): byte 0 48h; byte 1 bit 7 IMMED, bits 4..0 SERVICE ACTION
 * (01h OVERWRITE); bytes 7..8 PARAMETER LIST LENGTH; byte 9 CONTROL.
 */
const sanitizeOverwrite = (immed: boolean): Uint8Array => Uint8Array.of(0x48, (immed ? 0x80 : 0) | 0x01, 0, 0, 0, 0, 0, 0, 8, 0);
/**
 * OVERWRITE parameter list: byte 0 bit 7 INVERT, bits 4..0 OVERWRITE COUNT (1);
 * byte 1 reserved; bytes 2..3 INITIALIZATION PATTERN LENGTH (4); the pattern.
 */
const OVERWRITE_PARAMETERS = Uint8Array.of(0x01, 0x00, 0x00, 0x04, ...PATTERN);

/** TEST UNIT READY until GOOD; the sense triples it saw before. */
async function turUntilReady(r: Rig): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const t = await r.stack.pass(0).scsi({ cdb: new Uint8Array(6), direction: 'none' });
    if (t.scsiStatus === 0) return seen;
    const triple = senseTriple(t.sense)?.map((n) => n.toString(16).padStart(2, '0')).join('/') ?? `status ${t.scsiStatus}`;
    if (seen.at(-1) !== triple) seen.push(triple);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function expectOverwritten(r: Rig): Promise<void> {
  for (let lba = 0; lba < BLOCKS; lba += 2048) {
    const got = await r.stack.da(0).read(BigInt(lba), 2048);
    const bad = got.findIndex((b, i) => b !== PATTERN[i % 4]);
    expect(bad, `block ${lba + Math.floor(bad / BS)}`).toBe(-1);
  }
}

/** Holds the third write the sanitize issues; returns its byte offset once it is held. */
async function holdThirdWrite(r: Rig): Promise<{ offset: number }> {
  const held = { offset: -1 };
  let writes = 0;
  r.probe.holdIf = (op) => {
    if (op.kind !== 'write' || ++writes !== 3) return false;
    held.offset = op.offset;
    return true;
  };
  await until(() => r.probe.heldCount === 1, 'third sanitize write held');
  return held;
}

/** Writes at byte `offset` issued from now on. */
function writesAt(r: Rig, offset: number): { n: number } {
  const c = { n: 0 };
  r.probe.onStart = (op) => {
    if (op.kind === 'write' && op.offset === offset) c.n++;
  };
  return c;
}

test('ABORT TASK of the SANITIZE (a device reset with a write on the ring): the command ends CAM_REQ_ABORTED, the sanitize goes on, re-issues the write, and finishes', async () => {
  const r = await rig(BLOCKS);
  await fill(r, 0, 256, 1);
  let answer: ScsiResult | undefined;
  const cmd = r.stack.pass(0).submit({ cdb: sanitizeOverwrite(false), direction: 'out', data: OVERWRITE_PARAMETERS, timeoutMs: 60_000 }, (res) => {
    answer = res;
  });
  const held = await holdThirdWrite(r);
  const again = writesAt(r, held.offset);
  cmd.abort();
  // The device reset waits for the write the backend holds; let it go once the reset runs.
  await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started');
  r.probe.holdIf = undefined;
  r.probe.releaseHeld();
  await until(() => answer !== undefined, 'SANITIZE answered');
  expect(answer?.camStatus !== undefined ? answer.camStatus & 0x3f : undefined).toBe(REQ_ABORTED);

  // The reset's unit attention, then the sanitize in progress (02h/04h/1Bh) until it ends: never the failure mode (03h/31h/03h).
  const seen = await turUntilReady(r);
  expect(seen[0]).toBe('06/29/00');
  expect(seen).not.toContain('03/31/03');
  expect(again.n).toBe(1);
  expect(r.stack.sim.emulator.sanitizer.active).toBe(false);
  await expectOverwritten(r);
  await r.stack.close();
});

test('LOGICAL UNIT RESET (XPT_RESET_DEV) during a SANITIZE without IMMED: the command ends CAM_BDR_SENT, not re-issued to find its own sanitize running; the overwrite finishes', async () => {
  const r = await rig(BLOCKS);
  let answer: ScsiResult | undefined;
  let sent = 0;
  const prev = r.stack.sim.action.bind(r.stack.sim);
  r.stack.sim.action = (ccb) => {
    if (ccb.func === 0x901 && ccb.cdb[0] === 0x48) sent++;
    prev(ccb);
  };
  r.stack.pass(0).submit({ cdb: sanitizeOverwrite(false), direction: 'out', data: OVERWRITE_PARAMETERS, timeoutMs: 60_000 }, (res) => {
    answer = res;
  });
  await holdThirdWrite(r);
  const reset = resetDevice(r.stack);
  await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started');
  r.probe.holdIf = undefined;
  r.probe.releaseHeld();
  expect((await reset) & 0x3f).toBe(REQ_CMP);
  await until(() => answer !== undefined, 'SANITIZE answered');
  expect([answer?.camStatus !== undefined ? answer.camStatus & 0x3f : undefined, sent]).toEqual([BDR_SENT, 1]);
  const seen = await turUntilReady(r);
  expect(seen).not.toContain('03/31/03');
  expect(r.stack.sim.emulator.sanitizer.active).toBe(false);
  await expectOverwritten(r);
  await r.stack.close();
});

test('LOGICAL UNIT RESET (XPT_RESET_DEV) during an IMMED sanitize: the overwrite survives it and finishes', async () => {
  const r = await rig(BLOCKS);
  const answered = await r.stack.pass(0).scsi({ cdb: sanitizeOverwrite(true), direction: 'out', data: OVERWRITE_PARAMETERS });
  expect([answered.camStatus & 0x3f, answered.scsiStatus]).toEqual([REQ_CMP, 0]);
  const held = await holdThirdWrite(r);
  const again = writesAt(r, held.offset);
  const reset = resetDevice(r.stack);
  await until(() => r.stack.stats(0).simFrozen === 1, 'recovery started');
  // After the reset the sanitize is held again at its next write, so TEST UNIT READY must find it running.
  r.probe.holdIf = (op) => op.kind === 'write';
  r.probe.releaseHeld();
  expect((await reset) & 0x3f).toBe(REQ_CMP);
  await until(() => r.probe.heldCount === 1, 'the sanitize writing again after the reset');
  const tur = async (): Promise<string | undefined> => {
    const t = await r.stack.pass(0).scsi({ cdb: new Uint8Array(6), direction: 'none' });
    return senseTriple(t.sense)?.map((n) => n.toString(16).padStart(2, '0')).join('/');
  };
  expect([await tur(), await tur()]).toEqual(['06/29/03', '02/04/1b']);
  r.probe.holdIf = undefined;
  r.probe.releaseHeld();
  const seen = await turUntilReady(r);
  expect(seen).not.toContain('03/31/03');
  expect(again.n).toBe(1);
  await expectOverwritten(r);
  await r.stack.close();
});

test('the device is lost during the sanitize: the sanitize ends failed rather than wait for a device that never comes back', async () => {
  const r = await rig(BLOCKS, { resetTimeoutMs: 100 });
  await r.stack.pass(0).scsi({ cdb: sanitizeOverwrite(true), direction: 'out', data: OVERWRITE_PARAMETERS });
  await holdThirdWrite(r);
  void resetDevice(r.stack);
  await until(() => r.stack.virtio.transport.lost() !== undefined, 'device lost');
  await until(() => r.stack.sim.emulator.sanitizer.inProgress() === undefined, 'sanitize ended');
  expect(r.stack.sim.emulator.sanitizer.active).toBe(true);
  r.probe.releaseHeld();
  await r.stack.close();
});

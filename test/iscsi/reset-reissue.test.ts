// A device reset that catches another session's command at the device, end to
// end over loopback TCP. Session A's ABORT TASK of a READ the device is
// running resets the device (virtio-blk cannot cancel one request), and the
// XPT re-issues session B's WRITE, which the device held at the same time.
// Received before the reset, the WRITE is not B's next command (SAM-5 unit
// attention condition): it answers GOOD, its data on the medium, and B's next
// command gets the reset's unit attention (29h/00h), once. Answered CHECK
// CONDITION, UNIT ATTENTION, it would tell B that it was not executed while
// its data had landed; an iSCSI initiator takes that at its word.
// PDUs are built from RFC 7143's tables (initiator.ts).

import { describe, expect, it } from 'vitest';
import { bhsOf, pdu } from './initiator.js';
import { BS, read10, readBlock, senseOfTur as ua, sessionsTargets, tmfResponse } from './two-sessions.js';
import { until } from '../stack/helpers.js';

const IQN = 'iqn.2026-11.org.vtcam:reissue';
const LBA = 100;
/** WRITE (10) of one block at `lba` (< 256). */
const write10 = (lba: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, 1, 0);
/** Task Management Function Request function ABORT TASK (§11.5.1). */
const ABORT_TASK = 1;

const target = sessionsTargets(IQN);

describe("a command of another session at the device when an ABORT TASK resets it", () => {
  it("B's WRITE answers GOOD with its data there; B's next command gets 29h/00h once, as A's does", async () => {
    const t = await target(false);
    const a = await t.login(1n);
    const b = await t.login(2n);
    t.probe.holdIf = (op) => op.kind === 'read' || (op.kind === 'write' && op.offset === LBA * BS);
    const readCmdSN = a.cmdSN;
    const readItt = a.command({ cdb: read10(3), read: true, edtl: BS });
    const data = new Uint8Array(BS).fill(0x77);
    // ImmediateData=Yes: the WRITE goes to the unit with its data at once.
    const writeItt = b.command({ cdb: write10(LBA), write: true, edtl: BS, data });
    await until(() => t.probe.heldCount === 2, 'the READ and the WRITE at the device');
    // Task Management Function Request (§11.5): immediate, F | ABORT TASK, ITT, RTT, CmdSN, ExpStatSN, RefCmdSN.
    a.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | ABORT_TASK, 1], [16, 700, 4], [20, readItt, 4], [24, a.cmdSN, 4], [28, a.expStatSN, 4], [32, readCmdSN, 4]])));
    // The SIM aborts a command at the device by resetting it; what the device held is let go once the reset is under way.
    await until(() => t.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
    t.probe.holdIf = undefined;
    t.probe.releaseHeld();
    expect(await tmfResponse(a, 700)).toBe(0);
    expect((await b.result(writeItt)).status).toBe(0);
    expect(await ua(b)).toEqual([0x06, 0x29, 0x00]);
    expect(await ua(b)).toBeUndefined();
    expect(await readBlock(b, LBA)).toEqual(data);
    expect(await ua(a)).toEqual([0x06, 0x29, 0x00]);
    expect(await ua(a)).toBeUndefined();
  });
});

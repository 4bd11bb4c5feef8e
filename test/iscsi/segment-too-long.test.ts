// PDUs whose data segment is over the target's MaxRecvDataSegmentLength
// (RFC 7143 §13.12: 256 KiB, what the target declares), end to end over
// loopback TCP. Each gets a Reject, Protocol Error (04h, §11.17.1), carrying
// its header, and its data is skipped unread; a Reject alone ends no task
// (§7.3). A Data-Out still counts for its WRITE by its header, as one dropped
// for its data digest does, and the WRITE ends CHECK CONDITION, ABORTED
// COMMAND, DATA PHASE ERROR (4Bh/00h) once its sequences close, nothing
// written. A SCSI Command is no command: no task, its CmdSN not received
// (§7.3), so the commands after it wait until the initiator sends it again or
// aborts it, an ABORT TASK naming its CmdSN filling the gap (§11.5.1). PDUs
// are built and read by offset from RFC 7143's tables (initiator.ts); sense
// bytes are fixed format (SPC-5), written out.

import { describe, expect, it } from 'vitest';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, pdu, type RawPdu } from './initiator.js';
import { hex } from './hex.js';
import { BS, TUR, oneLunServer, read10, responseOf, write10 } from './one-lun-server.js';

const IQN = 'iqn.2026-11.org.vtcam:segment-too-long';
/** What the target declares (parameters.ts), and so the longest data segment it takes. */
const MRDSL = 256 * 1024;
/** Opcodes (§11.2.1.2): SCSI Response, Task Management Function Response, R2T, Reject. */
const SCSI_RESPONSE = 0x21;
const TMF_RESPONSE = 0x22;
const R2T = 0x31;
const REJECT = 0x3f;
/**
 * The SCSI Response's data segment: SenseLength 0012h (§11.4.7.1), then fixed-format sense (SPC-5): 70h,
 * SENSE KEY 0Bh ABORTED COMMAND (byte 2), ADDITIONAL SENSE LENGTH 0Ah (byte 7), ASC 4Bh (byte 12), ASCQ 00h
 * (byte 13): DATA PHASE ERROR.
 */
const DATA_PHASE_ERROR_DATA = '00 12 70 00 0b 00 00 00 00 0a 00 00 00 00 4b 00 00 00 00 00';

const target = oneLunServer(IQN);

/** A session with the target's defaults, its power-on unit attention seen. */
async function session(isid: bigint): Promise<TestInitiator> {
  const { ini, agreed } = await target.session(isid);
  expect(agreed['MaxRecvDataSegmentLength']).toBe(String(MRDSL));
  return ini;
}

/** A Reject (§11.17): Reason at byte 2, ExpCmdSN at 28; its data segment is the rejected PDU's header. */
const rejectOf = (p: RawPdu): { opcode: number; reason: number; expCmdSN: number; header: string } => ({ opcode: opcodeOf(p), reason: p.bhs[2] ?? -1, expCmdSN: field32(p, 28), header: hex(p.data) });

describe('a Data-Out over MaxRecvDataSegmentLength', () => {
  it('a Reject (04h) carrying its header, then the SCSI Response CHECK CONDITION 0Bh/4Bh/00h; nothing written; the session goes on', async () => {
    const ini = await session(0x23d0_0000_5e01n);
    const blocks = MRDSL / BS;
    const itt = ini.command({ cdb: write10(0, blocks), write: true, edtl: MRDSL });
    const r2t = await ini.next((p) => opcodeOf(p) === R2T && ittOf(p) === itt);
    // R2T (§11.8): TTT at 20, Buffer Offset at 40, Desired Data Transfer Length at 44.
    expect([field32(r2t, 40), field32(r2t, 44)]).toEqual([0, MRDSL]);
    ini.dataOut({ itt, ttt: field32(r2t, 20), dataSN: 0, offset: 0, data: new Uint8Array(MRDSL + 4).fill(0xee), final: true });
    const sent = hex(ini.lastHeader);
    expect(rejectOf(await ini.next((p) => opcodeOf(p) === REJECT || ittOf(p) === itt))).toEqual({ opcode: REJECT, reason: 0x04, expCmdSN: ini.cmdSN, header: sent });
    const r = (await ini.result(itt)).response;
    // Completed at target (00h), CHECK CONDITION (02h), one R2T sent, all of EDTL unused (F | U: 82h).
    expect(responseOf(r)).toEqual({
      opcode: SCSI_RESPONSE,
      flags: 0x82,
      response: 0,
      status: 0x02,
      expDataSN: 1,
      residual: MRDSL,
      data: DATA_PHASE_ERROR_DATA,
    });
    const back = await ini.result(ini.command({ cdb: read10(0, blocks), read: true, edtl: MRDSL }));
    expect(back.status).toBe(0);
    expect(back.data).toEqual(new Uint8Array(MRDSL));
  });
});

describe('a SCSI Command with immediate data over MaxRecvDataSegmentLength', () => {
  it('a Reject (04h) and no task; its CmdSN is not taken: the next command waits until ABORT TASK names it, then runs', async () => {
    const ini = await session(0x23d0_0000_5e02n);
    const cmdSN = ini.cmdSN;
    const itt = ini.command({ cdb: write10(0, MRDSL / BS + 1), write: true, edtl: MRDSL + BS, data: new Uint8Array(MRDSL + 4) });
    expect(rejectOf(await ini.next((p) => opcodeOf(p) === REJECT || ittOf(p) === itt))).toEqual({ opcode: REJECT, reason: 0x04, expCmdSN: cmdSN, header: hex(ini.lastHeader) });
    const next = ini.command({ cdb: TUR, edtl: 0 });
    expect(await ini.silence((p) => ittOf(p) === itt || ittOf(p) === next, 200)).toBe(true);
    // Task Management Function Request (§11.5): immediate, F | ABORT TASK (1), ITT, RTT at 20, CmdSN, ExpStatSN, RefCmdSN at 32.
    ini.send(pdu(bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 1, 1], [16, 960, 4], [20, itt, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4], [32, cmdSN, 4]])));
    // Response at byte 2: 00h function complete.
    expect((await ini.next((p) => opcodeOf(p) === TMF_RESPONSE && ittOf(p) === 960)).bhs[2]).toBe(0);
    expect((await ini.result(next)).status).toBe(0);
  });
});

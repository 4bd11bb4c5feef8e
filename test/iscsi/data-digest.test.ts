// Data digest errors end to end over loopback TCP, HeaderDigest and
// DataDigest CRC32C, ErrorRecoveryLevel 0 (RFC 7143 §7.8). A PDU whose data
// digest is wrong is answered with a Reject, reason 02h (§11.17.1), carrying
// its header, and discarded. A discarded Data-Out still ends its WRITE: ERL 0
// has no recovery R2T, so once all the data is in (each outstanding R2T
// answered up to its F bit) the target sends a SCSI Response, CHECK
// CONDITION, ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR (§11.4.7.2), and
// nothing is written; an ABORT TASK during the wait ends it instead. A
// discarded SCSI Command (its immediate data failed) is no command: no task,
// its CmdSN not taken, so the commands after it wait for the initiator's retry
// (§7.2.1). PDUs are built and read by offset from RFC 7143's tables
// (initiator.ts); sense bytes are fixed format (SPC-5), written out.

import { describe, expect, it } from 'vitest';
import { TestInitiator, bhsOf, field32, ittOf, opcodeOf, pdu, type RawPdu } from './initiator.js';
import { hex } from './hex.js';
import { BS, TUR, oneLunServer, readBlocks, responseOf, write10 } from './one-lun-server.js';

const IQN = 'iqn.2026-11.org.vtcam:data-digest';
/** Opcodes (§11.2.1.2): SCSI Response, Task Management Function Response, R2T, Reject. */
const SCSI_RESPONSE = 0x21;
const TMF_RESPONSE = 0x22;
const R2T = 0x31;
const REJECT = 0x3f;
/**
 * The SCSI Response's data segment: SenseLength 0012h (§11.4.7.1), then fixed-format sense (SPC-5): 70h,
 * SENSE KEY 0Bh ABORTED COMMAND (byte 2), ADDITIONAL SENSE LENGTH 0Ah (byte 7), ASC 47h (byte 12), ASCQ 05h
 * (byte 13): PROTOCOL SERVICE CRC ERROR.
 */
const CRC_ERROR_DATA = '00 12 70 00 0b 00 00 00 00 0a 00 00 00 00 47 05 00 00 00 00';

const target = oneLunServer(IQN);

/** A session with both digests on and bursts of two blocks (one R2T at a time), its power-on unit attention seen. */
async function digestSession(isid: bigint): Promise<TestInitiator> {
  const { ini, agreed } = await target.session(isid, { HeaderDigest: 'CRC32C', DataDigest: 'CRC32C', MaxBurstLength: String(2 * BS), FirstBurstLength: String(2 * BS) });
  expect([agreed['HeaderDigest'], agreed['DataDigest'], agreed['MaxBurstLength']]).toEqual(['CRC32C', 'CRC32C', String(2 * BS)]);
  return ini;
}

/** A WRITE (10) without immediate data and its first R2T (§11.8: TTT at 20, Buffer Offset at 40, Desired Data Transfer Length at 44). */
async function writeToR2t(ini: TestInitiator, lba: number, blocks: number): Promise<{ itt: number; cmdSN: number; ttt: number }> {
  const cmdSN = ini.cmdSN;
  const itt = ini.command({ cdb: write10(lba, blocks), write: true, edtl: blocks * BS });
  const r2t = await ini.next((p) => opcodeOf(p) === R2T && ittOf(p) === itt);
  expect([field32(r2t, 40), field32(r2t, 44)]).toEqual([0, Math.min(blocks, 2) * BS]);
  return { itt, cmdSN, ttt: field32(r2t, 20) };
}

/**
 * A Reject (§11.17): opcode 3Fh, byte 1 80h, Reason at byte 2, DataSegmentLength 48 (bytes 5..7), ITT
 * FFFFFFFFh, ExpCmdSN at 28; its data segment is the rejected PDU's header.
 */
function rejectOf(p: RawPdu): { opcode: number; flags: number; reason: number; length: number; itt: number; expCmdSN: number; header: string } {
  const length = ((p.bhs[5] ?? 0) << 16) | ((p.bhs[6] ?? 0) << 8) | (p.bhs[7] ?? 0);
  return { opcode: opcodeOf(p), flags: p.bhs[1] ?? -1, reason: p.bhs[2] ?? -1, length, itt: ittOf(p), expCmdSN: field32(p, 28), header: hex(p.data) };
}

/**
 * A SCSI Response (§11.4): byte 1 flags (F 80h, U 02h: underflow), Response at 2, Status at 3, ExpDataSN at
 * 36, Residual Count at 44, and its data segment.
 */
/** The next Reject or SCSI Response for `itt`, whichever came first. */
const rejectOrResponse = (ini: TestInitiator, itt: number): Promise<RawPdu> => ini.next((p) => opcodeOf(p) === REJECT || (opcodeOf(p) === SCSI_RESPONSE && ittOf(p) === itt));

describe('a Data-Out with a wrong data digest (DataDigest=CRC32C, ERL 0)', () => {
  it('the last one: a Reject (02h) carrying its header, then the SCSI Response CHECK CONDITION 0Bh/47h/05h; nothing written; the session goes on', async () => {
    const ini = await digestSession(0x23d0_0000_0d01n);
    const w = await writeToR2t(ini, 100, 2);
    ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xab), final: false });
    ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 1, offset: BS, data: new Uint8Array(BS).fill(0xab), final: true, badDataDigest: true });
    const sent = hex(ini.lastHeader);
    // The Reject first; its ExpCmdSN is the next CmdSN, as a Data-Out takes none.
    expect(rejectOf(await rejectOrResponse(ini, w.itt))).toEqual({ opcode: REJECT, flags: 0x80, reason: 0x02, length: 48, itt: 0xffff_ffff, expCmdSN: ini.cmdSN, header: sent });
    const r = await ini.result(w.itt);
    // Completed at target (00h), CHECK CONDITION (02h), one R2T sent, all 1024 bytes of EDTL unused.
    expect(responseOf(r.response)).toEqual({ opcode: SCSI_RESPONSE, flags: 0x82, response: 0, status: 0x02, expDataSN: 1, residual: 2 * BS, data: CRC_ERROR_DATA });
    expect(await readBlocks(ini, 100, 2)).toEqual(new Uint8Array(2 * BS));
  });

  it('one before the F bit: no response until the burst is answered, no R2T for the rest, then 0Bh/47h/05h; nothing written', async () => {
    const ini = await digestSession(0x23d0_0000_0d02n);
    const w = await writeToR2t(ini, 110, 4);
    ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xcd), final: false, badDataDigest: true });
    expect(rejectOf(await rejectOrResponse(ini, w.itt))).toMatchObject({ reason: 0x02, header: hex(ini.lastHeader) });
    expect(await ini.silence((p) => ittOf(p) === w.itt, 200)).toBe(true);
    // In sequence after the discarded PDU: DataSN 1 at offset 512, the burst's F bit.
    ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 1, offset: BS, data: new Uint8Array(BS).fill(0xcd), final: true });
    const r = await rejectOrResponse(ini, w.itt);
    expect(responseOf(r)).toEqual({ opcode: SCSI_RESPONSE, flags: 0x82, response: 0, status: 0x02, expDataSN: 1, residual: 4 * BS, data: CRC_ERROR_DATA });
    expect(await ini.silence((p) => ittOf(p) === w.itt || opcodeOf(p) === REJECT, 100)).toBe(true);
    expect(await readBlocks(ini, 110, 4)).toEqual(new Uint8Array(4 * BS));
  });

  it('ABORT TASK while the WRITE waits for its data: function complete, no SCSI Response, the rest taken without a Reject; nothing written', async () => {
    const ini = await digestSession(0x23d0_0000_0d03n);
    const w = await writeToR2t(ini, 120, 2);
    ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 0, offset: 0, data: new Uint8Array(BS).fill(0xef), final: false, badDataDigest: true });
    expect(rejectOf(await rejectOrResponse(ini, w.itt)).reason).toBe(0x02);
    // Task Management Function Request (§11.5): immediate, F | ABORT TASK (1), ITT, RTT at 20, CmdSN, ExpStatSN, RefCmdSN at 32.
    const abort = bhsOf([[0, 0x02 | 0x40, 1], [1, 0x80 | 1, 1], [16, 950, 4], [20, w.itt, 4], [24, ini.cmdSN, 4], [28, ini.expStatSN, 4], [32, w.cmdSN, 4]]);
    ini.send(pdu(abort, new Uint8Array(0), ini.digests));
    // Response at byte 2: 00h function complete.
    expect((await ini.next((p) => opcodeOf(p) === TMF_RESPONSE && ittOf(p) === 950)).bhs[2]).toBe(0);
    ini.dataOut({ itt: w.itt, ttt: w.ttt, dataSN: 1, offset: BS, data: new Uint8Array(BS).fill(0xef), final: true });
    expect(await ini.silence((p) => ittOf(p) === w.itt || opcodeOf(p) === REJECT, 200)).toBe(true);
    expect(await readBlocks(ini, 120, 2)).toEqual(new Uint8Array(2 * BS));
  });
});

describe('a SCSI Command whose immediate data has a wrong data digest', () => {
  it('a Reject (02h) and no task; its CmdSN is not taken, so the next command waits for the retry, which runs', async () => {
    const ini = await digestSession(0x23d0_0000_0d04n);
    const data = new Uint8Array(BS).fill(0x5a);
    const cmdSN = ini.cmdSN;
    const itt = ini.command({ cdb: write10(130, 1), write: true, edtl: BS, data, badDataDigest: true });
    // ExpCmdSN at 28 still the discarded command's CmdSN.
    expect(rejectOf(await rejectOrResponse(ini, itt))).toEqual({ opcode: REJECT, flags: 0x80, reason: 0x02, length: 48, itt: 0xffff_ffff, expCmdSN: cmdSN, header: hex(ini.lastHeader) });
    const next = ini.command({ cdb: TUR, edtl: 0 });
    expect(await ini.silence((p) => ittOf(p) === itt || ittOf(p) === next, 200)).toBe(true);
    // The retry: the same ITT and CmdSN, and the immediate data again.
    ini.command({ cdb: write10(130, 1), write: true, edtl: BS, data, itt, cmdSN });
    expect((await ini.result(itt)).status).toBe(0);
    expect((await ini.result(next)).status).toBe(0);
    expect(await readBlocks(ini, 130, 1)).toEqual(data);
  });
});

// A WRITE whose R2T is answered short, end to end over loopback TCP (RFC 7143
// §11.8.4: an R2T asks for exactly its Desired Data Transfer Length; §11.7.1:
// the F bit ends the sequence answering it). A burst ended by its F bit before
// all it asked for is a broken sequence: the WRITE ends CHECK CONDITION,
// ABORTED COMMAND, DATA PHASE ERROR (4Bh/00h) at once, as the target's other
// Data-Out sequence faults do, with no further R2T, and nothing is written —
// neither the bytes sent nor zeros for those that were not. PDUs are built
// and read by offset from RFC 7143's tables (initiator.ts); sense bytes are
// fixed format (SPC-5), written out.

import { describe, expect, it } from 'vitest';
import { TestInitiator, field32, ittOf, opcodeOf } from './initiator.js';
import { BS, oneLunServer, readBlocks, responseOf, write10 } from './one-lun-server.js';

const IQN = 'iqn.2026-11.org.vtcam:data-out-short';
/** Bursts of two blocks: a four-block WRITE takes two R2Ts (MaxOutstandingR2T is 1). */
const BURST = 2 * BS;
/** Opcodes (§11.2.1.2): SCSI Response, R2T. */
const SCSI_RESPONSE = 0x21;
const R2T = 0x31;
/**
 * The SCSI Response's data segment: SenseLength 0012h (§11.4.7.1), then fixed-format sense (SPC-5): 70h,
 * SENSE KEY 0Bh ABORTED COMMAND (byte 2), ADDITIONAL SENSE LENGTH 0Ah (byte 7), ASC 4Bh (byte 12), ASCQ 00h
 * (byte 13): DATA PHASE ERROR.
 */
const DATA_PHASE_ERROR_DATA = '00 12 70 00 0b 00 00 00 00 0a 00 00 00 00 4b 00 00 00 00 00';
const OLD = 0x5a;
const NEW = 0xc3;

const target = oneLunServer(IQN);

/** A session with bursts of two blocks, its power-on unit attention seen. */
async function session(isid: bigint): Promise<TestInitiator> {
  const { ini, agreed } = await target.session(isid, { MaxBurstLength: String(BURST), FirstBurstLength: String(BURST) });
  expect(agreed['MaxBurstLength']).toBe(String(BURST));
  return ini;
}

/** The next R2T or SCSI Response for `itt`, whichever comes first. */
const r2tOrResponse = (ini: TestInitiator, itt: number) => ini.next((p) => ittOf(p) === itt && (opcodeOf(p) === R2T || opcodeOf(p) === SCSI_RESPONSE));

/** A WRITE (10) of `blocks` blocks of `fill` at `lba`, every R2T answered in full, GOOD. */
async function writeBlocks(ini: TestInitiator, lba: number, blocks: number, fill: number): Promise<void> {
  const itt = ini.command({ cdb: write10(lba, blocks), write: true, edtl: blocks * BS });
  let p = await r2tOrResponse(ini, itt);
  for (; opcodeOf(p) === R2T; p = await r2tOrResponse(ini, itt)) {
    // R2T (§11.8): TTT at 20, Buffer Offset at 40, Desired Data Transfer Length at 44.
    ini.dataOut({ itt, ttt: field32(p, 20), dataSN: 0, offset: field32(p, 40), data: new Uint8Array(field32(p, 44)).fill(fill), final: true });
  }
  // SCSI Response (§11.4): Status at byte 3.
  expect(p.bhs[3]).toBe(0);
}

describe('a WRITE whose burst ends short at its F bit', () => {
  it.each([
    ['the first of two R2Ts, answered by one block with F', 1, 4, BS],
    ['the first of two R2Ts, answered by an empty Data-Out with F', 2, 4, 0],
    ['its only R2T, answered by one block with F (the unit used to answer 0Eh/03h)', 3, 2, BS],
  ] as const)('%s: CHECK CONDITION 0Bh/4Bh/00h at once, no further R2T, nothing written', async (_, n, blocks, bytes) => {
    const ini = await session(0x23d0_0000_5b00n + BigInt(n));
    const lba = 100 + 10 * n;
    await writeBlocks(ini, lba, blocks, OLD);
    const itt = ini.command({ cdb: write10(lba, blocks), write: true, edtl: blocks * BS });
    const r2t = await r2tOrResponse(ini, itt);
    expect([opcodeOf(r2t), field32(r2t, 40), field32(r2t, 44)]).toEqual([R2T, 0, BURST]);
    ini.dataOut({ itt, ttt: field32(r2t, 20), dataSN: 0, offset: 0, data: new Uint8Array(bytes).fill(NEW), final: true });
    // The Response, not a second R2T: byte 1 F | U (82h), Response 00h, Status 02h, ExpDataSN 1 (one R2T),
    // Residual Count all of EDTL, the sense above.
    const r = await r2tOrResponse(ini, itt);
    expect(responseOf(r)).toEqual({
      opcode: SCSI_RESPONSE,
      flags: 0x82,
      response: 0,
      status: 0x02,
      expDataSN: 1,
      residual: blocks * BS,
      data: DATA_PHASE_ERROR_DATA,
    });
    expect(await readBlocks(ini, lba, blocks)).toEqual(new Uint8Array(blocks * BS).fill(OLD));
  });
});

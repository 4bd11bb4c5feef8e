// A command that must not run twice, cut short by the target's own recovery,
// end to end over loopback TCP: a COMPARE AND WRITE whose verify read the
// device holds when the SIM resets the device (XPT_RESET_DEV, or the recovery
// of another CCB that timed out). Nobody aborted it, so the initiator gets a
// SCSI Response (RFC 7143 §11.4) rather than silence: CHECK CONDITION,
// ABORTED COMMAND, COMMAND TIMEOUT DURING PROCESSING DUE TO ERROR RECOVERY
// (SPC-5 ASC/ASCQ assignments, 2Eh/03h). The command does not run again (the
// medium keeps its data), and the connection goes on serving: the reset's
// unit attention, then GOOD.
// PDUs are built from RFC 7143's tables (initiator.ts); sense bytes are fixed
// format (SPC-5), written out.

import { describe, expect, test } from 'vitest';
import { opcodeOf, type TestInitiator } from './initiator.js';
import { hex } from './hex.js';
import { BS, read10, senseOfTur, sessionsTargets, type SessionsTarget } from './two-sessions.js';
import { resetDevice, until } from '../stack/helpers.js';

const IQN = 'iqn.2026-11.org.vtcam:cut-short';
const LBA = 7;
/** COMPARE AND WRITE (SBC-4): 89h, LOGICAL BLOCK ADDRESS bytes 2..9, NUMBER OF LOGICAL BLOCKS byte 13. */
const COMPARE_AND_WRITE = Uint8Array.of(0x89, 0, 0, 0, 0, 0, 0, 0, 0, LBA, 0, 0, 0, 1, 0, 0);
/** SCSI Response opcode (§11.4). */
const SCSI_RESPONSE = 0x21;
/**
 * The Response's data segment: SenseLength 0012h (§11.4.7.2), then fixed-format sense (SPC-5): response code
 * 70h, SENSE KEY 0Bh ABORTED COMMAND (byte 2), ADDITIONAL SENSE LENGTH 0Ah (byte 7), ASC 2Eh (byte 12), ASCQ 03h
 * (byte 13): COMMAND TIMEOUT DURING PROCESSING DUE TO ERROR RECOVERY.
 */
const CUT_SHORT_SENSE = '00 12 70 00 0b 00 00 00 00 0a 00 00 00 00 2e 03 00 00 00 00';

const target = sessionsTargets(IQN);

/**
 * Ways the target's recovery comes while the device holds a read: how to start it, and the unit attention the
 * reset leaves (SAM-5: 29h/03h after a LOGICAL UNIT RESET, XPT_RESET_DEV; 29h/00h after the bus reset a timeout's
 * recovery is).
 */
const RECOVERIES = {
  XPT_RESET_DEV: { start: (t: SessionsTarget): Promise<unknown> => resetDevice(t.stack), unitAttention: [0x06, 0x29, 0x03] },
  'another CCB timed out': {
    start: (t: SessionsTarget): Promise<unknown> => t.stack.pass(0).scsi({ cdb: read10(900), direction: 'in', length: BS, timeoutMs: 50 }),
    unitAttention: [0x06, 0x29, 0x00],
  },
} as const;

/** READ (10) of one block through `ini`: status and data. */
async function readBlock(ini: TestInitiator, lba: number): Promise<{ status: number; data: string }> {
  const r = await ini.result(ini.command({ cdb: read10(lba), read: true, edtl: BS }));
  return { status: r.status, data: hex(r.data) };
}

describe('a COMPARE AND WRITE the target’s own recovery cut short', () => {
  for (const [name, recovery] of Object.entries(RECOVERIES)) {
    test(`${name}: SCSI Response, CHECK CONDITION, ABORTED COMMAND 2Eh/03h; not run again; the connection goes on`, async () => {
      const t = await target(false);
      const ini = await t.login(0x23d0_0000_0001n);
      // Verify the zeros the disk holds, then write 0xab (immediate data: verify block, write block).
      const data = new Uint8Array(2 * BS);
      data.fill(0xab, BS);
      t.held.on = true;
      const itt = ini.command({ cdb: COMPARE_AND_WRITE, write: true, edtl: 2 * BS, data });
      await until(() => t.probe.heldCount === 1, 'the COMPARE AND WRITE verify read held by the device');
      const recovering = recovery.start(t);
      await until(() => t.stack.stats(0).simFrozen === 1, 'recovery started', 2000);
      t.held.on = false;
      t.probe.releaseHeld();
      await recovering;
      const r = await ini.result(itt);
      // Response byte 2: 00h Command Completed at Target; Status byte 3: 02h CHECK CONDITION.
      expect({ opcode: opcodeOf(r.response), response: r.response.bhs[2], status: r.status, data: hex(r.response.data) }).toEqual({
        opcode: SCSI_RESPONSE,
        response: 0,
        status: 0x02,
        data: CUT_SHORT_SENSE,
      });
      expect(await senseOfTur(ini)).toEqual(recovery.unitAttention);
      expect(await senseOfTur(ini)).toBeUndefined();
      // The write never reached the medium: the block still reads as zeros.
      expect(await readBlock(ini, LBA)).toEqual({ status: 0, data: hex(new Uint8Array(BS)) });
    });
  }
});

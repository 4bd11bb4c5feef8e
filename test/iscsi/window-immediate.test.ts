// The command window and immediate commands (RFC 7143 §3.2.2.1, §4.2.2.1):
// an immediate command takes no CmdSN, so it takes no room in the window
// either. Were it counted, MaxCmdSN would move backwards, which an initiator
// ignores: it would go on sending up to the MaxCmdSN it already held, and the
// target would drop those commands as outside the window, leaving a gap no
// later command gets past. PDUs are built from RFC 7143's tables
// (initiator.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { field32, opcodeOf, type RawPdu } from './initiator.js';
import { sessionsTarget, tur, type SessionsTarget } from './two-sessions.js';
import { snLt } from '../../src/iscsi/serial.js';

const IQN = 'iqn.2026-11.org.vtcam:window-immediate';
/** SCSI Response and R2T opcodes (§11.2.1.2); every target PDU here carries ExpCmdSN at 28 and MaxCmdSN at 32. */
const SCSI_RESPONSE = 0x21;
const R2T = 0x31;
const maxCmdSNOf = (p: RawPdu): number => field32(p, 32);
const write10 = (lba: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, lba, 0, 0, 1, 0);

let t: SessionsTarget;
beforeAll(async () => {
  t = await sessionsTarget(IQN, false);
});
afterAll(async () => {
  await t.close();
});

describe('immediate commands and MaxCmdSN', () => {
  it('a window full of immediate WRITEs waiting for data moves MaxCmdSN nowhere, and every command up to it is answered', async () => {
    const ini = await t.login(0x23d0_0000_0021n);
    const first = await ini.result(ini.command({ cdb: tur, edtl: 0 }));
    const expCmdSN = field32(first.response, 28);
    const advertised = maxCmdSNOf(first.response);
    const window = ((advertised - expCmdSN + 1) >>> 0);
    expect(window).toBeGreaterThan(4);

    // Immediate WRITEs (I bit, no CmdSN taken), each held at its R2T: one less than the window.
    const writes: number[] = [];
    for (let i = 0; i < window - 1; i++) writes.push(ini.command({ cdb: write10(i), write: true, edtl: 512, immediate: true }));
    for (const itt of writes) {
      const r2t = await ini.next((p) => opcodeOf(p) === R2T && field32(p, 16) === itt);
      expect(snLt(maxCmdSNOf(r2t), advertised)).toBe(false);
    }

    // A whole window of ordinary TEST UNIT READYs, CmdSN ExpCmdSN..MaxCmdSN as first told: each one answered.
    const turs: number[] = [];
    for (let i = 0; i < window; i++) turs.push(ini.command({ cdb: tur, edtl: 0 }));
    for (const itt of turs) {
      const r = await ini.result(itt);
      expect(r.status).toBe(0);
      expect(opcodeOf(r.response)).toBe(SCSI_RESPONSE);
      expect(snLt(maxCmdSNOf(r.response), advertised)).toBe(false);
    }
  });
});

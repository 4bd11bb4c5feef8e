// What the target learns from a LUN before it exports it, asked through the
// LUN's pass periph like any initiator's command: the logical block length
// (READ CAPACITY (16), or (10) for a device without it; SBC-4 §5.16, §5.17)
// to turn an Expected Data Transfer Length into blocks (transfer.ts), the
// MAXIMUM TRANSFER LENGTH of the Block Limits VPD page (SBC-4 §6.6.4) to bound
// the buffer one command may make the target allocate, and the TAS bit of the
// Control mode page (SPC-5): how a task of one session ends when another
// session's task management aborts it before it has reached the logical unit
// (session.ts), the way the unit ends the commands it holds.

import type { PassPeriph } from '../cam/periph/pass.js';
import { CamStatus, CAM_STATUS_MASK } from '../cam/status.js';
import type { ScsiResult } from '../cam/periph/request.js';
import { encodeReadCapacity10, encodeReadCapacity16 } from '../scsi/cdb/capacity.js';
import { encodeInquiry } from '../scsi/cdb/inquiry.js';
import { encodeModeSense } from '../scsi/cdb/mode.js';
import { ModePageCode } from '../scsi/mode-pages.js';

/** Buffer bound for a LUN whose Block Limits give no MAXIMUM TRANSFER LENGTH (0: no limit reported). */
export const DEFAULT_MAX_COMMAND_BYTES = 64 * 2 ** 20;

/** What the target needs to know about a LUN. */
export interface LunProfile {
  readonly blockSize: number;
  /** The most data one command may move: MAXIMUM TRANSFER LENGTH × block size, capped at DEFAULT_MAX_COMMAND_BYTES. */
  readonly maxCommandBytes: number;
  /**
   * TAS, current value (false when the unit reports no Control mode page): a
   * command that another I_T nexus's task management aborts ends with TASK
   * ABORTED status rather than without a response.
   */
  readonly taskAbortedStatus: boolean;
}

const u32 = (d: Uint8Array, at: number): number => (((d[at] ?? 0) << 24) | ((d[at + 1] ?? 0) << 16) | ((d[at + 2] ?? 0) << 8) | (d[at + 3] ?? 0)) >>> 0;
const good = (r: ScsiResult, min: number): Uint8Array | undefined =>
  (r.camStatus & CAM_STATUS_MASK) === CamStatus.REQ_CMP && r.data !== undefined && r.data.length >= min ? r.data : undefined;

/**
 * The LUN's block size, transfer bound and TAS.
 * @throws Error when neither READ CAPACITY answers (the LUN cannot be exported).
 */
export async function probeLun(pass: PassPeriph): Promise<LunProfile> {
  // UNIT ATTENTIONs from power-on or a reset come first; a few retries clear them (SAM-5 §5.14).
  for (let attempt = 0; attempt < 4; attempt++) {
    // RC16: LOGICAL BLOCK LENGTH IN BYTES at bytes 8..11; RC10: at bytes 4..7.
    const r16 = good(await pass.scsi({ cdb: encodeReadCapacity16({ allocationLength: 32 }), direction: 'in', length: 32 }), 12);
    const blockSize = r16 !== undefined ? u32(r16, 8) : u32(good(await pass.scsi({ cdb: encodeReadCapacity10({}), direction: 'in', length: 8 }), 8) ?? new Uint8Array(8), 4);
    if (blockSize === 0) continue;
    // Block Limits (B0h): MAXIMUM TRANSFER LENGTH in blocks at bytes 8..11; 0 or a missing page: no limit.
    const b0 = good(await pass.scsi({ cdb: encodeInquiry({ evpd: true, pageCode: 0xb0, allocationLength: 64 }), direction: 'in', length: 64 }), 12);
    const maxBlocks = b0 === undefined ? 0 : u32(b0, 8);
    const maxCommandBytes = maxBlocks === 0 ? DEFAULT_MAX_COMMAND_BYTES : Math.min(DEFAULT_MAX_COMMAND_BYTES, maxBlocks * blockSize);
    return { blockSize, maxCommandBytes, taskAbortedStatus: await taskAbortedStatus(pass) };
  }
  throw new Error(`iSCSI: LUN at ${pass.path.bus}:${pass.path.target}:${pass.path.lun} answers neither READ CAPACITY (16) nor (10)`);
}

/** Room for MODE SENSE (6) data: the 4-byte header, block descriptors should the unit send some despite DBD, the page. */
const CONTROL_PAGE_ROOM = 64;
/** MODE SENSE (6), DBD 1, PC 00b (current values), the Control mode page. */
const CONTROL_PAGE_SENSE = encodeModeSense({ dbd: true, pageCode: ModePageCode.CONTROL, allocationLength: CONTROL_PAGE_ROOM }, { minLength: 6 });

/** The Control mode page's TAS (byte 5 bit 6), current value; false when the unit does not report the page. */
async function taskAbortedStatus(pass: PassPeriph): Promise<boolean> {
  // A unit attention that came up since READ CAPACITY answered is cleared by asking again.
  for (let attempt = 0; attempt < 2; attempt++) {
    const d = good(await pass.scsi({ cdb: CONTROL_PAGE_SENSE, direction: 'in', length: CONTROL_PAGE_ROOM }), 4);
    if (d === undefined) continue;
    // Mode parameter header (6): BLOCK DESCRIPTOR LENGTH in byte 3; the page follows the descriptors.
    const page = 4 + (d[3] ?? 0);
    // Page byte 0: PS, SPF (0: page_0 format), PAGE CODE; byte 1: PAGE LENGTH (TAS is in byte 5).
    if (((d[page] ?? 0) & 0x7f) !== ModePageCode.CONTROL || (d[page + 1] ?? 0) < 4) return false;
    return ((d[page + 5] ?? 0) & 0x40) !== 0;
  }
  return false;
}

// What the target learns from a LUN before it exports it, asked through the
// LUN's pass periph like any initiator's command: the logical block length
// (READ CAPACITY (16), or (10) for a device without it; SBC-4 §5.16, §5.17)
// to turn an Expected Data Transfer Length into blocks (transfer.ts), and the
// MAXIMUM TRANSFER LENGTH of the Block Limits VPD page (SBC-4 §6.6.4) to bound
// the buffer one command may make the target allocate.

import type { PassPeriph } from '../cam/periph/pass.js';
import { CamStatus, CAM_STATUS_MASK } from '../cam/status.js';
import type { ScsiResult } from '../cam/periph/request.js';
import { encodeReadCapacity10, encodeReadCapacity16 } from '../scsi/cdb/capacity.js';
import { encodeInquiry } from '../scsi/cdb/inquiry.js';

/** Buffer bound for a LUN whose Block Limits give no MAXIMUM TRANSFER LENGTH (0: no limit reported). */
export const DEFAULT_MAX_COMMAND_BYTES = 64 * 2 ** 20;

/** What the target needs to know about a LUN. */
export interface LunGeometry {
  readonly blockSize: number;
  /** The most data one command may move: MAXIMUM TRANSFER LENGTH × block size, capped at DEFAULT_MAX_COMMAND_BYTES. */
  readonly maxCommandBytes: number;
}

const u32 = (d: Uint8Array, at: number): number => (((d[at] ?? 0) << 24) | ((d[at + 1] ?? 0) << 16) | ((d[at + 2] ?? 0) << 8) | (d[at + 3] ?? 0)) >>> 0;
const good = (r: ScsiResult, min: number): Uint8Array | undefined =>
  (r.camStatus & CAM_STATUS_MASK) === CamStatus.REQ_CMP && r.data !== undefined && r.data.length >= min ? r.data : undefined;

/**
 * The LUN's block size and transfer bound.
 * @throws Error when neither READ CAPACITY answers (the LUN cannot be exported).
 */
export async function probeLun(pass: PassPeriph): Promise<LunGeometry> {
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
    return { blockSize, maxCommandBytes };
  }
  throw new Error(`iSCSI: LUN at ${pass.path.bus}:${pass.path.target}:${pass.path.lun} answers neither READ CAPACITY (16) nor (10)`);
}

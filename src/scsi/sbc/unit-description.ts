// What the SBC emulator's logical unit says about itself: the options that
// give its identity and limits, the LogicalUnitInfo built from them and the
// device's geometry (INQUIRY, VPD pages, READ CAPACITY, mode pages), and the
// command table narrowed to what the unit does (CDB checks and REPORT
// SUPPORTED OPERATION CODES agree). Computed when the unit is created and
// again on each geometry refresh. Spec: SPC-5 (INQUIRY, VPD), SBC-4 (Block
// Limits, Logical Block Provisioning).

import {
  COMMANDS,
  PROTECT_COMMANDS,
  PROTECT_MASK,
  restrictUsage,
  type CommandDescriptor,
} from '../cdb/registry.js';
import type { TaskManagementFunction } from '../cdb/rsoc.js';
import { UNMAP_MAX_DESCRIPTORS } from '../cdb/unmap.js';
import { ScsiOp } from '../opcodes.js';
import { assertLogicalUnitInfo, naaLocallyAssigned, type LogicalUnitInfo } from '../device-info.js';
import type { BlockCommandSet, BlockGeometry } from './block-command-set.js';
import { canBlockErase } from './handlers-sanitize.js';

/** Identity and limits of the logical unit, beyond what the BlockCommandSet reports. */
export interface SbcEmulatorOptions {
  /** T10 VENDOR IDENTIFICATION (≤ 8 ASCII); default `VTCAM`. */
  readonly vendor?: string;
  /** PRODUCT IDENTIFICATION (≤ 16 ASCII); default `VIRTIO-BLK`. */
  readonly product?: string;
  /** PRODUCT REVISION LEVEL (≤ 4 ASCII); default `0001`. */
  readonly revision?: string;
  /** Unit serial number; default the device's GET_ID, else `VTCAM-NOSERIAL`. */
  readonly serial?: string;
  /** 8-byte NAA designator; default NAA 3h (locally assigned) derived from the serial. */
  readonly naa?: bigint;
  /** LUNs REPORT LUNS lists; default [0]. */
  readonly luns?: readonly number[];
  /** Largest READ/WRITE in bytes, also bounding the device's own limit; default 8 MiB. */
  readonly maxTransferBytes?: number;
  /** MAXIMUM COMPARE AND WRITE LENGTH in blocks (0 removes the command); default min(255, max transfer). */
  readonly maxCompareAndWriteBlocks?: number;
  /** MAXIMUM UNMAP LBA COUNT; default FFFFFFFFh (no limit: UNMAP is split to the device's discard limits). */
  readonly maxUnmapLbaCount?: number;
  /** MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT; default 4095, all one parameter list can carry. */
  readonly maxUnmapBlockDescriptors?: number;
  /** MAXIMUM WRITE SAME LENGTH in blocks; default 0 (no limit: large WRITE SAMEs are written in chunks). */
  readonly maxWriteSameBlocks?: number;
  /** MEDIUM ROTATION RATE; default 1 (non-rotating). */
  readonly rotationRate?: number;
  /** Report POWER ON, RESET OR BUS DEVICE RESET OCCURRED to each new I_T nexus first (SAM-5); default true. */
  readonly powerOnUnitAttention?: boolean;
  /** RMB: the medium can be ejected and loaded (START STOP UNIT LOEJ) and kept in (PREVENT ALLOW MEDIUM REMOVAL); default false. */
  readonly removable?: boolean;
  /**
   * TAS (Control mode page; not changeable): a command that another I_T
   * nexus's CLEAR TASK SET or PREEMPT AND ABORT aborts ends with TASK ABORTED
   * status (true), or without status while its nexus gets COMMANDS CLEARED BY
   * ANOTHER INITIATOR (false, the default). SAM-5 aborting commands.
   */
  readonly taskAbortedStatus?: boolean;
  /**
   * Offer SANITIZE (OVERWRITE, EXIT FAILURE MODE, and BLOCK ERASE where the
   * device can deallocate onto zeros and report it: handlers-sanitize.ts);
   * default true. A shared disk may want no initiator able to wipe it.
   */
  readonly sanitize?: boolean;
  /** Task management functions REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS lists. */
  readonly taskManagementFunctions?: readonly TaskManagementFunction[];
  /**
   * Persistent reservation registrations the unit keeps at most. They outlive
   * their I_T nexuses (SPC-5), so each initiator port that registers holds
   * one until it unregisters or is preempted or cleared; a REGISTER or
   * REGISTER AND IGNORE EXISTING KEY that would add one past this ends CHECK
   * CONDITION, ILLEGAL REQUEST, INSUFFICIENT REGISTRATION RESOURCES (55h/04h)
   * and changes nothing (a registered nexus may still change its key or
   * unregister). A whole number of at least 1; default 1024
   * (DEFAULT_MAX_REGISTRATIONS).
   */
  readonly maxRegistrations?: number;
}

const DEFAULT_MAX_TRANSFER_BYTES = 8 * 1024 * 1024;
const U32_MAX = 0xffff_ffff;

/** FNV-1a, 64 bits: a stable NAA value from the serial when none is configured. */
function fnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffff_ffff_ffff_ffffn;
  }
  return h;
}

/**
 * Largest READ/WRITE transfer in logical blocks: `maxTransferBytes` in
 * blocks, bounded by the device's own limit. Throws RangeError when the
 * option is not at least one block.
 */
export function computeMaxTransferBlocks(opts: SbcEmulatorOptions, g: BlockGeometry): number {
  const bytes = opts.maxTransferBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
  if (!Number.isInteger(bytes) || bytes < g.blockSize) throw new RangeError(`maxTransferBytes must be at least one block (${g.blockSize}), got ${bytes}`);
  const own = Math.min(Math.floor(bytes / g.blockSize), U32_MAX);
  return g.maxTransferBlocks > 0 ? Math.min(own, g.maxTransferBlocks) : own;
}

/**
 * The unit's description from its options, the device's geometry and state,
 * and the transfer limit {@link computeMaxTransferBlocks} gave. Throws
 * RangeError for options that do not fit (assertLogicalUnitInfo).
 */
export function describeUnit(opts: SbcEmulatorOptions, serial: string, g: BlockGeometry, maxTransferBlocks: number, bcs: BlockCommandSet, removable: boolean): LogicalUnitInfo {
  const discard = g.discard;
  const zeroUnmap = g.writeZeroes?.mayUnmap === true;
  const maxCaw = opts.maxCompareAndWriteBlocks ?? Math.min(255, maxTransferBlocks);
  const info: LogicalUnitInfo = {
    vendor: opts.vendor ?? 'VTCAM',
    product: opts.product ?? 'VIRTIO-BLK',
    revision: opts.revision ?? '0001',
    serial,
    naa: opts.naa ?? naaLocallyAssigned(fnv1a64(serial) & ((1n << 60n) - 1n)),
    blockSize: g.blockSize,
    blocks: g.blocks,
    physicalBlockExp: g.physicalBlockExp,
    lowestAlignedLba: g.lowestAlignedLba,
    readOnly: bcs.readOnly,
    removable,
    taskAbortedStatus: opts.taskAbortedStatus === true,
    thirdPartyCopy: true,
    sanitizeBlockErase: opts.sanitize !== false && canBlockErase(g, bcs.mapping !== undefined),
    writeCacheEnabled: bcs.writeCacheEnabled(),
    writeCacheChangeable: g.writeCacheChangeable,
    volatileCache: g.flush,
    limits: {
      maxTransferBlocks,
      optimalTransferBlocks: Math.min(g.optimalTransferBlocks, maxTransferBlocks),
      maxUnmapLbaCount: discard === undefined ? 0 : (opts.maxUnmapLbaCount ?? U32_MAX),
      maxUnmapBlockDescriptors: discard === undefined ? 0 : (opts.maxUnmapBlockDescriptors ?? UNMAP_MAX_DESCRIPTORS),
      unmapGranularity: discard?.granularity ?? 0,
      unmapGranularityAlignment: 0,
      maxWriteSameBlocks: opts.maxWriteSameBlocks ?? 0,
      maxCompareAndWriteBlocks: Math.min(maxCaw, maxTransferBlocks),
    },
    provisioning: {
      lbpu: discard !== undefined,
      lbpws: discard !== undefined || zeroUnmap,
      lbpws10: discard !== undefined || zeroUnmap,
      // Unmapped blocks read as zeros when UNMAP's discard zeroes, or when unmapping only happens by write-zeroes.
      lbprz: discard === undefined ? zeroUnmap : discard.zeroes,
    },
    rotationRate: opts.rotationRate ?? 1,
  };
  assertLogicalUnitInfo(info);
  return info;
}

/** COMMANDS, narrowed to what this unit does, so CDB checks and RSOC agree. */
export function unitCommandTable(opts: SbcEmulatorOptions, info: LogicalUnitInfo, g: BlockGeometry, bcs: BlockCommandSet): readonly CommandDescriptor[] {
  let t: readonly CommandDescriptor[] = COMMANDS;
  if (!info.provisioning.lbpu) t = t.filter((d) => d.name !== 'UNMAP');
  if (info.limits.maxCompareAndWriteBlocks === 0) t = t.filter((d) => d.name !== 'COMPARE_AND_WRITE');
  if (opts.sanitize === false) t = t.filter((d) => d.opcode !== ScsiOp.SANITIZE);
  // BLOCK ERASE only where deallocating erases (handlers-sanitize.ts).
  if (!canBlockErase(g, bcs.mapping !== undefined)) t = t.filter((d) => d.name !== 'SANITIZE_BLOCK_ERASE');
  // No protection information (PROTECT 0 in INQUIRY): RDPROTECT/WRPROTECT/VRPROTECT ≠ 0 is INVALID FIELD IN CDB,
  // at the field's first bit (one field: oneField).
  t = restrictUsage(t, PROTECT_COMMANDS, 1, PROTECT_MASK, true);
  // No anchored LBAs (ANC_SUP 0): UNMAP ANCHOR (byte 1 bit 0), WRITE SAME ANCHOR (byte 1 bit 4).
  t = restrictUsage(t, ['UNMAP'], 1, 0x01);
  t = restrictUsage(t, ['WRITE_SAME_10', 'WRITE_SAME_16'], 1, 0x10);
  return t;
}

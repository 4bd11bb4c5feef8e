// The block device the SBC emulator runs on: the operations a virtio-blk
// device offers (VIRTIO 1.2 §5.2.6: IN, OUT, FLUSH, GET_ID, DISCARD,
// WRITE_ZEROES), expressed in logical blocks, plus the capacity, limits and
// write-cache state the emulator reports through INQUIRY, READ CAPACITY and the
// mode pages. Spec: SBC-4 (INCITS 506) for what each operation must mean.
//
// Outcomes are values (STYLE §6): an operation resolves with a BlockStatus and
// never rejects for a device failure. A rejected promise is a bug in the
// implementation; the emulator reports it as HARDWARE ERROR, INTERNAL TARGET
// FAILURE rather than crashing.

import type { LogicalBlockLength } from '../device-info.js';

/**
 * How a block operation ended. `no-space` is a thin-provisioned device out of
 * backing space; `no-resources` an operation the implementation can never
 * find the resources for (a transfer its memory for data can never hold),
 * nothing wrong with the medium.
 */
export type BlockStatus = 'ok' | 'io-error' | 'unsupported' | 'no-space' | 'no-resources';

/** A BlockStatus other than `ok`. */
export type BlockFailure = Exclude<BlockStatus, 'ok'>;

/** Discard (UNMAP / WRITE SAME with UNMAP) capability and limits, in logical blocks. */
export interface DiscardLimits {
  /** Largest range one discard segment may cover (virtio max_discard_sectors). */
  readonly maxBlocks: number;
  /** Most segments one discard call may carry (virtio max_discard_seg). */
  readonly maxSegments: number;
  /** Preferred granularity (virtio discard_sector_alignment), 0 = not reported. */
  readonly granularity: number;
  /** True when discarded blocks read back as zeros (only then is LBPRZ reported). */
  readonly zeroes: boolean;
}

/** Write-zeroes capability and limits, in logical blocks. */
export interface WriteZeroesLimits {
  /** Largest range one call may cover (virtio max_write_zeroes_sectors). */
  readonly maxBlocks: number;
  /** The device may deallocate while zeroing (virtio write_zeroes_may_unmap). */
  readonly mayUnmap: boolean;
}

/** Capacity and limits, as of now (a capacity change is announced with SbcEmulator.refreshGeometry). */
export interface BlockGeometry {
  /** Number of logical blocks (≥ 1). */
  readonly blocks: bigint;
  readonly blockSize: LogicalBlockLength;
  /** Logical blocks per physical block exponent (virtio physical_block_exp). */
  readonly physicalBlockExp: number;
  /** Lowest aligned LBA (virtio alignment_offset). */
  readonly lowestAlignedLba: number;
  /** Largest transfer in logical blocks one read or write may carry (virtio-blk: seg_max × size_max, and what guest memory holds); 0 = no device limit. */
  readonly maxTransferBlocks: number;
  /** Optimal transfer length in logical blocks (virtio opt_io_size), 0 = not reported. */
  readonly optimalTransferBlocks: number;
  /** Present when the device can discard (VIRTIO_BLK_F_DISCARD). */
  readonly discard?: DiscardLimits;
  /** Present when the device can write zeroes (VIRTIO_BLK_F_WRITE_ZEROES). */
  readonly writeZeroes?: WriteZeroesLimits;
  /** The device has a FLUSH command (VIRTIO_BLK_F_FLUSH); without one every write is durable on completion. */
  readonly flush: boolean;
  /** setWriteCache can switch the cache (VIRTIO_BLK_F_CONFIG_WCE); otherwise WCE is reported as not changeable. */
  readonly writeCacheChangeable: boolean;
}

/** A run of logical blocks with the same provisioning state (GET LBA STATUS). */
export interface BlockMapping {
  /** True when the blocks are mapped (allocated), false when deallocated. */
  readonly mapped: boolean;
  /** Length of the run starting at the queried LBA, ≥ 1. */
  readonly blocks: number;
}

/** A range of logical blocks. */
export interface BlockRange {
  readonly lba: bigint;
  readonly blocks: number;
}

/**
 * Whether the command a block operation is for has been aborted since
 * (SbcCommand.aborted; SAM-5 aborting commands). A block set that holds an
 * operation back before it reaches the device (the virtio SIM's overlap
 * order, its flush order) may end one whose command is aborted there, unstarted, `io-error`,
 * as a command still waiting in a queue ends without being started; its
 * transport ends the command as the abort says whatever the operation answers.
 */
export type OperationAborted = () => boolean;

/**
 * The block device under the SBC emulator. The emulator checks every range
 * against `geometry()` before calling, so implementations may treat an
 * out-of-range call as a bug. The optional `aborted` of the data operations
 * is their command's (OperationAborted); without it the operation's command
 * is never aborted.
 */
export interface BlockCommandSet {
  geometry(): BlockGeometry;
  /** Write protected (virtio VIRTIO_BLK_F_RO). */
  readonly readOnly: boolean;
  /** Whether writes complete before they are durable (virtio `writeback`). */
  writeCacheEnabled(): boolean;
  /** Switches the write cache (virtio CONFIG_WCE); `unsupported` when the device cannot. */
  setWriteCache(enabled: boolean): Promise<BlockStatus>;
  /** Reads `into.length / blockSize` blocks at `lba` into `into`. */
  read(lba: bigint, into: Uint8Array, aborted?: OperationAborted): Promise<BlockStatus>;
  /** Writes `data.length / blockSize` blocks at `lba`. */
  write(lba: bigint, data: Uint8Array, aborted?: OperationAborted): Promise<BlockStatus>;
  /**
   * Optional: {@link read} with a callback, for the emulator's READ fast path
   * (no promise per command). `done` is called exactly once, and never before
   * startRead returns; a throw means nothing was started.
   */
  startRead?(lba: bigint, into: Uint8Array, done: (status: BlockStatus) => void, aborted?: OperationAborted): void;
  /** Optional: {@link write} with a callback, on the same terms as startRead. */
  startWrite?(lba: bigint, data: Uint8Array, done: (status: BlockStatus) => void, aborted?: OperationAborted): void;
  /** Makes completed writes durable; `aborted` is its command's, if it has one (a FLUSH held back may end unsent). */
  flush(aborted?: OperationAborted): Promise<BlockStatus>;
  /** Deallocates ranges (at most `discard.maxSegments`, each at most `discard.maxBlocks`). */
  discard(ranges: readonly BlockRange[], aborted?: OperationAborted): Promise<BlockStatus>;
  /** Zeroes a range (at most `writeZeroes.maxBlocks`), deallocating when `unmap` and the device may. */
  writeZeroes(range: BlockRange, unmap: boolean, aborted?: OperationAborted): Promise<BlockStatus>;
  /** The device serial (virtio GET_ID, up to 20 bytes), or undefined when it has none. */
  getId(): Promise<string | undefined>;
  /** Optional allocation query: the run starting at `lba`, at most `maxBlocks` long. */
  mapping?(lba: bigint, maxBlocks: number): Promise<BlockMapping | BlockFailure>;
  /**
   * Optional, for work that outlives the command that started it (a
   * sanitize, SBC-4: resets do not stop one): a count that moves when a
   * device reset begins and again when it ends, so it is odd while one runs.
   * An operation that failed while the count moved from what it was when the
   * operation was issued, or was odd, may have been cut short by the reset
   * rather than by the medium; see {@link afterReset}.
   */
  readonly resetEpoch?: number;
  /** Optional, with resetEpoch: resolves once no device reset runs, true when the device came back, false when it is gone. */
  afterReset?(): Promise<boolean>;
}

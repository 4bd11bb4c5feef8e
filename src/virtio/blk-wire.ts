// virtio-blk request wire format. Spec: VIRTIO 1.2 (virtio-v1.2-cs01) §5.2.6
// "Device Operation" (struct virtio_blk_req, struct virtio_blk_discard_write_zeroes),
// driver rules §5.2.6.1, device rules §5.2.6.2.
//
// All fields are little-endian (the legacy native-endian layout of §5.2.6.3 is
// not supported). A request is, in descriptor order: the 16-byte header
// (device-readable), `data` (readable or writable, by type), and one status
// byte (device-writable).

/** §5.2.6 request types (`type`). */
export const VirtioBlkReqType = {
  VIRTIO_BLK_T_IN: 0,
  VIRTIO_BLK_T_OUT: 1,
  VIRTIO_BLK_T_FLUSH: 4,
  VIRTIO_BLK_T_GET_ID: 8,
  VIRTIO_BLK_T_GET_LIFETIME: 10,
  VIRTIO_BLK_T_DISCARD: 11,
  VIRTIO_BLK_T_WRITE_ZEROES: 13,
  VIRTIO_BLK_T_SECURE_ERASE: 14,
} as const;
export type VirtioBlkReqType = (typeof VirtioBlkReqType)[keyof typeof VirtioBlkReqType];

/** Read sectors into `data`. */
export const VIRTIO_BLK_T_IN = VirtioBlkReqType.VIRTIO_BLK_T_IN;
/** Write `data` to sectors. */
export const VIRTIO_BLK_T_OUT = VirtioBlkReqType.VIRTIO_BLK_T_OUT;
/** Flush the write cache; `sector` MUST be 0 and there SHOULD be no data (§5.2.6.1). */
export const VIRTIO_BLK_T_FLUSH = VirtioBlkReqType.VIRTIO_BLK_T_FLUSH;
/** Device ID string into a 20-byte `data` (§5.2.6.1). */
export const VIRTIO_BLK_T_GET_ID = VirtioBlkReqType.VIRTIO_BLK_T_GET_ID;
/** struct virtio_blk_lifetime into `data`. */
export const VIRTIO_BLK_T_GET_LIFETIME = VirtioBlkReqType.VIRTIO_BLK_T_GET_LIFETIME;
/** `data` is virtio_blk_discard_write_zeroes segments. */
export const VIRTIO_BLK_T_DISCARD = VirtioBlkReqType.VIRTIO_BLK_T_DISCARD;
/** `data` is virtio_blk_discard_write_zeroes segments. */
export const VIRTIO_BLK_T_WRITE_ZEROES = VirtioBlkReqType.VIRTIO_BLK_T_WRITE_ZEROES;
/** `data` is virtio_blk_discard_write_zeroes segments. */
export const VIRTIO_BLK_T_SECURE_ERASE = VirtioBlkReqType.VIRTIO_BLK_T_SECURE_ERASE;

/** §5.2.6 values of the final `status` byte. */
export const VirtioBlkStatus = {
  VIRTIO_BLK_S_OK: 0,
  /** Device or driver error. */
  VIRTIO_BLK_S_IOERR: 1,
  /** Request unsupported by the device. */
  VIRTIO_BLK_S_UNSUPP: 2,
} as const;
export type VirtioBlkStatus = (typeof VirtioBlkStatus)[keyof typeof VirtioBlkStatus];

export const VIRTIO_BLK_S_OK = VirtioBlkStatus.VIRTIO_BLK_S_OK;
export const VIRTIO_BLK_S_IOERR = VirtioBlkStatus.VIRTIO_BLK_S_IOERR;
export const VIRTIO_BLK_S_UNSUPP = VirtioBlkStatus.VIRTIO_BLK_S_UNSUPP;

/** §5.2.6: `sector` and `data` lengths are in 512-byte units, whatever `blk_size` says. */
export const VIRTIO_BLK_SECTOR_SIZE = 512;
/** §5.2.6: the device ID string is NUL-padded ASCII, up to 20 bytes, no NUL when 20 long. */
export const VIRTIO_BLK_ID_BYTES = 20;
/** §5.2.6: `flags.unmap`, bit 0 of the segment's `flags` word; bits 1..31 are reserved. */
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

/** struct virtio_blk_req header: le32 type; le32 reserved; le64 sector. */
export const VirtioBlkReqHeader = { type: 0, reserved: 4, sector: 8, SIZE: 16 } as const;

/** struct virtio_blk_discard_write_zeroes: le64 sector; le32 num_sectors; le32 flags. */
export const VirtioBlkDiscardWriteZeroes = { sector: 0, num_sectors: 8, flags: 12, SIZE: 16 } as const;

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= U32_MAX;
const isU64 = (n: bigint): boolean => n >= 0n && n <= U64_MAX;

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A decoded request header. `reserved` is returned raw (legacy `ioprio`, §5.2.6.3). */
export interface BlkReqHeader {
  type: number;
  reserved: number;
  sector: bigint;
}

/**
 * Encodes the 16-byte request header with `reserved` = 0.
 * @throws RangeError when `type` is not a u32 or `sector` not a u64.
 */
export function encodeBlkReqHeader(type: number, sector: bigint): Uint8Array {
  if (!isU32(type)) throw new RangeError(`virtio_blk_req.type must be a u32, got ${type}`);
  if (!isU64(sector)) throw new RangeError(`virtio_blk_req.sector must be a u64, got ${sector}`);
  const out = new Uint8Array(VirtioBlkReqHeader.SIZE);
  const v = viewOf(out);
  v.setUint32(VirtioBlkReqHeader.type, type, true);
  v.setUint32(VirtioBlkReqHeader.reserved, 0, true);
  v.setBigUint64(VirtioBlkReqHeader.sector, sector, true);
  return out;
}

/**
 * Decodes the request header from the first 16 bytes of `bytes`. The type is
 * not checked against the known ones: an unknown type is an I/O outcome
 * (VIRTIO_BLK_S_UNSUPP), decided by the device model.
 * @throws RangeError when `bytes` is shorter than 16 (the caller checks descriptor lengths first).
 */
export function decodeBlkReqHeader(bytes: Uint8Array): BlkReqHeader {
  if (bytes.length < VirtioBlkReqHeader.SIZE) {
    throw new RangeError(`virtio_blk_req header needs ${VirtioBlkReqHeader.SIZE} bytes, got ${bytes.length}`);
  }
  const v = viewOf(bytes);
  return {
    type: v.getUint32(VirtioBlkReqHeader.type, true),
    reserved: v.getUint32(VirtioBlkReqHeader.reserved, true),
    sector: v.getBigUint64(VirtioBlkReqHeader.sector, true),
  };
}

/** One discard / write-zeroes / secure-erase segment. */
export interface DiscardSegment {
  /** Starting sector (512-byte units). */
  sector: bigint;
  /** Number of sectors. */
  numSectors: number;
  /** `flags.unmap`; only meaningful for write zeroes (§5.2.6). */
  unmap: boolean;
}

/**
 * Checks that every segment can be encoded, without encoding it (for a caller
 * that must know before it takes anything for the request).
 * @throws RangeError naming the segment index when `sector` is not a u64 or `numSectors` not a u32.
 */
export function checkDiscardSegments(segs: readonly DiscardSegment[]): void {
  segs.forEach((seg, i) => {
    if (!isU64(seg.sector)) throw new RangeError(`segment ${i}: sector must be a u64, got ${seg.sector}`);
    if (!isU32(seg.numSectors)) throw new RangeError(`segment ${i}: num_sectors must be a u32, got ${seg.numSectors}`);
  });
}

/**
 * Encodes segments back to back, 16 bytes each, reserved flag bits 0.
 * @throws RangeError as {@link checkDiscardSegments} does.
 */
export function encodeDiscardSegments(segs: readonly DiscardSegment[]): Uint8Array {
  checkDiscardSegments(segs);
  const size = VirtioBlkDiscardWriteZeroes.SIZE;
  const out = new Uint8Array(size * segs.length);
  const v = viewOf(out);
  segs.forEach((seg, i) => {
    const at = i * size;
    v.setBigUint64(at + VirtioBlkDiscardWriteZeroes.sector, seg.sector, true);
    v.setUint32(at + VirtioBlkDiscardWriteZeroes.num_sectors, seg.numSectors, true);
    v.setUint32(at + VirtioBlkDiscardWriteZeroes.flags, seg.unmap ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0, true);
  });
  return out;
}

/**
 * Decodes the segment at `offset`. `flags` is the raw le32 so the device can
 * apply §5.2.6.2 (see `segmentFlagsStatus`); `unmap` is its bit 0.
 * @throws RangeError when `offset` is not a non-negative integer or fewer than 16 bytes follow it.
 */
export function decodeDiscardSegment(bytes: Uint8Array, offset: number): DiscardSegment & { flags: number } {
  const size = VirtioBlkDiscardWriteZeroes.SIZE;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw new RangeError(`virtio_blk_discard_write_zeroes at offset ${offset} needs ${size} bytes, buffer has ${bytes.length}`);
  }
  const v = viewOf(bytes);
  const flags = v.getUint32(offset + VirtioBlkDiscardWriteZeroes.flags, true);
  return {
    sector: v.getBigUint64(offset + VirtioBlkDiscardWriteZeroes.sector, true),
    numSectors: v.getUint32(offset + VirtioBlkDiscardWriteZeroes.num_sectors, true),
    unmap: (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0,
    flags,
  };
}

/**
 * §5.2.6.2: the device MUST answer VIRTIO_BLK_S_UNSUPP for a discard, secure
 * erase or write zeroes segment with any unknown flag set, and for a discard
 * with `unmap` set. (The spec says nothing of `unmap` on secure erase; it is
 * "only used in write zeroes commands", so this accepts and ignores it.)
 * Returns VIRTIO_BLK_S_OK when the flags are acceptable for `type`.
 */
export function segmentFlagsStatus(type: number, flags: number): VirtioBlkStatus {
  if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0) return VIRTIO_BLK_S_UNSUPP;
  if (type === VIRTIO_BLK_T_DISCARD && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0) return VIRTIO_BLK_S_UNSUPP;
  return VIRTIO_BLK_S_OK;
}

const STATUS_NAME: ReadonlyMap<number, string> = new Map(Object.entries(VirtioBlkStatus).map(([k, v]) => [v, k]));
const TYPE_NAME: ReadonlyMap<number, string> = new Map(Object.entries(VirtioBlkReqType).map(([k, v]) => [v, k]));

/** Spec name of a status byte (`"VIRTIO_BLK_S_IOERR"`), or `"status N"` when unknown. */
export function blkStatusName(status: number): string {
  return STATUS_NAME.get(status) ?? `status ${status}`;
}

/** Spec name of a request type (`"VIRTIO_BLK_T_IN"`), or `"type N"` when unknown. */
export function blkTypeName(type: number): string {
  return TYPE_NAME.get(type) ?? `type ${type}`;
}

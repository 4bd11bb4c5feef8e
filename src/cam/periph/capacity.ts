// READ CAPACITY parameter data as an initiator reads it, for da's capacity
// re-read (CAPACITY DATA HAS CHANGED, AC_GETDEV_CHANGED). Spec: SBC-4 READ
// CAPACITY (10) parameter data (8 bytes) and READ CAPACITY (16) parameter data
// (32 bytes; the fields da uses are in the first 16).

/** What da keeps of the capacity (the CamDeviceInfo capacity fields). */
export interface DaCapacity {
  readonly blocks: bigint;
  readonly blockSize: number;
  readonly physicalBlockExp: number;
  readonly lbpme: boolean;
  readonly lbprz: boolean;
}

/** Bytes of READ CAPACITY (16) data da asks for and needs (through LOWEST ALIGNED LOGICAL BLOCK ADDRESS). */
export const RC16_LENGTH = 32;
const RC16_NEEDED = 16;
const RC10_LENGTH = 8;
const PHYS_EXP_MASK = 0x0f; // byte 13 bits 3..0: LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT
const LBPME = 0x80; // byte 14 bit 7
const LBPRZ = 0x40; // byte 14 bit 6

/** READ CAPACITY (16) data; undefined when shorter than 16 bytes or the block length is 0. */
export function parseReadCapacity16(data: Uint8Array): DaCapacity | undefined {
  if (data.length < RC16_NEEDED) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blockSize = v.getUint32(8); // LOGICAL BLOCK LENGTH IN BYTES
  if (blockSize === 0) return undefined;
  const b14 = v.getUint8(14);
  return {
    blocks: v.getBigUint64(0) + 1n, // RETURNED LOGICAL BLOCK ADDRESS is the last LBA
    blockSize,
    physicalBlockExp: v.getUint8(13) & PHYS_EXP_MASK,
    lbpme: (b14 & LBPME) !== 0,
    lbprz: (b14 & LBPRZ) !== 0,
  };
}

/** READ CAPACITY (10) data; undefined when shorter than 8 bytes or the block length is 0. */
export function parseReadCapacity10(data: Uint8Array): DaCapacity | undefined {
  if (data.length < RC10_LENGTH) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blockSize = v.getUint32(4); // BLOCK LENGTH IN BYTES
  if (blockSize === 0) return undefined;
  return { blocks: BigInt(v.getUint32(0)) + 1n, blockSize, physicalBlockExp: 0, lbpme: false, lbprz: false };
}

// The description of a direct-access logical unit that the INQUIRY, VPD, mode
// parameter, READ CAPACITY and REPORT LUNS builders read from. Spec: SPC-5
// (INCITS 502), SBC-4 (INCITS 506), SAM-5 (INCITS 515).
//
// Plain data: the emulator fills it in once from the virtio-blk config space
// (capacity, blk_size, physical_block_exp, alignment_offset, opt_io_size,
// max_discard_sectors, …) and the builders turn it into bytes. The functions
// here only check that the fields fit the wire fields they feed and agree with
// each other; a LogicalUnitInfo that fails them is a caller bug (RangeError).

/** SBC-4 logical block lengths vtcam presents (virtio-blk `blk_size`). */
export type LogicalBlockLength = 512 | 4096;

/** Block Limits VPD page inputs (SBC-4, Block Limits VPD page). Counts are in logical blocks. */
export interface LogicalUnitLimits {
  /** MAXIMUM TRANSFER LENGTH; 0 = no limit reported. */
  readonly maxTransferBlocks: number;
  /** OPTIMAL TRANSFER LENGTH; 0 = not reported. */
  readonly optimalTransferBlocks: number;
  /** MAXIMUM UNMAP LBA COUNT; 0 = UNMAP not implemented (must be 0 iff `provisioning.lbpu` is false). */
  readonly maxUnmapLbaCount: number;
  /** MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT; 0 = UNMAP not implemented (same rule). */
  readonly maxUnmapBlockDescriptors: number;
  /** OPTIMAL UNMAP GRANULARITY; 0 = not reported. */
  readonly unmapGranularity: number;
  /** UNMAP GRANULARITY ALIGNMENT (31 bits); reported valid (UGAVALID) when a granularity is. */
  readonly unmapGranularityAlignment: number;
  /** MAXIMUM WRITE SAME LENGTH; 0 = not reported. */
  readonly maxWriteSameBlocks: number;
  /** MAXIMUM COMPARE AND WRITE LENGTH (one byte); 0 = COMPARE AND WRITE not supported. */
  readonly maxCompareAndWriteBlocks: number;
}

/** Logical block provisioning (SBC-4, Logical Block Provisioning VPD page). */
export interface LogicalBlockProvisioning {
  /** LBPU: UNMAP supported. */
  readonly lbpu: boolean;
  /** LBPWS: WRITE SAME (16) with UNMAP supported. */
  readonly lbpws: boolean;
  /** LBPWS10: WRITE SAME (10) with UNMAP supported. */
  readonly lbpws10: boolean;
  /** LBPRZ: unmapped LBAs read back as zeros (encoded as LBPRZ 001b / the READ CAPACITY (16) LBPRZ bit). */
  readonly lbprz: boolean;
  /** ANC_SUP: anchored LBAs supported (virtio-blk has no anchor; default false). */
  readonly ancSup?: boolean;
}

/** A direct-access (peripheral device type 00h) logical unit, as the data builders see it. */
export interface LogicalUnitInfo {
  /** T10 VENDOR IDENTIFICATION: ≤ 8 printable ASCII characters, sent left-aligned, space padded. Also the vendor half of the T10 vendor ID designator (VPD 83h). */
  readonly vendor: string;
  /** PRODUCT IDENTIFICATION: ≤ 16 printable ASCII characters. */
  readonly product: string;
  /** PRODUCT REVISION LEVEL: ≤ 4 printable ASCII characters. */
  readonly revision: string;
  /** PRODUCT SERIAL NUMBER (VPD 80h) and the vendor-specific half of the T10 vendor ID designator: 1..247 printable ASCII characters. */
  readonly serial: string;
  /**
   * The whole 8-byte NAA designator (VPD 83h, designator type 3h), as a 64-bit value.
   * Its top nibble is the NAA field: 5h (IEEE Registered) is preferred, 3h (Locally
   * Assigned) is accepted for devices without an OUI, and 2h (IEEE Extended) is
   * accepted too. NAA 6h (IEEE Registered Extended) is 16 bytes and cannot be held
   * here. Build one with {@link naaIeeeRegistered} or {@link naaLocallyAssigned}.
   */
  readonly naa: bigint;
  /** LOGICAL BLOCK LENGTH IN BYTES. */
  readonly blockSize: LogicalBlockLength;
  /** Number of logical blocks (last LBA + 1): 1 ≤ blocks ≤ 2^64 − 1. */
  readonly blocks: bigint;
  /** LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (0..15); also sets OPTIMAL TRANSFER LENGTH GRANULARITY to 2^exp. */
  readonly physicalBlockExp: number;
  /** LOWEST ALIGNED LOGICAL BLOCK ADDRESS (14 bits). */
  readonly lowestAlignedLba: number;
  /** Write protected (virtio VIRTIO_BLK_F_RO): WP bit in the mode parameter header. */
  readonly readOnly: boolean;
  /** RMB (standard INQUIRY): the medium is removable; absent means false. */
  readonly removable?: boolean;
  /**
   * TAS (Control mode page): a command another I_T nexus aborts ends with
   * TASK ABORTED status rather than without status; absent means false.
   */
  readonly taskAbortedStatus?: boolean;
  /**
   * SANITIZE BLOCK ERASE is offered, and a block read after it completes with
   * GOOD (WABEREQ 01b in the Block Device Characteristics page); absent means false.
   */
  readonly sanitizeBlockErase?: boolean;
  /** 3PC (standard INQUIRY): the unit's copy manager takes EXTENDED COPY; absent means false. */
  readonly thirdPartyCopy?: boolean;
  /** Power-on (default) value of WCE in the Caching mode page. */
  readonly writeCacheEnabled: boolean;
  /**
   * Whether MODE SELECT may change WCE (virtio VIRTIO_BLK_F_CONFIG_WCE); absent
   * means true. When false the Caching page reports WCE as not changeable.
   */
  readonly writeCacheChangeable?: boolean;
  /**
   * Whether the unit has a volatile cache that SYNCHRONIZE CACHE flushes
   * (virtio VIRTIO_BLK_F_FLUSH); absent means true. V_SUP in the Extended
   * INQUIRY Data page.
   */
  readonly volatileCache?: boolean;
  readonly limits: LogicalUnitLimits;
  readonly provisioning: LogicalBlockProvisioning;
  /** MEDIUM ROTATION RATE: 0 = not reported, 1 = non-rotating medium, 0401h..FFFEh = rpm. */
  readonly rotationRate: number;
}

const U32_MAX = 0xffff_ffff;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const NAA_8_BYTE_FORMATS: readonly bigint[] = [0x2n, 0x3n, 0x5n];

/**
 * SBC-4 LBPME (READ CAPACITY (16)): the logical unit implements logical block
 * provisioning management. vtcam sets it when any unmap path (UNMAP, WRITE SAME
 * (16) or (10) with UNMAP) exists; it also selects PROVISIONING TYPE thin.
 */
export function lbpme(info: LogicalUnitInfo): boolean {
  const p = info.provisioning;
  return p.lbpu || p.lbpws || p.lbpws10;
}

/** NAA 5h (IEEE Registered): NAA (4 bits) | IEEE COMPANY_ID (24 bits) | VENDOR SPECIFIC IDENTIFIER (36 bits). */
export function naaIeeeRegistered(companyId: number, vendorSpecificIdentifier: bigint): bigint {
  if (!Number.isInteger(companyId) || companyId < 0 || companyId > 0xff_ffff) {
    throw new RangeError(`IEEE COMPANY_ID must be a 24-bit integer, got ${companyId}`);
  }
  if (vendorSpecificIdentifier < 0n || vendorSpecificIdentifier >= 1n << 36n) {
    throw new RangeError(`NAA 5h VENDOR SPECIFIC IDENTIFIER must fit 36 bits, got ${vendorSpecificIdentifier.toString(16)}h`);
  }
  return (0x5n << 60n) | (BigInt(companyId) << 36n) | vendorSpecificIdentifier;
}

/** NAA 3h (Locally Assigned): NAA (4 bits) | LOCALLY ADMINISTERED VALUE (60 bits). */
export function naaLocallyAssigned(value: bigint): bigint {
  if (value < 0n || value >= 1n << 60n) {
    throw new RangeError(`NAA 3h LOCALLY ADMINISTERED VALUE must fit 60 bits, got ${value.toString(16)}h`);
  }
  return (0x3n << 60n) | value;
}

/**
 * Encodes an SPC ASCII data field: printable ASCII (20h..7Eh), left-aligned,
 * padded with spaces to `width`. Throws RangeError on other characters or when
 * `text` is longer than the field.
 */
export function asciiField(name: string, text: string, width: number): Uint8Array {
  assertAscii(name, text, width);
  const out = new Uint8Array(width).fill(0x20);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function assertAscii(name: string, text: string, maxLength: number): void {
  if (text.length > maxLength) {
    throw new RangeError(`${name} is ${text.length} characters, the field holds ${maxLength}: ${JSON.stringify(text)}`);
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw new RangeError(`${name} must be printable ASCII (20h..7Eh); character ${i} is ${c.toString(16)}h in ${JSON.stringify(text)}`);
    }
  }
}

function assertUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer in 0..${max}, got ${value}`);
  }
}

/**
 * Checks that every field fits the wire field it feeds and that the fields
 * agree (UNMAP limits present iff LBPU). Every builder calls it; the emulator
 * may call it once up front to fail early. Throws RangeError.
 */
export function assertLogicalUnitInfo(info: LogicalUnitInfo): void {
  assertAscii('vendor (T10 VENDOR IDENTIFICATION)', info.vendor, 8);
  assertAscii('product (PRODUCT IDENTIFICATION)', info.product, 16);
  assertAscii('revision (PRODUCT REVISION LEVEL)', info.revision, 4);
  // The T10 vendor ID designator carries 8 + serial bytes in a one-byte DESIGNATOR LENGTH.
  assertAscii('serial (PRODUCT SERIAL NUMBER)', info.serial, 247);
  if (info.serial.length === 0) throw new RangeError('serial (PRODUCT SERIAL NUMBER) must not be empty');
  if (info.naa < 0n || info.naa > U64_MAX || !NAA_8_BYTE_FORMATS.includes(info.naa >> 60n)) {
    throw new RangeError(`naa must be an 8-byte NAA 2h/3h/5h designator, got ${info.naa.toString(16)}h`);
  }
  if ((info.blockSize as number) !== 512 && (info.blockSize as number) !== 4096) {
    throw new RangeError(`blockSize must be 512 or 4096, got ${info.blockSize}`);
  }
  if (info.blocks < 1n || info.blocks > U64_MAX) {
    throw new RangeError(`blocks must be in 1..2^64-1, got ${info.blocks}`);
  }
  assertUint('physicalBlockExp (LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT)', info.physicalBlockExp, 15);
  assertUint('lowestAlignedLba (LOWEST ALIGNED LOGICAL BLOCK ADDRESS)', info.lowestAlignedLba, 0x3fff);
  const l = info.limits;
  assertUint('limits.maxTransferBlocks', l.maxTransferBlocks, U32_MAX);
  assertUint('limits.optimalTransferBlocks', l.optimalTransferBlocks, U32_MAX);
  assertUint('limits.maxUnmapLbaCount', l.maxUnmapLbaCount, U32_MAX);
  assertUint('limits.maxUnmapBlockDescriptors', l.maxUnmapBlockDescriptors, U32_MAX);
  assertUint('limits.unmapGranularity', l.unmapGranularity, U32_MAX);
  assertUint('limits.unmapGranularityAlignment', l.unmapGranularityAlignment, 0x7fff_ffff);
  assertUint('limits.maxWriteSameBlocks', l.maxWriteSameBlocks, Number.MAX_SAFE_INTEGER);
  assertUint('limits.maxCompareAndWriteBlocks', l.maxCompareAndWriteBlocks, 0xff);
  // SBC-4: a zero MAXIMUM UNMAP LBA COUNT / BLOCK DESCRIPTOR COUNT means UNMAP is not implemented.
  const unmapLimits = l.maxUnmapLbaCount > 0 && l.maxUnmapBlockDescriptors > 0;
  const noUnmapLimits = l.maxUnmapLbaCount === 0 && l.maxUnmapBlockDescriptors === 0;
  if (info.provisioning.lbpu ? !unmapLimits : !noUnmapLimits) {
    throw new RangeError(
      `provisioning.lbpu=${info.provisioning.lbpu} disagrees with limits.maxUnmapLbaCount=${l.maxUnmapLbaCount}, ` +
        `maxUnmapBlockDescriptors=${l.maxUnmapBlockDescriptors} (both must be non-zero iff UNMAP is supported)`,
    );
  }
  const r = info.rotationRate;
  if (!Number.isInteger(r) || !(r === 0 || r === 1 || (r >= 0x0401 && r <= 0xfffe))) {
    throw new RangeError(`rotationRate must be 0, 1 or 0401h..FFFEh, got ${r}`);
  }
}

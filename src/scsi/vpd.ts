// Vital product data pages for a direct-access logical unit. Spec: SPC-5
// (INCITS 502) VPD parameters: Supported VPD Pages, Unit Serial Number, Device
// Identification, Extended INQUIRY Data; SBC-4 (INCITS 506) VPD parameters:
// Block Limits, Block Device Characteristics, Logical Block Provisioning.
//
// Every page starts with the same 4-byte header: PERIPHERAL QUALIFIER |
// PERIPHERAL DEVICE TYPE, PAGE CODE, PAGE LENGTH (2 bytes, n - 3).

import { invalidFieldInCdb, type Decoded } from './sense.js';
import { asciiField, assertLogicalUnitInfo, lbpme, type LogicalUnitInfo } from './device-info.js';

/** VPD page codes (SPC-5 / SBC-4) that vtcam builds, ascending. */
export const VpdPage = {
  SUPPORTED_VPD_PAGES: 0x00,
  UNIT_SERIAL_NUMBER: 0x80,
  DEVICE_IDENTIFICATION: 0x83,
  EXTENDED_INQUIRY_DATA: 0x86,
  BLOCK_LIMITS: 0xb0,
  BLOCK_DEVICE_CHARACTERISTICS: 0xb1,
  LOGICAL_BLOCK_PROVISIONING: 0xb2,
} as const;
export type VpdPage = (typeof VpdPage)[keyof typeof VpdPage];

/** The Supported VPD Pages list, ascending as SPC-5 requires. */
export const SUPPORTED_VPD_PAGES: readonly VpdPage[] = [
  VpdPage.SUPPORTED_VPD_PAGES,
  VpdPage.UNIT_SERIAL_NUMBER,
  VpdPage.DEVICE_IDENTIFICATION,
  VpdPage.EXTENDED_INQUIRY_DATA,
  VpdPage.BLOCK_LIMITS,
  VpdPage.BLOCK_DEVICE_CHARACTERISTICS,
  VpdPage.LOGICAL_BLOCK_PROVISIONING,
];

/** Device Identification designation descriptor codes (SPC-5). */
export const CodeSet = { BINARY: 0x1, ASCII: 0x2, UTF_8: 0x3 } as const;
export type CodeSet = (typeof CodeSet)[keyof typeof CodeSet];
export const Association = { LOGICAL_UNIT: 0b00, TARGET_PORT: 0b01, TARGET_DEVICE: 0b10 } as const;
export type Association = (typeof Association)[keyof typeof Association];
export const DesignatorType = { VENDOR_SPECIFIC: 0x0, T10_VENDOR_ID: 0x1, EUI_64: 0x2, NAA: 0x3 } as const;
export type DesignatorType = (typeof DesignatorType)[keyof typeof DesignatorType];

const HEADER = 4;
const PDT_DIRECT_ACCESS = 0x00; // PERIPHERAL QUALIFIER 000b, PERIPHERAL DEVICE TYPE 00h
/** PAGE LENGTH of the Extended INQUIRY Data, Block Limits and Block Device Characteristics pages. */
const PAGE_LENGTH_3CH = 0x3c;

function page(code: VpdPage, pageLength: number): { out: Uint8Array; v: DataView } {
  const out = new Uint8Array(HEADER + pageLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, PDT_DIRECT_ACCESS);
  v.setUint8(1, code); // PAGE CODE
  v.setUint16(2, pageLength); // PAGE LENGTH
  return { out, v };
}

/** 00h Supported VPD Pages: SUPPORTED VPD PAGE LIST, ascending. */
export function buildSupportedVpdPages(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const { out } = page(VpdPage.SUPPORTED_VPD_PAGES, SUPPORTED_VPD_PAGES.length);
  out.set(SUPPORTED_VPD_PAGES, HEADER);
  return out;
}

/** 80h Unit Serial Number: PRODUCT SERIAL NUMBER, the serial as given (ASCII). */
export function buildUnitSerialNumber(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const { out } = page(VpdPage.UNIT_SERIAL_NUMBER, info.serial.length);
  out.set(asciiField('serial (PRODUCT SERIAL NUMBER)', info.serial, info.serial.length), HEADER);
  return out;
}

/**
 * 83h Device Identification, two designation descriptors, both ASSOCIATION 00b
 * (logical unit), PIV 0 (so PROTOCOL IDENTIFIER is reserved, 0):
 *  1. NAA: CODE SET 1h (binary), DESIGNATOR TYPE 3h, 8 bytes (`info.naa`);
 *  2. T10 vendor ID: CODE SET 2h (ASCII), DESIGNATOR TYPE 1h, T10 VENDOR
 *     IDENTIFICATION (8, space padded) followed by the serial number as the
 *     VENDOR SPECIFIC IDENTIFIER.
 */
export function buildDeviceIdentification(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const naaLength = 8;
  const t10Length = 8 + info.serial.length;
  const { out, v } = page(VpdPage.DEVICE_IDENTIFICATION, 4 + naaLength + 4 + t10Length);
  let o = HEADER;
  v.setUint8(o, CodeSet.BINARY); // PROTOCOL IDENTIFIER (7..4) 0 | CODE SET (3..0)
  v.setUint8(o + 1, (Association.LOGICAL_UNIT << 4) | DesignatorType.NAA); // PIV (7) 0 | ASSOCIATION (5..4) | DESIGNATOR TYPE (3..0)
  v.setUint8(o + 3, naaLength); // DESIGNATOR LENGTH
  v.setBigUint64(o + 4, info.naa);
  o += 4 + naaLength;
  v.setUint8(o, CodeSet.ASCII);
  v.setUint8(o + 1, (Association.LOGICAL_UNIT << 4) | DesignatorType.T10_VENDOR_ID);
  v.setUint8(o + 3, t10Length);
  out.set(asciiField('vendor (T10 VENDOR IDENTIFICATION)', info.vendor, 8), o + 4);
  out.set(asciiField('serial (VENDOR SPECIFIC IDENTIFIER)', info.serial, info.serial.length), o + 12);
  return out;
}

// Extended INQUIRY Data bits set here.
const HEADSUP = 0x04; // byte 5 bit 2: HEAD OF QUEUE task attribute supported
const ORDSUP = 0x02; // byte 5 bit 1: ORDERED task attribute supported
const SIMPSUP = 0x01; // byte 5 bit 0: SIMPLE task attribute supported
const V_SUP = 0x01; // byte 6 bit 0: volatile cache supported
const LUICLR = 0x01; // byte 7 bit 0: SPC-5 requires it set to one

/**
 * 86h Extended INQUIRY Data, PAGE LENGTH 3Ch. Set: HEADSUP, ORDSUP, SIMPSUP
 * (the CAM devq honours all three task attributes), V_SUP unless
 * `info.volatileCache` is false (a volatile cache that SYNCHRONIZE CACHE
 * flushes; virtio-blk FLUSH), LUICLR (SPC-5: shall be one). Everything else is zero: no protection
 * information (SPT, GRD_CHK, APP_CHK, REF_CHK), no non-volatile cache (NV_SUP),
 * no microcode download, no REPORT TIMESTAMP-style extras, no self-test time.
 */
export function buildExtendedInquiryData(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const { out, v } = page(VpdPage.EXTENDED_INQUIRY_DATA, PAGE_LENGTH_3CH);
  v.setUint8(5, HEADSUP | ORDSUP | SIMPSUP); // UASK_SUP, GROUP_SUP, PRIOR_SUP 0
  v.setUint8(6, info.volatileCache === false ? 0 : V_SUP); // WU_SUP, CRD_SUP, NV_SUP 0
  v.setUint8(7, LUICLR); // NO_PI_CHK, P_I_I_SUP 0
  return out;
}

const UGAVALID = 0x8000_0000; // byte 32 bit 7, over the 31-bit UNMAP GRANULARITY ALIGNMENT

/**
 * B0h Block Limits, PAGE LENGTH 3Ch. WSNZ is zero: a WRITE SAME NUMBER OF
 * LOGICAL BLOCKS of zero writes to the end of the medium. OPTIMAL
 * TRANSFER LENGTH GRANULARITY is one physical block (2^physicalBlockExp).
 * MAXIMUM PREFETCH LENGTH and the atomic-write fields (bytes 44..63) are zero.
 * UGAVALID is set when an unmap path exists and OPTIMAL UNMAP GRANULARITY is
 * reported, the only case where the alignment means anything; otherwise UNMAP
 * GRANULARITY ALIGNMENT is sent as zero.
 */
export function buildBlockLimits(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const l = info.limits;
  const { out, v } = page(VpdPage.BLOCK_LIMITS, PAGE_LENGTH_3CH);
  v.setUint8(4, 0); // WSNZ 0
  v.setUint8(5, l.maxCompareAndWriteBlocks); // MAXIMUM COMPARE AND WRITE LENGTH
  v.setUint16(6, 1 << info.physicalBlockExp); // OPTIMAL TRANSFER LENGTH GRANULARITY
  v.setUint32(8, l.maxTransferBlocks); // MAXIMUM TRANSFER LENGTH
  v.setUint32(12, l.optimalTransferBlocks); // OPTIMAL TRANSFER LENGTH
  v.setUint32(16, 0); // MAXIMUM PREFETCH LENGTH
  v.setUint32(20, l.maxUnmapLbaCount); // MAXIMUM UNMAP LBA COUNT
  v.setUint32(24, l.maxUnmapBlockDescriptors); // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
  v.setUint32(28, l.unmapGranularity); // OPTIMAL UNMAP GRANULARITY
  const ugavalid = lbpme(info) && l.unmapGranularity > 0;
  v.setUint32(32, ugavalid ? (UGAVALID | l.unmapGranularityAlignment) >>> 0 : 0); // UGAVALID | UNMAP GRANULARITY ALIGNMENT (zero when not valid)
  v.setBigUint64(36, BigInt(l.maxWriteSameBlocks)); // MAXIMUM WRITE SAME LENGTH
  return out;
}

/**
 * B1h Block Device Characteristics, PAGE LENGTH 3Ch: MEDIUM ROTATION RATE from
 * `info.rotationRate`, WABEREQ 01b when SANITIZE BLOCK ERASE is offered (it
 * deallocates onto zeros, which read back with GOOD), WACEREQ 00b (no
 * CRYPTOGRAPHIC ERASE). PRODUCT TYPE 0 (not indicated), NOMINAL FORM FACTOR 0
 * (not reported: a virtual disk has none), WABEREQ/WACEREQ/ZONED/BOCS 0.
 * FUAB 1: a FUA write is a write followed by a flush, which is what FUAB
 * promises (virtio-blk has no FUA). VBULS 1: VERIFY with BYTCHK compares an
 * unmapped block as the data it reads back (zeros), rather than failing with
 * MISCOMPARE VERIFY OF UNMAPPED LBA as SBC-4 requires when VBULS is 0.
 */
export function buildBlockDeviceCharacteristics(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const { out, v } = page(VpdPage.BLOCK_DEVICE_CHARACTERISTICS, PAGE_LENGTH_3CH);
  v.setUint16(4, info.rotationRate); // MEDIUM ROTATION RATE
  v.setUint8(7, info.sanitizeBlockErase === true ? WABEREQ_GOOD : 0); // WACEREQ (5..4) 0: no CRYPTOGRAPHIC ERASE; NOMINAL FORM FACTOR 0
  v.setUint8(8, FUAB | VBULS); // ZONED (5..4) 0, BOCS (2) 0
  return out;
}

/** B1h byte 7 bits 7..6, WABEREQ 01b: a read after a BLOCK ERASE completes with GOOD (here: zeros). */
const WABEREQ_GOOD = 0b01 << 6;
const FUAB = 0x02; // B1h byte 8 bit 1
const VBULS = 0x01; // B1h byte 8 bit 0

const LBPU = 0x80; // byte 5 bit 7
const LBPWS = 0x40; // byte 5 bit 6
const LBPWS10 = 0x20; // byte 5 bit 5
const LBPRZ_ZEROS = 0b001 << 2; // byte 5 bits 4..2: LBPRZ field (SBC-4 widened SBC-3's bit 2 to 3 bits), 001b = zeros
const ANC_SUP = 0x02; // byte 5 bit 1
/** PROVISIONING TYPE (byte 6 bits 2..0). */
export const ProvisioningType = { NOT_REPORTED: 0b000, RESOURCE_PROVISIONED: 0b001, THIN_PROVISIONED: 0b010 } as const;
export type ProvisioningType = (typeof ProvisioningType)[keyof typeof ProvisioningType];

/**
 * B2h Logical Block Provisioning, PAGE LENGTH 0004h (DP 0: no provisioning
 * group descriptor). THRESHOLD EXPONENT 0 (no thresholds), MINIMUM PERCENTAGE
 * and THRESHOLD PERCENTAGE 0. LBPRZ (001b) and PROVISIONING TYPE thin (010b)
 * are only claimed when LBPME would be one (an unmap path exists); otherwise
 * the unit is reported fully provisioned (000b) and LBPRZ 000b.
 */
export function buildLogicalBlockProvisioning(info: LogicalUnitInfo): Uint8Array {
  assertLogicalUnitInfo(info);
  const p = info.provisioning;
  const enabled = lbpme(info);
  const { out, v } = page(VpdPage.LOGICAL_BLOCK_PROVISIONING, 4);
  v.setUint8(4, 0); // THRESHOLD EXPONENT
  v.setUint8(
    5,
    (p.lbpu ? LBPU : 0) | (p.lbpws ? LBPWS : 0) | (p.lbpws10 ? LBPWS10 : 0) | (enabled && p.lbprz ? LBPRZ_ZEROS : 0) | (p.ancSup === true ? ANC_SUP : 0),
  ); // DP (bit 0) 0
  v.setUint8(6, enabled ? ProvisioningType.THIN_PROVISIONED : ProvisioningType.NOT_REPORTED); // MINIMUM PERCENTAGE 0
  v.setUint8(7, 0); // THRESHOLD PERCENTAGE
  return out;
}

/** INQUIRY CDB byte 2: PAGE CODE. */
const CDB_PAGE_CODE_BYTE = 2;

/**
 * Builds VPD page `pageCode` (INQUIRY with EVPD = 1). A page vtcam does not
 * support is ILLEGAL REQUEST, INVALID FIELD IN CDB, field pointer at CDB byte 2
 * (PAGE CODE, a whole byte, so no bit pointer). Throws RangeError if
 * `pageCode` is not a byte or `info` does not fit.
 */
export function buildVpdPage(info: LogicalUnitInfo, pageCode: number): Decoded<Uint8Array> {
  if (!Number.isInteger(pageCode) || pageCode < 0 || pageCode > 0xff) {
    throw new RangeError(`VPD page code must be a byte, got ${pageCode}`);
  }
  switch (pageCode) {
    case VpdPage.SUPPORTED_VPD_PAGES:
      return { ok: true, value: buildSupportedVpdPages(info) };
    case VpdPage.UNIT_SERIAL_NUMBER:
      return { ok: true, value: buildUnitSerialNumber(info) };
    case VpdPage.DEVICE_IDENTIFICATION:
      return { ok: true, value: buildDeviceIdentification(info) };
    case VpdPage.EXTENDED_INQUIRY_DATA:
      return { ok: true, value: buildExtendedInquiryData(info) };
    case VpdPage.BLOCK_LIMITS:
      return { ok: true, value: buildBlockLimits(info) };
    case VpdPage.BLOCK_DEVICE_CHARACTERISTICS:
      return { ok: true, value: buildBlockDeviceCharacteristics(info) };
    case VpdPage.LOGICAL_BLOCK_PROVISIONING:
      return { ok: true, value: buildLogicalBlockProvisioning(info) };
    default:
      assertLogicalUnitInfo(info);
      return { ok: false, fault: invalidFieldInCdb(CDB_PAGE_CODE_BYTE) };
  }
}

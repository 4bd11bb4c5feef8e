// Standard INQUIRY data for a direct-access logical unit. Spec: SPC-5 (INCITS
// 502), standard INQUIRY data format; version descriptor values from the T10
// version descriptor list that SPC-5 points to.
//
// 96 bytes: the 36-byte core, vendor-specific bytes 36..55 (zero), the obsolete
// SPI byte 56 and reserved byte 57, eight VERSION DESCRIPTOR fields at 58..73,
// and reserved bytes 74..95. The caller truncates to ALLOCATION LENGTH.

import { asciiField, assertLogicalUnitInfo, type LogicalUnitInfo } from './device-info.js';

/** PERIPHERAL QUALIFIER (SPC-5). */
export const PeripheralQualifier = {
  /** 000b: the logical unit is accessible (connected). */
  CONNECTED: 0b000,
  /** 001b: capable of supporting the device type, not currently connected. */
  NOT_CONNECTED: 0b001,
  /** 011b: no logical unit here; PERIPHERAL DEVICE TYPE is then 1Fh. */
  NOT_SUPPORTED: 0b011,
} as const;
export type PeripheralQualifier = (typeof PeripheralQualifier)[keyof typeof PeripheralQualifier];

/** PERIPHERAL DEVICE TYPE values used here (SPC-5). */
export const PeripheralDeviceType = {
  DIRECT_ACCESS_BLOCK_DEVICE: 0x00,
  UNKNOWN_OR_NO_DEVICE_TYPE: 0x1f,
} as const;
export type PeripheralDeviceType = (typeof PeripheralDeviceType)[keyof typeof PeripheralDeviceType];

/**
 * T10 version descriptor codes vtcam claims, in the SPC-5 recommended order:
 * architecture model, command set, device-type command set. Virtio is not a
 * T10 transport, so no transport protocol or physical transport descriptor is
 * claimed (the list is transport-independent).
 *
 * SAM-5 rather than SAM-6: SPC-5 and SBC-4 both reference SAM-5 normatively.
 * SPC-4 and SBC-3 are claimed beside SPC-5 and SBC-4: everything vtcam
 * implements is defined the same way there (see INQUIRY_VERSION), and
 * initiators look for them (libiscsi's conformance suite enables its SBC-3
 * checks, such as the 3Ch-byte Block Limits page, only when 04C0h is listed).
 */
export const VersionDescriptor = {
  /** SAM-5 (no version claimed). */
  SAM_5: 0x00a0,
  /** SPC-5 (no version claimed). */
  SPC_5: 0x05c0,
  /** SPC-4 (no version claimed). */
  SPC_4: 0x0460,
  /** SBC-4 (no version claimed). */
  SBC_4: 0x0600,
  /** SBC-3 (no version claimed). */
  SBC_3: 0x04c0,
} as const;
export type VersionDescriptor = (typeof VersionDescriptor)[keyof typeof VersionDescriptor];

/**
 * VERSION 06h: the device server claims SPC-4. vtcam follows SPC-5, but every
 * SPC command, field and value it implements is defined the same way in SPC-4
 * (what SPC-5 added, e.g. command duration limits, is not implemented and
 * reads as zero), so the SPC-4 claim is true; 07h is refused by initiators
 * and conformance tools that predate SPC-5 (libiscsi ≤ 1.19's INQUIRY test
 * accepts 04h..06h only). The version descriptors name SPC-5 as well.
 */
export const INQUIRY_VERSION = 0x06;
/** Length of the standard INQUIRY data vtcam returns. */
export const STANDARD_INQUIRY_LENGTH = 96;

// Byte offsets in the standard INQUIRY data.
const Layout = {
  PERIPHERAL: 0, // PERIPHERAL QUALIFIER (7..5) | PERIPHERAL DEVICE TYPE (4..0)
  RMB: 1, // RMB (7) | LU_CONG (6)
  VERSION: 2,
  FLAGS3: 3, // obsolete (7..6) | NORMACA (5) | HISUP (4) | RESPONSE DATA FORMAT (3..0)
  ADDITIONAL_LENGTH: 4,
  FLAGS5: 5, // SCCS (7) | ACC (6) | TPGS (5..4) | 3PC (3) | reserved (2..1) | PROTECT (0)
  FLAGS6: 6, // obsolete (7) | ENCSERV (6) | VS (5) | MULTIP (4) | obsolete (3..0)
  FLAGS7: 7, // obsolete (7..2) | CMDQUE (1) | VS (0)
  T10_VENDOR_IDENTIFICATION: 8, // 8 bytes
  PRODUCT_IDENTIFICATION: 16, // 16 bytes
  PRODUCT_REVISION_LEVEL: 32, // 4 bytes
  VERSION_DESCRIPTOR_1: 58, // 8 × 2 bytes
} as const;

const RMB = 0x80; // byte 1 bit 7: removable medium
const TPC = 0x08; // byte 5 bit 3 (3PC): a copy manager (EXTENDED COPY) is reachable through this logical unit
const HISUP = 0x10; // byte 3 bit 4: hierarchical LUN addressing (SAM-5 LUNs)
const RESPONSE_DATA_FORMAT = 0x02; // byte 3 bits 3..0: 2, the only value SPC-5 allows
const CMDQUE = 0x02; // byte 7 bit 1: command management model (tagged queueing)

/** Options for {@link buildStandardInquiry}. */
export interface StandardInquiryOptions {
  /**
   * PERIPHERAL QUALIFIER; default CONNECTED. NOT_SUPPORTED (011b) is what a
   * target returns for a LUN with no logical unit, and forces PERIPHERAL
   * DEVICE TYPE to 1Fh.
   */
  readonly peripheralQualifier?: PeripheralQualifier;
}

/**
 * Builds the 96-byte standard INQUIRY data: direct-access device, RMB from
 * `info.removable`, VERSION 06h, HISUP 1, RESPONSE DATA FORMAT 2, TPGS 00b,
 * 3PC from `info.thirdPartyCopy`, PROTECT 0, CMDQUE 1, ASCII identification
 * fields, SAM-5/SPC-5/SPC-4/SBC-4/SBC-3 version descriptors.
 * Throws RangeError when `info` does not fit (see `assertLogicalUnitInfo`).
 */
export function buildStandardInquiry(info: LogicalUnitInfo, opts: StandardInquiryOptions = {}): Uint8Array {
  assertLogicalUnitInfo(info);
  const pq = opts.peripheralQualifier ?? PeripheralQualifier.CONNECTED;
  const pdt = pq === PeripheralQualifier.NOT_SUPPORTED ? PeripheralDeviceType.UNKNOWN_OR_NO_DEVICE_TYPE : PeripheralDeviceType.DIRECT_ACCESS_BLOCK_DEVICE;
  const out = new Uint8Array(STANDARD_INQUIRY_LENGTH);
  const v = new DataView(out.buffer);
  v.setUint8(Layout.PERIPHERAL, (pq << 5) | pdt);
  v.setUint8(Layout.RMB, info.removable === true ? RMB : 0x00); // LU_CONG 0
  v.setUint8(Layout.VERSION, INQUIRY_VERSION);
  v.setUint8(Layout.FLAGS3, HISUP | RESPONSE_DATA_FORMAT); // NORMACA 0: ACA not supported
  v.setUint8(Layout.ADDITIONAL_LENGTH, STANDARD_INQUIRY_LENGTH - 5); // n - 4 where n is the last byte index
  v.setUint8(Layout.FLAGS5, info.thirdPartyCopy === true ? TPC : 0x00); // SCCS 0, ACC 0, TPGS 00b (no ALUA), PROTECT 0
  v.setUint8(Layout.FLAGS6, 0x00); // ENCSERV 0, MULTIP 0: one port
  v.setUint8(Layout.FLAGS7, CMDQUE);
  out.set(asciiField('vendor (T10 VENDOR IDENTIFICATION)', info.vendor, 8), Layout.T10_VENDOR_IDENTIFICATION);
  out.set(asciiField('product (PRODUCT IDENTIFICATION)', info.product, 16), Layout.PRODUCT_IDENTIFICATION);
  out.set(asciiField('revision (PRODUCT REVISION LEVEL)', info.revision, 4), Layout.PRODUCT_REVISION_LEVEL);
  const descriptors = [VersionDescriptor.SAM_5, VersionDescriptor.SPC_5, VersionDescriptor.SPC_4, VersionDescriptor.SBC_4, VersionDescriptor.SBC_3];
  descriptors.forEach((d, i) => {
    v.setUint16(Layout.VERSION_DESCRIPTOR_1 + 2 * i, d);
  });
  return out;
}

// READ DEFECT DATA (10) and (12) CDBs. Spec: SBC-4 (READ DEFECT DATA (10)/(12)
// CDB tables, DEFECT LIST FORMAT field). In the 10-byte CDB the request bits
// and the format are in byte 2 (byte 1 is reserved); in the 12-byte CDB they
// are in byte 1, followed by ADDRESS DESCRIPTOR INDEX.

import type { Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, newCdb, pickLength, U16_MAX, U32_MAX, type EncodeOptions } from './codec.js';

/** DEFECT LIST FORMAT values (SBC-4, address descriptor formats); 110b is vendor specific, 111b reserved. */
export const DefectListFormat = {
  SHORT_BLOCK: 0b000,
  EXTENDED_BYTES_FROM_INDEX: 0b001,
  EXTENDED_PHYSICAL_SECTOR: 0b010,
  LONG_BLOCK: 0b011,
  BYTES_FROM_INDEX: 0b100,
  PHYSICAL_SECTOR: 0b101,
  VENDOR_SPECIFIC: 0b110,
} as const;
export type DefectListFormat = (typeof DefectListFormat)[keyof typeof DefectListFormat];

/** A decoded READ DEFECT DATA CDB (either length). */
export interface ReadDefectDataCdb {
  /** REQ_PLIST: the primary (manufacturer's) defect list is requested. */
  readonly reqPlist: boolean;
  /** REQ_GLIST: the grown defect list is requested. */
  readonly reqGlist: boolean;
  /** DEFECT LIST FORMAT (3 bits, any value: which are supported is the device server's). */
  readonly format: number;
  /** ADDRESS DESCRIPTOR INDEX (12-byte CDB only; 0 in the 10-byte one). */
  readonly addressDescriptorIndex: number;
  /** ALLOCATION LENGTH (16 bits in the 10-byte CDB, 32 in the 12-byte one). */
  readonly allocationLength: number;
}

const REQ_PLIST = 0x10; // bit 4 of the request byte
const REQ_GLIST = 0x08; // bit 3
const FORMAT_MASK = 0x07; // bits 2..0
/** The byte holding REQ_PLIST, REQ_GLIST and DEFECT LIST FORMAT, by CDB length. */
export const DEFECT_REQUEST_BYTE: Readonly<Record<10 | 12, number>> = { 10: 2, 12: 1 };

/** Encodes READ DEFECT DATA: the 10-byte CDB unless the index or length need 12 or minLength is 12. */
export function encodeReadDefectData(cmd: Partial<ReadDefectDataCdb> = {}, opts: EncodeOptions = {}): Uint8Array {
  const format = cmd.format ?? DefectListFormat.SHORT_BLOCK;
  const index = cmd.addressDescriptorIndex ?? 0;
  const alloc = cmd.allocationLength ?? 0;
  assertUint('format', format, FORMAT_MASK);
  assertUint('addressDescriptorIndex', index, U32_MAX);
  assertUint('allocationLength', alloc, U32_MAX);
  const length = pickLength('encodeReadDefectData', [10, 12], opts.minLength ?? 10, (len) => len === 12 || (index === 0 && alloc <= U16_MAX)) === 10 ? 10 : 12;
  const { cdb, v } = newCdb(length, length === 10 ? ScsiOp.READ_DEFECT_DATA_10 : ScsiOp.READ_DEFECT_DATA_12);
  v.setUint8(DEFECT_REQUEST_BYTE[length], (cmd.reqPlist === true ? REQ_PLIST : 0) | (cmd.reqGlist === true ? REQ_GLIST : 0) | format);
  if (length === 10) {
    v.setUint16(7, alloc);
  } else {
    v.setUint32(2, index);
    v.setUint32(6, alloc);
  }
  return cdb;
}

/** Decodes READ DEFECT DATA (10) or (12) (reserved bits only; which formats exist is the emulator's). */
export function decodeReadDefectData(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ReadDefectDataCdb> {
  const checked = checkCdb(cdb, 'decodeReadDefectData', [ScsiOp.READ_DEFECT_DATA_10, ScsiOp.READ_DEFECT_DATA_12], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  const ten = desc.cdbLength === 10;
  const b = v.getUint8(DEFECT_REQUEST_BYTE[ten ? 10 : 12]);
  return {
    ok: true,
    value: {
      reqPlist: (b & REQ_PLIST) !== 0,
      reqGlist: (b & REQ_GLIST) !== 0,
      format: b & FORMAT_MASK,
      addressDescriptorIndex: ten ? 0 : v.getUint32(2),
      allocationLength: ten ? v.getUint16(7) : v.getUint32(6),
    },
  };
}

// UNMAP: the CDB and its parameter list (8-byte header + 16-byte UNMAP block
// descriptors). Spec: SBC-4 (UNMAP command: CDB, parameter list, block
// descriptor tables).

import {
  Asc,
  invalidFieldInParameterList,
  senseIllegalRequest,
  type Decoded,
  type SenseData,
} from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertBigUint, assertUint, checkCdb, GROUP_NUMBER_MASK, newCdb, U16_MAX, U32_MAX, U64_MAX_N } from './codec.js';

/** A decoded UNMAP CDB. */
export interface UnmapCdb {
  /** ANCHOR (byte 1 bit 0): anchor rather than deallocate (needs ANC_SUP; the emulator checks). */
  readonly anchor: boolean;
  /** GROUP NUMBER (6 bits). */
  readonly groupNumber: number;
  /** PARAMETER LIST LENGTH; 0 means no parameter list and no action. */
  readonly parameterListLength: number;
}

/** One UNMAP block descriptor. */
export interface UnmapBlockDescriptor {
  /** UNMAP LOGICAL BLOCK ADDRESS. */
  readonly lba: bigint;
  /** NUMBER OF LOGICAL BLOCKS (0: nothing to unmap for this descriptor, not an error). */
  readonly blocks: number;
}

/** A decoded UNMAP parameter list. */
export interface UnmapParameterList {
  readonly descriptors: readonly UnmapBlockDescriptor[];
}

const ANCHOR = 0x01; // byte 1 bit 0
/** UNMAP parameter list header length. */
export const UNMAP_HEADER_LENGTH = 8;
/** UNMAP block descriptor length. */
export const UNMAP_DESCRIPTOR_LENGTH = 16;
/** Most descriptors one list can carry: UNMAP DATA LENGTH (6 + 16·n) is 16 bits. */
export const UNMAP_MAX_DESCRIPTORS = Math.floor((U16_MAX - 6) / UNMAP_DESCRIPTOR_LENGTH);

/** Encodes the UNMAP CDB. */
export function encodeUnmap(cmd: Pick<UnmapCdb, 'parameterListLength'> & Partial<UnmapCdb>): Uint8Array {
  const groupNumber = cmd.groupNumber ?? 0;
  assertUint('groupNumber', groupNumber, GROUP_NUMBER_MASK);
  assertUint('parameterListLength', cmd.parameterListLength, U16_MAX);
  const { cdb, v } = newCdb(10, ScsiOp.UNMAP);
  v.setUint8(1, cmd.anchor === true ? ANCHOR : 0);
  v.setUint8(6, groupNumber);
  v.setUint16(7, cmd.parameterListLength);
  return cdb;
}

/** Decodes the UNMAP CDB (reserved bits only; the list is decodeUnmapParameterList's). */
export function decodeUnmap(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<UnmapCdb> {
  const checked = checkCdb(cdb, 'decodeUnmap', [ScsiOp.UNMAP], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  return {
    ok: true,
    value: {
      anchor: (v.getUint8(1) & ANCHOR) !== 0,
      groupNumber: v.getUint8(6) & GROUP_NUMBER_MASK,
      parameterListLength: v.getUint16(7),
    },
  };
}

/** Encodes an UNMAP parameter list with consistent UNMAP DATA LENGTH and BLOCK DESCRIPTOR DATA LENGTH. */
export function encodeUnmapParameterList(descriptors: readonly UnmapBlockDescriptor[]): Uint8Array {
  assertUint('descriptor count', descriptors.length, UNMAP_MAX_DESCRIPTORS);
  const bdLength = UNMAP_DESCRIPTOR_LENGTH * descriptors.length;
  const out = new Uint8Array(UNMAP_HEADER_LENGTH + bdLength);
  const v = new DataView(out.buffer);
  v.setUint16(0, UNMAP_HEADER_LENGTH - 2 + bdLength); // UNMAP DATA LENGTH (n − 1)
  v.setUint16(2, bdLength); // UNMAP BLOCK DESCRIPTOR DATA LENGTH (n − 7)
  descriptors.forEach((d, k) => {
    assertBigUint(`descriptors[${k}].lba`, d.lba, U64_MAX_N);
    assertUint(`descriptors[${k}].blocks`, d.blocks, U32_MAX);
    const at = UNMAP_HEADER_LENGTH + UNMAP_DESCRIPTOR_LENGTH * k;
    v.setBigUint64(at, d.lba);
    v.setUint32(at + 8, d.blocks);
  });
  return out;
}

function firstSetBit(v: DataView, from: number, to: number): SenseData | undefined {
  for (let i = from; i < to; i++) {
    const b = v.getUint8(i);
    if (b !== 0) return invalidFieldInParameterList(i, 31 - Math.clz32(b));
  }
  return undefined;
}

/**
 * Decodes the UNMAP parameter list (`data` is its PARAMETER LIST LENGTH bytes:
 * a transfer shorter than that is the device server's PARAMETER LIST LENGTH
 * ERROR before the list is looked at). Rules:
 * - empty: no descriptors (PARAMETER LIST LENGTH 0 is not an error);
 * - 1..7 bytes: PARAMETER LIST LENGTH ERROR (1Ah/00h), no field pointer;
 * - a reserved byte (header 4..7, descriptor 12..15) that is not zero: INVALID
 *   FIELD IN PARAMETER LIST (26h/00h), C/D = 0, pointing at that byte and its
 *   highest set bit;
 * - UNMAP BLOCK DESCRIPTOR DATA LENGTH past the end of the list is clamped to
 *   it, and a trailing partial descriptor is ignored (SBC-4: a length that is
 *   not a multiple of 16 means the last descriptor is incomplete and ignored).
 * UNMAP DATA LENGTH is informational and not checked. Limits (MAXIMUM UNMAP
 * BLOCK DESCRIPTOR COUNT, LBA range) are the emulator's.
 */
export function decodeUnmapParameterList(data: Uint8Array): Decoded<UnmapParameterList> {
  if (data.length === 0) return { ok: true, value: { descriptors: [] } };
  if (data.length < UNMAP_HEADER_LENGTH) return { ok: false, fault: senseIllegalRequest(Asc.PARAMETER_LIST_LENGTH_ERROR) };
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headerFault = firstSetBit(v, 4, UNMAP_HEADER_LENGTH);
  if (headerFault !== undefined) return { ok: false, fault: headerFault };
  const bdLength = Math.min(v.getUint16(2), data.length - UNMAP_HEADER_LENGTH);
  const count = Math.floor(bdLength / UNMAP_DESCRIPTOR_LENGTH);
  const descriptors: UnmapBlockDescriptor[] = [];
  for (let k = 0; k < count; k++) {
    const at = UNMAP_HEADER_LENGTH + UNMAP_DESCRIPTOR_LENGTH * k;
    const fault = firstSetBit(v, at + 12, at + UNMAP_DESCRIPTOR_LENGTH);
    if (fault !== undefined) return { ok: false, fault };
    descriptors.push({ lba: v.getBigUint64(at), blocks: v.getUint32(at + 8) });
  }
  return { ok: true, value: { descriptors } };
}

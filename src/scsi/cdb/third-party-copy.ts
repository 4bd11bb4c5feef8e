// EXTENDED COPY (LID1) and RECEIVE COPY RESULTS (LID1) CDBs: THIRD-PARTY COPY
// OUT (83h) service action 00h, THIRD-PARTY COPY IN (84h) service actions 00h
// (RECEIVE COPY STATUS) and 03h (RECEIVE COPY OPERATING PARAMETERS). Spec:
// SPC-5 (the LID1 CDB tables; SPC-3 called them EXTENDED COPY and RECEIVE COPY
// RESULTS): PARAMETER LIST LENGTH / ALLOCATION LENGTH bytes 10..13, LIST
// IDENTIFIER byte 2 (COPY STATUS only).

import type { Decoded } from '../sense.js';
import { ScsiOp, ThirdPartyCopyOutSa } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, newCdb, U32_MAX } from './codec.js';

/** A decoded EXTENDED COPY (LID1) CDB. */
export interface ExtendedCopyCdb {
  /** PARAMETER LIST LENGTH (bytes 10..13); 0 means no copy and is not an error. */
  readonly parameterListLength: number;
}

/** A decoded RECEIVE COPY STATUS / OPERATING PARAMETERS (LID1) CDB. */
export interface ReceiveCopyResultsCdb {
  /** SERVICE ACTION (byte 1 bits 4..0): ThirdPartyCopyInSa. */
  readonly serviceAction: number;
  /** LIST IDENTIFIER (byte 2; RECEIVE COPY STATUS only, reserved otherwise). */
  readonly listId: number;
  /** ALLOCATION LENGTH (bytes 10..13). */
  readonly allocationLength: number;
}

const SA_MASK = 0x1f;
const LIST_ID_BYTE = 2;
const LENGTH_BYTE = 10;

/** Encodes EXTENDED COPY (LID1). */
export function encodeExtendedCopy(cmd: ExtendedCopyCdb): Uint8Array {
  assertUint('parameterListLength', cmd.parameterListLength, U32_MAX);
  const { cdb, v } = newCdb(16, ScsiOp.THIRD_PARTY_COPY_OUT);
  v.setUint8(1, ThirdPartyCopyOutSa.EXTENDED_COPY_LID1);
  v.setUint32(LENGTH_BYTE, cmd.parameterListLength);
  return cdb;
}

/** Decodes EXTENDED COPY (LID1). */
export function decodeExtendedCopy(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ExtendedCopyCdb> {
  const checked = checkCdb(cdb, 'decodeExtendedCopy', [ScsiOp.THIRD_PARTY_COPY_OUT], commands);
  if (!checked.ok) return checked;
  return { ok: true, value: { parameterListLength: checked.value.v.getUint32(LENGTH_BYTE) } };
}

/** Encodes RECEIVE COPY STATUS (LID1) or RECEIVE COPY OPERATING PARAMETERS. */
export function encodeReceiveCopyResults(cmd: Pick<ReceiveCopyResultsCdb, 'serviceAction' | 'allocationLength'> & Partial<ReceiveCopyResultsCdb>): Uint8Array {
  const listId = cmd.listId ?? 0;
  assertUint('serviceAction', cmd.serviceAction, SA_MASK);
  assertUint('listId', listId, 0xff);
  assertUint('allocationLength', cmd.allocationLength, U32_MAX);
  const { cdb, v } = newCdb(16, ScsiOp.THIRD_PARTY_COPY_IN);
  v.setUint8(1, cmd.serviceAction);
  v.setUint8(LIST_ID_BYTE, listId);
  v.setUint32(LENGTH_BYTE, cmd.allocationLength);
  return cdb;
}

/** Decodes RECEIVE COPY STATUS (LID1) or RECEIVE COPY OPERATING PARAMETERS. */
export function decodeReceiveCopyResults(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ReceiveCopyResultsCdb> {
  const checked = checkCdb(cdb, 'decodeReceiveCopyResults', [ScsiOp.THIRD_PARTY_COPY_IN], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  return {
    ok: true,
    value: { serviceAction: v.getUint8(1) & SA_MASK, listId: v.getUint8(LIST_ID_BYTE), allocationLength: v.getUint32(LENGTH_BYTE) },
  };
}


// SYNCHRONIZE CACHE (10) and (16) CDBs. Spec: SBC-4 (SYNCHRONIZE CACHE (10)/(16)
// CDB tables). Byte 1 bit 2 (formerly SYNC_NV) and bit 0 (formerly RELADR) are
// obsolete and treated as reserved.

import type { Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import type { EncodeOptions } from './codec.js';
import { decodeImmedRange, encodeImmedRange, type ImmedRangeCdb } from './immed-range.js';

/** A decoded SYNCHRONIZE CACHE CDB; blocks = 0 means "through the last logical block". */
export type SyncCacheCdb = ImmedRangeCdb;

const OPCODES = { 10: ScsiOp.SYNCHRONIZE_CACHE_10, 16: ScsiOp.SYNCHRONIZE_CACHE_16 } as const;

/** Encodes SYNCHRONIZE CACHE: the 10-byte CDB unless lba/blocks need 16 or minLength is 16. Defaults: whole medium. */
export function encodeSyncCache(cmd: Partial<SyncCacheCdb> = {}, opts: EncodeOptions = {}): Uint8Array {
  return encodeImmedRange('encodeSyncCache', OPCODES, cmd, opts);
}

/** Decodes SYNCHRONIZE CACHE (10) or (16). */
export function decodeSyncCache(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<SyncCacheCdb> {
  return decodeImmedRange('decodeSyncCache', OPCODES, cdb, commands);
}

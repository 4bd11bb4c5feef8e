// PRE-FETCH (10) and (16) CDBs. Spec: SBC-4 (PRE-FETCH (10)/(16) CDB tables).
// Byte 1 bit 0 (obsolete in the 10-byte CDB, reserved in the 16-byte one) is
// treated as reserved.

import type { Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import type { EncodeOptions } from './codec.js';
import { decodeImmedRange, encodeImmedRange, type ImmedRangeCdb } from './immed-range.js';

/** A decoded PRE-FETCH CDB; blocks (PREFETCH LENGTH) = 0 means "through the last logical block". */
export type PrefetchCdb = ImmedRangeCdb;

const OPCODES = { 10: ScsiOp.PRE_FETCH_10, 16: ScsiOp.PRE_FETCH_16 } as const;

/** Encodes PRE-FETCH: the 10-byte CDB unless lba/blocks need 16 or minLength is 16. */
export function encodePrefetch(cmd: Partial<PrefetchCdb> = {}, opts: EncodeOptions = {}): Uint8Array {
  return encodeImmedRange('encodePrefetch', OPCODES, cmd, opts);
}

/** Decodes PRE-FETCH (10) or (16). */
export function decodePrefetch(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<PrefetchCdb> {
  return decodeImmedRange('decodePrefetch', OPCODES, cdb, commands);
}

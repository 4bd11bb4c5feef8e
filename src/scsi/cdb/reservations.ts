// RESERVE / RELEASE (6) and (10) and PERSISTENT RESERVE IN / OUT CDBs.
// Spec: SPC-2 (RESERVE/RELEASE, obsolete since SPC-3), SPC-5 (PERSISTENT
// RESERVE IN/OUT CDB tables). vtcam implements neither third-party nor
// long-ID reservations, so every RESERVE/RELEASE field is reserved; the
// PERSISTENT RESERVE OUT SCOPE/TYPE and lengths are checked by the emulator,
// which knows the service action's rules (e.g. the 24-byte parameter list).

import type { Decoded } from '../sense.js';
import { PersistentReserveInSa, PersistentReserveOutSa, ScsiOp } from '../opcodes.js';
import type { CommandDescriptor } from './registry.js';
import { assertUint, checkCdb, DEFAULT_MIN_LENGTH, newCdb, pickLength, U16_MAX, U32_MAX, type EncodeOptions } from './codec.js';

/** RESERVE or RELEASE (6)/(10): the command is all there is. */
export interface ReserveReleaseCdb {
  readonly op: 'RESERVE' | 'RELEASE';
}

const RR_OPCODES = {
  RESERVE: { 6: ScsiOp.RESERVE_6, 10: ScsiOp.RESERVE_10 },
  RELEASE: { 6: ScsiOp.RELEASE_6, 10: ScsiOp.RELEASE_10 },
} as const;

/** Encodes RESERVE/RELEASE: (6) unless minLength asks for (10). */
export function encodeReserveRelease(cmd: ReserveReleaseCdb, opts: EncodeOptions = {}): Uint8Array {
  const length = pickLength('encodeReserveRelease', [6, 10], opts.minLength ?? DEFAULT_MIN_LENGTH, () => true);
  return newCdb(length, length === 6 ? RR_OPCODES[cmd.op][6] : RR_OPCODES[cmd.op][10]).cdb;
}

/** Decodes RESERVE/RELEASE (6)/(10) (reserved bits only). */
export function decodeReserveRelease(cdb: Uint8Array, commands?: readonly CommandDescriptor[]): Decoded<ReserveReleaseCdb> {
  const checked = checkCdb(
    cdb,
    'decodeReserveRelease',
    [ScsiOp.RESERVE_6, ScsiOp.RESERVE_10, ScsiOp.RELEASE_6, ScsiOp.RELEASE_10],
    commands,
  );
  if (!checked.ok) return checked;
  const op = checked.value.v.getUint8(0);
  return { ok: true, value: { op: op === ScsiOp.RESERVE_6 || op === ScsiOp.RESERVE_10 ? 'RESERVE' : 'RELEASE' } };
}

/** A decoded PERSISTENT RESERVE IN CDB. */
export interface PersistentReserveInCdb {
  /** SERVICE ACTION (byte 1 bits 4..0). */
  readonly serviceAction: PersistentReserveInSa;
  /** ALLOCATION LENGTH (bytes 7..8). */
  readonly allocationLength: number;
}

/** A decoded PERSISTENT RESERVE OUT CDB. */
export interface PersistentReserveOutCdb {
  /** SERVICE ACTION (byte 1 bits 4..0). */
  readonly serviceAction: PersistentReserveOutSa;
  /** SCOPE (byte 2 bits 7..4); only LU_SCOPE (0h) is defined. */
  readonly scope: number;
  /** TYPE (byte 2 bits 3..0). */
  readonly type: number;
  /** PARAMETER LIST LENGTH (bytes 5..8). */
  readonly parameterListLength: number;
}

const SERVICE_ACTION = 0x1f; // byte 1 bits 4..0
const SCOPE_SHIFT = 4; // byte 2 bits 7..4
const TYPE_MASK = 0x0f; // byte 2 bits 3..0

/** Encodes PERSISTENT RESERVE IN. */
export function encodePersistentReserveIn(cmd: PersistentReserveInCdb): Uint8Array {
  assertUint('serviceAction', cmd.serviceAction, SERVICE_ACTION);
  assertUint('allocationLength', cmd.allocationLength, U16_MAX);
  const { cdb, v } = newCdb(10, ScsiOp.PERSISTENT_RESERVE_IN);
  v.setUint8(1, cmd.serviceAction);
  v.setUint16(7, cmd.allocationLength);
  return cdb;
}

/** Decodes PERSISTENT RESERVE IN (unknown service actions are lookupCommand's fault). */
export function decodePersistentReserveIn(
  cdb: Uint8Array,
  commands?: readonly CommandDescriptor[],
): Decoded<PersistentReserveInCdb> {
  const checked = checkCdb(cdb, 'decodePersistentReserveIn', [ScsiOp.PERSISTENT_RESERVE_IN], commands);
  if (!checked.ok) return checked;
  const { v } = checked.value;
  return {
    ok: true,
    value: { serviceAction: (v.getUint8(1) & SERVICE_ACTION) as PersistentReserveInSa, allocationLength: v.getUint16(7) },
  };
}

/** Encodes PERSISTENT RESERVE OUT. */
export function encodePersistentReserveOut(
  cmd: Pick<PersistentReserveOutCdb, 'serviceAction' | 'parameterListLength'> & Partial<PersistentReserveOutCdb>,
): Uint8Array {
  const scope = cmd.scope ?? 0;
  const type = cmd.type ?? 0;
  assertUint('serviceAction', cmd.serviceAction, SERVICE_ACTION);
  assertUint('scope', scope, 0x0f);
  assertUint('type', type, TYPE_MASK);
  assertUint('parameterListLength', cmd.parameterListLength, U32_MAX);
  const { cdb, v } = newCdb(10, ScsiOp.PERSISTENT_RESERVE_OUT);
  v.setUint8(1, cmd.serviceAction);
  v.setUint8(2, (scope << SCOPE_SHIFT) | type);
  v.setUint32(5, cmd.parameterListLength);
  return cdb;
}

/** Decodes PERSISTENT RESERVE OUT (unknown service actions are lookupCommand's fault). */
export function decodePersistentReserveOut(
  cdb: Uint8Array,
  commands?: readonly CommandDescriptor[],
): Decoded<PersistentReserveOutCdb> {
  const checked = checkCdb(cdb, 'decodePersistentReserveOut', [ScsiOp.PERSISTENT_RESERVE_OUT], commands);
  if (!checked.ok) return checked;
  const { v, desc } = checked.value;
  // REGISTER, REGISTER AND IGNORE EXISTING KEY and CLEAR ignore SCOPE and TYPE (the table's `ignored` bits): they decode as 0.
  const b2 = v.getUint8(2) & ~(desc.ignored?.[2] ?? 0);
  return {
    ok: true,
    value: {
      serviceAction: (v.getUint8(1) & SERVICE_ACTION) as PersistentReserveOutSa,
      scope: b2 >> SCOPE_SHIFT,
      type: b2 & TYPE_MASK,
      parameterListLength: v.getUint32(5),
    },
  };
}

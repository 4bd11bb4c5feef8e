// The SBC emulator's generic path: the steps every command goes through, and
// the handler table they end in. Spec: SAM-5 (unit attention, status
// precedence), SPC-5 (reservations), SBC-4 (block commands).
//
// The steps, in this order:
// 1. find the command (unknown operation code / service action → 20h or 24h);
//    one that conflicts with a reservation another I_T nexus holds is
//    RESERVATION CONFLICT now, ahead of a unit attention (SAM-5 status
//    precedence; the unit attention stays pending): reservation-conflicts.ts;
// 2. report a pending unit attention, then a pending deferred error, to the
//    I_T nexus (INQUIRY, REPORT LUNS and REQUEST SENSE are exempt, SAM-5);
//    a command re-issued after a device reset (ExecuteOptions.reissued) was
//    received before them and is not the nexus's next command: they stay
//    pending for that one;
// 3. decode the CDB against this unit's command table (usage masks, field
//    values → INVALID FIELD IN CDB with the field pointer);
// 4. medium access on a unit without its medium answers NOT READY 3Ah/00h,
//    on a stopped unit NOT READY 04h/02h;
// 5. the handler's checks that need no data, in the order libiscsi and the
//    reference targets make observable: field values, write protection, LBA
//    range, then length limits (transfer, WRITE SAME, COMPARE AND WRITE);
// 6. block data shorter than the command needs → INVALID FIELD IN COMMAND
//    INFORMATION UNIT (0Eh/03h), nothing written;
// 7. the handler itself.

import type { DecodedCdb } from '../cdb/decode.js';
import { lookupCommand } from '../cdb/registry.js';
import { Asc, SenseKey, sense, senseIllegalRequest, senseUnitAttention, type Decoded } from '../sense.js';
import { ScsiOp } from '../opcodes.js';
import { IMPLEMENTATION_FAILURE } from './errors.js';
import { checkCondition, type CdbKind, type CommandOutcome, type HandlerEntry, type HandlerTable, type LogicalUnit } from './context.js';
import type { NexusConditions } from './nexus-state.js';
import type { Prepared } from './prepared-cdb.js';
import { SPC_HANDLERS } from './handlers-spc.js';
import { SBC_HANDLERS } from './handlers-sbc.js';
import { RW_HANDLERS } from './handlers-rw.js';
import { PROVISIONING_HANDLERS } from './handlers-provisioning.js';
import { MEDIUM_HANDLERS } from './handlers-medium.js';
import { RESERVATION_HANDLERS } from './handlers-reservations.js';
import { RESERVATION_CONFLICT } from './reservation-state.js';
import { SANITIZE_HANDLERS } from './handlers-sanitize.js';
import { COPY_HANDLERS } from './handlers-copy.js';
import type { OperationAborted } from './block-command-set.js';

const HANDLERS: HandlerTable = { ...SPC_HANDLERS, ...SBC_HANDLERS, ...MEDIUM_HANDLERS, ...RW_HANDLERS, ...PROVISIONING_HANDLERS, ...RESERVATION_HANDLERS, ...SANITIZE_HANDLERS, ...COPY_HANDLERS };

/** The handler of a decoded CDB's family; undefined when the CDB did not decode or no handler serves it. */
export const handlerOf = (d: Decoded<DecodedCdb>): HandlerEntry<CdbKind> | undefined => (d.ok ? (HANDLERS[d.value.kind] as HandlerEntry<CdbKind> | undefined) : undefined);

// SAM-5 (unit attention condition): INQUIRY, REPORT LUNS and REQUEST SENSE
// neither report nor clear a unit attention, also when their CDB is then
// rejected (INVALID FIELD IN CDB is specific to the command, the unit attention
// is not), so the exemption follows the operation code, not a successful decode.
const UA_EXEMPT_OPCODES: ReadonlySet<number> = new Set([ScsiOp.INQUIRY, ScsiOp.REPORT_LUNS, ScsiOp.REQUEST_SENSE]);
// SBC-4 (sanitize operations): the commands served while a sanitize runs; the rest are NOT READY, SANITIZE IN PROGRESS.
const SANITIZE_EXEMPT_OPCODES: ReadonlySet<number> = new Set([ScsiOp.INQUIRY, ScsiOp.REPORT_LUNS, ScsiOp.REQUEST_SENSE]);

/**
 * The steps of the file header for one command of `nexus` on `lu`; `reissued`
 * skips step 2 (ExecuteOptions.reissued); `aborted` is the handler's
 * SbcCommand.aborted (ExecuteOptions.aborted).
 * Synchronous up to the handler's own work; a rejection of the handler's
 * promise is the caller's to turn into IMPLEMENTATION_FAILURE (execute does).
 */
export function runCommandSteps(
  lu: LogicalUnit,
  conditions: NexusConditions,
  p: Prepared,
  dataOut: Uint8Array,
  nexus: string,
  transportId: Uint8Array | undefined,
  reissued: boolean,
  aborted: OperationAborted,
): CommandOutcome | Promise<CommandOutcome> {
  const { cdb, decoded } = p;
  const entry = handlerOf(decoded);
  const n = conditions.of(nexus);
  // Only REGISTER needs the identity, and it always comes this way: the fast path never looks.
  if (transportId !== undefined) lu.reservations.identify(nexus, transportId);
  if (lu.reservations.reserved && lookupCommand(cdb, p.commands).ok && lu.reservations.conflicts(nexus, cdb)) return RESERVATION_CONFLICT;
  if (!reissued && !UA_EXEMPT_OPCODES.has(cdb[0] ?? -1)) {
    const ua = n.unitAttentions.shift();
    if (ua !== undefined) return checkCondition(senseUnitAttention(ua));
    const deferred = n.deferred.shift();
    if (deferred !== undefined) return checkCondition(deferred);
  }
  if (!decoded.ok) return checkCondition(decoded.fault);
  if (entry === undefined) return checkCondition(sense(SenseKey.ILLEGAL_REQUEST, Asc.INVALID_COMMAND_OPERATION_CODE));
  const sanitizing = lu.sanitizer.inProgress();
  if (sanitizing !== undefined && !SANITIZE_EXEMPT_OPCODES.has(cdb[0] ?? -1)) return checkCondition(sanitizing);
  if (entry.medium) {
    const notReady = lu.mediumFault();
    if (notReady !== undefined) return checkCondition(notReady);
  }
  const fields = decoded.value.fields as never;
  const need = p.dataOutLength;
  // The buffer itself when it is exactly as long as needed (a view of the same bytes otherwise).
  const cmd = {
    fields,
    descriptor: decoded.value.descriptor,
    cdb,
    dataOut: dataOut.length === need ? dataOut : dataOut.subarray(0, need),
    dataOutSent: dataOut.length,
    nexus,
    epoch: lu.bcs.resetEpoch,
    aborted,
  };
  try {
    const fault = entry.check?.(lu, cmd);
    if (fault !== undefined) return checkCondition(fault);
    if (entry.parameterList !== true && dataOut.length < need) {
      return checkCondition(senseIllegalRequest(Asc.INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT));
    }
    return entry.run(lu, cmd);
  } catch {
    return checkCondition(IMPLEMENTATION_FAILURE);
  }
}

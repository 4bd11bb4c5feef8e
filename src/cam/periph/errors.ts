// Periph error recovery: what to do with a completed SCSI I/O CCB (complete,
// retry now, retry after a delay, start the unit then retry, or fail), decided
// from its CAM status, SCSI status and sense, plus the typed error the caller
// finally sees. The decision is a pure function over tables (STYLE §3); the
// periph's runner (recovery.ts) carries it out: retries, delays, freezes.
//
// Modelled on FreeBSD cam_periph_error() and scsi_error_action() (sys/cam/
// cam_periph.c, sys/cam/scsi/scsi_all.c sense_key_table/asc_table, read, not
// ported), with da's SF_RETRY_UA: a UNIT ATTENTION is retried and spends a
// retry, as CAM does. Differences, each chosen for vtcam:
// - Requeues (CAM_REQUEUE_REQ, CAM_BUSY, CAM_SCSI_BUSY, CAM_RESRC_UNAVAIL,
//   SCSI BUSY, TASK SET FULL) do not spend a retry until the CCB has been
//   requeued `requeueLimit` times; after that each spends one, so a device
//   that answers BUSY forever still fails. (CAM spends a retry on BUSY and
//   QUEUE FULL; here ring-full is ordinary flow control and must not fail I/O.)
// - CAM_UNREC_HBA_ERROR fails at once: it is what the vtblk SIM reports for a
//   broken ring, and a retry would meet the same ring.
// - CAM_REQ_ABORTED / CAM_REQ_TERMIO fail: someone asked for the abort.
// - NOT READY 04h/01h waits and retries (CAM sends TEST UNIT READY until the
//   unit is ready; the retry itself is the probe here).
// - A command whose second execution does not end as one does (the SCSI
//   command table's `once`: COMPARE AND WRITE, PERSISTENT RESERVE OUT,
//   EXTENDED COPY, SANITIZE) is retried only after a completion that says it
//   was not executed. After one that leaves it open whether the device server
//   acted on it, in whole or in part, it fails with its real status (the
//   `once` column): executed again, a COMPARE AND WRITE would miscompare
//   against its own write, a PERSISTENT RESERVE OUT REGISTER would conflict
//   with its own registration. CAM retries it as any command; here the caller
//   decides. Retries of every other command are as the other columns say.
//
// May have acted (`once`: fail):
// - CAM_CMD_TIMEOUT, CAM_SCSI_BUS_RESET, CAM_BDR_SENT: cut short at the
//   device, whose reset waits for it and so may let a write finish. The vtblk
//   SIM reads the same table and does not re-issue such a command after its
//   reset either.
// - CAM_REQ_CMP_ERR, CAM_UNEXP_BUSFREE, CAM_UNCOR_PARITY, CAM_DATA_RUN_ERR,
//   CAM_AUTOSENSE_FAIL: the transport failed after delivering the command (in
//   its data or status phase, or fetching its sense); CAM_DATA_RUN_ERR is
//   also what the vtblk SIM reports for a command that completed GOOD with
//   more Data-In than the buffer holds.
// - CAM_SCSI_IT_NEXUS_LOST: an I_T nexus loss aborts the nexus's commands,
//   and SAM-5 lets an aborted command have done part of its work.
// - any CAM status not in the table: nothing says the command was not
//   delivered.
// - TASK ABORTED: another I_T nexus aborted it (TAS 1), as above.
// - CHECK CONDITION without autosense: the sense that would say what
//   happened is missing.
// - MEDIUM ERROR, HARDWARE ERROR: met while processing the command (SPC-5
//   sense keys); the blocks before the failing one may have been written.
// - ABORTED COMMAND: the device server ended the command while processing it
//   (a data phase error, a protection information check, a timeout during
//   processing): SPC-5's advice to try the command again does not hold for
//   one whose second execution does not end as one does.
// Not executed (`once`: retried like any command):
// - CAM_SEL_TIMEOUT: the target never answered selection.
// - CAM_REQUEUE_REQ: the SIM hands the command back unstarted (the vtblk SIM
//   ends a `once` command its reset caught CAM_BDR_SENT or CAM_SCSI_BUS_RESET
//   instead of requeueing it).
// - CAM_BUSY, CAM_SCSI_BUSY, CAM_RESRC_UNAVAIL, SCSI BUSY, TASK SET FULL: the
//   command was not accepted (SAM-5 status).
// - UNIT ATTENTION: reported instead of processing the command (SAM-5 unit
//   attention condition).
// - NOT READY: the logical unit is not accessible (SPC-5 sense key), so the
//   command was not performed.
// - deferred error (71h/73h): the error is an earlier command's, and the
//   command that returns it was not processed (SPC-5 deferred errors).
// The rows that fail anyway (RESERVATION CONFLICT, ILLEGAL REQUEST, …) need
// no `once` variant.
//
// | condition                                          | action                 | budget  | delay      | once |
// |----------------------------------------------------|------------------------|---------|------------|------|
// | CAM_REQ_CMP                                        | complete               |         |            |      |
// | CAM_REQUEUE_REQ                                    | retry                  | requeue |            |      |
// | CAM_BUSY, CAM_SCSI_BUSY, CAM_RESRC_UNAVAIL         | retry                  | requeue | busy       |      |
// | CAM_CMD_TIMEOUT, CAM_SCSI_BUS_RESET, CAM_BDR_SENT  | retry                  | retry   |            | fail |
// | CAM_REQ_CMP_ERR, UNEXP_BUSFREE, UNCOR_PARITY,      | retry                  | retry   |            | fail |
// |   DATA_RUN_ERR, AUTOSENSE_FAIL, SCSI_IT_NEXUS_LOST |                        |         |            |      |
// | CAM_SEL_TIMEOUT                                    | retry                  | retry   |            |      |
// | CAM_DEV_NOT_THERE, PATH/LUN/TID invalid, NO_HBA    | fail                   |         |            |      |
// | CAM_REQ_INVALID, REQ_TOO_BIG, … (request refused)  | fail                   |         |            |      |
// | CAM_REQ_ABORTED, REQ_TERMIO, UA_ABORT, UA_TERMIO   | fail                   |         |            |      |
// | CAM_UNREC_HBA_ERROR                                | fail                   |         |            |      |
// | any other CAM status                               | retry                  | retry   |            | fail |
// | SCSI GOOD / CONDITION MET                          | complete               |         |            |      |
// | SCSI BUSY                                          | retry                  | requeue | busy       |      |
// | SCSI TASK SET FULL                                 | retry                  | requeue | queue-full |      |
// | SCSI TASK ABORTED                                  | retry                  | retry   |            | fail |
// | SCSI RESERVATION CONFLICT, ACA ACTIVE, other       | fail                   |         |            |      |
// | CHECK CONDITION without autosense                  | retry                  | retry   |            | fail |
// | deferred error (71h/73h)                           | retry                  | retry   |            |      |
// | NO SENSE, RECOVERED ERROR, COMPLETED               | complete               |         |            |      |
// | NOT READY 04h/02h INITIALIZING COMMAND REQUIRED    | START STOP UNIT, retry | retry   |            |      |
// | NOT READY 04h/03h, 04h/04h, 3Ah/xx                 | fail                   |         |            |      |
// | NOT READY, other                                   | retry                  | retry   | not-ready  |      |
// | MEDIUM ERROR, HARDWARE ERROR, ABORTED COMMAND      | retry                  | retry   |            | fail |
// | UNIT ATTENTION 2Ah/09h CAPACITY DATA HAS CHANGED   | re-read capacity, retry, event | retry |    |      |
// | UNIT ATTENTION, other                              | retry, event           | retry   |            |      |
// | ILLEGAL REQUEST, DATA PROTECT, MISCOMPARE, others  | fail                   |         |            |      |

import { camStatusName, CamStatus, CAM_AUTOSNS_VALID, CAM_STATUS_MASK, type ScsiIoCcb } from '../xpt/periph-api.js';
import { executesOnce, lookupCommand } from '../../scsi/cdb/registry.js';
import { decodeSense } from '../../scsi/sense-codec.js';
import { describeSense } from '../../scsi/sense-text.js';
import { SenseKey, type SenseData } from '../../scsi/sense.js';
import { ScsiStatus } from '../../scsi/status.js';

/** What to do with a completed CCB. */
export type RecoveryAction = 'complete' | 'retry' | 'start-unit' | 'fail';
/** Which allowance a retry spends: none, the CCB's retry count, or its requeue allowance. */
export type RetryBudget = 'none' | 'retry' | 'requeue';
/** Which wait comes before the retry (its length is a periph option); the device queue stays frozen meanwhile. */
export type RecoveryDelay = 'none' | 'not-ready' | 'busy' | 'queue-full';

/** One row of the recovery table. */
export interface Recovery {
  readonly action: RecoveryAction;
  readonly budget: RetryBudget;
  readonly delay: RecoveryDelay;
  /** A UNIT ATTENTION the periph reports to its listeners. */
  readonly unitAttention: boolean;
  /** Re-read the capacity before the retry (CAPACITY DATA HAS CHANGED). */
  readonly reprobe: boolean;
  /** The condition, in words, for messages (cf. cam_periph_error's action_string). */
  readonly reason: string;
  /**
   * The row instead for a command whose second execution does not end as one
   * does (CommandDescriptor.once): present on the retry rows whose condition
   * leaves it open whether the command acted, in whole or in part (a timeout,
   * a reset, a transport error, an abort, a medium or hardware error).
   */
  readonly once?: Recovery;
}

const row = (action: RecoveryAction, budget: RetryBudget, reason: string, more: Partial<Recovery> = {}): Recovery => ({
  action,
  budget,
  delay: 'none',
  unitAttention: false,
  reprobe: false,
  reason,
  ...more,
});

/**
 * A retry after a completion that leaves it open whether the command acted, in
 * whole or in part: a command that must not run twice fails instead, saying so.
 */
const mayHaveActed = (reason: string): Recovery =>
  row('retry', 'retry', reason, { once: row('fail', 'none', `${reason}: it may have acted, and executing it again would not end as executing it once`) });

const COMPLETE = row('complete', 'none', 'completed');
const TRANSPORT = mayHaveActed('transport error');
const REQUEUE = row('retry', 'requeue', 'requeued by the SIM');
const BUSY = row('retry', 'requeue', 'device busy', { delay: 'busy' });
const GONE = row('fail', 'none', 'device is not there');
const REFUSED = row('fail', 'none', 'request refused by the transport');
const ABORTED = row('fail', 'none', 'aborted');

/** CAM status → recovery; SCSI_STATUS_ERROR is decided by SCSI_STATUS_RECOVERY. */
export const CAM_STATUS_RECOVERY: ReadonlyMap<number, Recovery> = new Map<number, Recovery>([
  [CamStatus.REQ_CMP, COMPLETE],
  [CamStatus.REQUEUE_REQ, REQUEUE],
  [CamStatus.BUSY, BUSY],
  [CamStatus.SCSI_BUSY, BUSY],
  [CamStatus.RESRC_UNAVAIL, BUSY],
  [CamStatus.CMD_TIMEOUT, mayHaveActed('command timed out')],
  [CamStatus.REQ_CMP_ERR, TRANSPORT],
  [CamStatus.UNEXP_BUSFREE, TRANSPORT],
  [CamStatus.UNCOR_PARITY, TRANSPORT],
  [CamStatus.DATA_RUN_ERR, TRANSPORT],
  [CamStatus.AUTOSENSE_FAIL, TRANSPORT],
  [CamStatus.SCSI_BUS_RESET, mayHaveActed('cut short by a bus reset')],
  [CamStatus.BDR_SENT, mayHaveActed('cut short by a bus device reset')],
  // Never delivered: the target did not answer selection.
  [CamStatus.SEL_TIMEOUT, row('retry', 'retry', 'selection timeout')],
  [CamStatus.SCSI_IT_NEXUS_LOST, TRANSPORT],
  [CamStatus.DEV_NOT_THERE, GONE],
  [CamStatus.PATH_INVALID, GONE],
  [CamStatus.NO_HBA, GONE],
  [CamStatus.LUN_INVALID, GONE],
  [CamStatus.TID_INVALID, GONE],
  [CamStatus.REQ_INVALID, REFUSED],
  [CamStatus.REQ_TOO_BIG, REFUSED],
  [CamStatus.PROVIDE_FAIL, REFUSED],
  [CamStatus.FUNC_NOTAVAIL, REFUSED],
  [CamStatus.CCB_LEN_ERR, REFUSED],
  [CamStatus.INVALID_CDB, REFUSED],
  [CamStatus.REQ_ABORTED, ABORTED],
  [CamStatus.REQ_TERMIO, ABORTED],
  [CamStatus.UA_ABORT, ABORTED],
  [CamStatus.UA_TERMIO, ABORTED],
  [CamStatus.UNREC_HBA_ERROR, row('fail', 'none', 'unrecoverable HBA error')],
]);

/** CAM's default: retry, spending a retry; nothing says the command was not delivered. */
const DEFAULT_CAM_RECOVERY = TRANSPORT;

/** SCSI status → recovery; CHECK CONDITION is decided by the sense tables. */
export const SCSI_STATUS_RECOVERY: ReadonlyMap<number, Recovery> = new Map<number, Recovery>([
  [ScsiStatus.GOOD, COMPLETE],
  [ScsiStatus.CONDITION_MET, COMPLETE],
  [ScsiStatus.BUSY, BUSY],
  [ScsiStatus.TASK_SET_FULL, row('retry', 'requeue', 'task set full', { delay: 'queue-full' })],
  [ScsiStatus.TASK_ABORTED, mayHaveActed('task aborted')],
  [ScsiStatus.RESERVATION_CONFLICT, row('fail', 'none', 'reservation conflict')],
  [ScsiStatus.ACA_ACTIVE, row('fail', 'none', 'ACA active')],
]);

const UNKNOWN_STATUS = row('fail', 'none', 'unexpected SCSI status');
const NO_AUTOSENSE = mayHaveActed('check condition without sense');
/** The current command was not processed (SPC-5 deferred errors): retried, once-commands too. */
const DEFERRED = row('retry', 'retry', 'deferred error (an earlier command failed)');
const FAIL_SENSE = row('fail', 'none', 'not retryable');
const UNIT_ATTENTION = row('retry', 'retry', 'unit attention', { unitAttention: true });

/** Sense key → recovery, unless an ASC row below matches (the obsolete 0Ch fails). */
export const SENSE_KEY_RECOVERY: ReadonlyMap<number, Recovery> = new Map<number, Recovery>([
  [SenseKey.NO_SENSE, COMPLETE],
  [SenseKey.RECOVERED_ERROR, COMPLETE],
  [SenseKey.NOT_READY, row('retry', 'retry', 'not ready', { delay: 'not-ready' })],
  [SenseKey.MEDIUM_ERROR, mayHaveActed('medium error')],
  [SenseKey.HARDWARE_ERROR, mayHaveActed('hardware error')],
  [SenseKey.ILLEGAL_REQUEST, FAIL_SENSE],
  [SenseKey.UNIT_ATTENTION, UNIT_ATTENTION],
  [SenseKey.DATA_PROTECT, FAIL_SENSE],
  [SenseKey.BLANK_CHECK, FAIL_SENSE],
  [SenseKey.VENDOR_SPECIFIC, FAIL_SENSE],
  [SenseKey.COPY_ABORTED, FAIL_SENSE],
  [SenseKey.ABORTED_COMMAND, mayHaveActed('aborted command')],
  [SenseKey.VOLUME_OVERFLOW, FAIL_SENSE],
  [SenseKey.MISCOMPARE, FAIL_SENSE],
  [SenseKey.COMPLETED, COMPLETE],
]);

/** ASC/ASCQ rows that override the sense key row; `ascq` undefined matches every qualifier. First match wins. */
export const ASC_RECOVERY: readonly { readonly key: SenseKey; readonly asc: number; readonly ascq: number | undefined; readonly recovery: Recovery }[] = [
  {
    key: SenseKey.NOT_READY,
    asc: 0x04,
    ascq: 0x02,
    recovery: row('start-unit', 'retry', 'initializing command required'),
  },
  { key: SenseKey.NOT_READY, asc: 0x04, ascq: 0x03, recovery: row('fail', 'none', 'manual intervention required') },
  { key: SenseKey.NOT_READY, asc: 0x04, ascq: 0x04, recovery: row('fail', 'none', 'format in progress') },
  { key: SenseKey.NOT_READY, asc: 0x3a, ascq: undefined, recovery: row('fail', 'none', 'medium not present') },
  {
    key: SenseKey.UNIT_ATTENTION,
    asc: 0x2a,
    ascq: 0x09,
    recovery: row('retry', 'retry', 'capacity data has changed', { unitAttention: true, reprobe: true }),
  },
];

/** The autosense data of a CCB, decoded, when CAM_AUTOSNS_VALID says there is some. */
export function ccbSense(ccb: ScsiIoCcb): SenseData | undefined {
  if ((ccb.status & CAM_AUTOSNS_VALID) === 0) return undefined;
  return ccb.senseData ?? (ccb.sense === undefined ? undefined : decodeSense(ccb.sense));
}

/** The recovery table row for a sense (deferred errors first, then the ASC rows, then the key). */
export function senseRecovery(s: SenseData): Recovery {
  if (s.deferred === true) return DEFERRED;
  const hit = ASC_RECOVERY.find((r) => r.key === s.key && r.asc === s.asc && (r.ascq === undefined || r.ascq === s.ascq));
  return hit?.recovery ?? SENSE_KEY_RECOVERY.get(s.key) ?? FAIL_SENSE;
}

/** The table row for a completed SCSI I/O CCB, whatever the command: CAM status, then SCSI status, then sense. */
function tableRecovery(ccb: ScsiIoCcb): Recovery {
  const status = ccb.status & CAM_STATUS_MASK;
  if (status !== CamStatus.SCSI_STATUS_ERROR) return CAM_STATUS_RECOVERY.get(status) ?? DEFAULT_CAM_RECOVERY;
  if (ccb.scsiStatus !== ScsiStatus.CHECK_CONDITION) return SCSI_STATUS_RECOVERY.get(ccb.scsiStatus) ?? UNKNOWN_STATUS;
  const s = ccbSense(ccb);
  return s === undefined ? NO_AUTOSENSE : senseRecovery(s);
}

/**
 * The recovery table row for a completed SCSI I/O CCB (cam_periph_error's
 * decision, without the budgets): the row's `once` variant for a command
 * whose second execution does not end as one does, whichever table the row
 * came from.
 */
export function decideRecovery(ccb: ScsiIoCcb): Recovery {
  const r = tableRecovery(ccb);
  return r.once !== undefined && executesOnce(ccb.cdb) ? r.once : r;
}

const SCSI_STATUS_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(ScsiStatus).map(([k, v]) => [v, k.replace(/_/g, ' ')]));

/** "CHECK CONDITION", or "SCSI status 0x..": for messages. */
export function scsiStatusName(status: number): string {
  return SCSI_STATUS_NAMES.get(status) ?? `SCSI status 0x${status.toString(16).padStart(2, '0')}`;
}

/** "READ(10)", "WRITE SAME(16)", or "opcode 0x..": the command's name for messages. */
export function commandName(cdb: Uint8Array): string {
  const d = lookupCommand(cdb);
  if (d.ok) return d.value.name.replace(/_(\d+)$/, '($1)').replace(/_/g, ' ');
  return cdb.length === 0 ? 'empty CDB' : `opcode 0x${(cdb[0] ?? 0).toString(16).padStart(2, '0')}`;
}

/** What a CamError is built from. */
export interface CamErrorInit {
  /** The CCB status word (CamStatus with CAM_DEV_QFRZN / CAM_AUTOSNS_VALID). */
  readonly status: number;
  readonly scsiStatus?: number;
  readonly sense?: Uint8Array | undefined;
  readonly senseData?: SenseData | undefined;
  readonly cdb?: Uint8Array | undefined;
  /** Retries spent on the command before it failed. */
  readonly retries?: number;
  /** Why it was not (or no longer) retried. */
  readonly reason: string;
  readonly cause?: unknown;
}

const LBA_SENSE_KEYS: ReadonlySet<number> = new Set([SenseKey.MEDIUM_ERROR, SenseKey.HARDWARE_ERROR, SenseKey.RECOVERED_ERROR]);

/**
 * A command the device or the transport failed, after the periph's recovery:
 * the I/O outcome as a typed error. `camStatus` is the CamStatus alone (compare
 * it with `CamStatus.X`); `status` is the whole status word with its flags.
 */
export class CamError extends Error {
  override readonly name = 'CamError';
  readonly camStatus: CamStatus;
  readonly status: number;
  /** SCSI status byte (0 when the command never reached the device). */
  readonly scsiStatus: number;
  readonly sense: Uint8Array | undefined;
  readonly senseData: SenseData | undefined;
  /** The failing LBA: INFORMATION of MEDIUM ERROR, HARDWARE ERROR or RECOVERED ERROR sense. */
  readonly lba: bigint | undefined;
  readonly cdb: Uint8Array | undefined;
  readonly retries: number;
  readonly reason: string;

  constructor(init: CamErrorInit) {
    const scsiStatus = init.scsiStatus ?? 0;
    const retries = init.retries ?? 0;
    const parts = [camStatusName(init.status)];
    if ((init.status & CAM_STATUS_MASK) === CamStatus.SCSI_STATUS_ERROR) parts.push(scsiStatusName(scsiStatus));
    if (init.senseData !== undefined) parts.push(describeSense(init.senseData));
    if (retries > 0) parts.push(`after ${retries} ${retries === 1 ? 'retry' : 'retries'}`);
    const what = init.cdb === undefined ? 'command' : commandName(init.cdb);
    super(`${what} failed (${init.reason}): ${parts.join(', ')}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.camStatus = (init.status & CAM_STATUS_MASK) as CamStatus;
    this.status = init.status;
    this.scsiStatus = scsiStatus;
    this.sense = init.sense;
    this.senseData = init.senseData;
    const s = init.senseData;
    this.lba = s !== undefined && LBA_SENSE_KEYS.has(s.key) ? s.information : undefined;
    this.cdb = init.cdb;
    this.retries = retries;
    this.reason = init.reason;
  }

  /** The error for a CCB the periph gives up on. */
  static fromCcb(ccb: ScsiIoCcb, reason: string, retries: number, cause?: unknown): CamError {
    const senseData = ccbSense(ccb);
    return new CamError({
      status: ccb.status,
      scsiStatus: ccb.scsiStatus,
      sense: senseData === undefined ? undefined : ccb.sense,
      senseData,
      cdb: ccb.cdb,
      retries,
      reason,
      cause,
    });
  }
}

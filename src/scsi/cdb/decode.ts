// One entry point over every CDB codec: decodeCdb finds the command in the
// table (lookup + usage mask) and runs its family decoder; encodeCdb is the
// inverse, for fuzzers and tests. Spec: see the family modules.

import type { Decoded } from '../sense.js';
import { MaintenanceInSa, ScsiOp, ServiceActionIn16Sa } from '../opcodes.js';
import { COMMANDS, lookupCommand, type CommandDescriptor } from './registry.js';
import type { EncodeOptions } from './codec.js';
import { decodeRw, encodeRw, RW_OPCODES, type RwCdb } from './rw.js';
import {
  decodeGetLbaStatus,
  decodeReadCapacity10,
  decodeReadCapacity16,
  encodeGetLbaStatus,
  encodeReadCapacity10,
  encodeReadCapacity16,
  type GetLbaStatusCdb,
  type ReadCapacity10Cdb,
  type ReadCapacity16Cdb,
} from './capacity.js';
import { decodeInquiry, encodeInquiry, type InquiryCdb } from './inquiry.js';
import { decodeSyncCache, encodeSyncCache, type SyncCacheCdb } from './sync-cache.js';
import { decodePrefetch, encodePrefetch, type PrefetchCdb } from './prefetch.js';
import { decodeUnmap, encodeUnmap, type UnmapCdb } from './unmap.js';
import { decodeWriteSame, encodeWriteSame, type WriteSameCdb } from './write-same.js';
import { decodeCompareAndWrite, encodeCompareAndWrite, type CompareAndWriteCdb } from './compare-and-write.js';
import {
  decodeModeSelect,
  decodeModeSense,
  encodeModeSelect,
  encodeModeSense,
  type ModeSelectCdb,
  type ModeSenseCdb,
} from './mode.js';
import { decodeReportLuns, encodeReportLuns, type ReportLunsCdb } from './report-luns.js';
import {
  decodeFormatUnit,
  decodePreventAllow,
  decodeRequestSense,
  decodeSendDiagnostic,
  decodeStartStopUnit,
  decodeTestUnitReady,
  encodeFormatUnit,
  encodePreventAllow,
  encodeRequestSense,
  encodeSendDiagnostic,
  encodeStartStopUnit,
  encodeTestUnitReady,
  type FormatUnitCdb,
  type NoFieldsCdb,
  type PreventAllowCdb,
  type RequestSenseCdb,
  type SendDiagnosticCdb,
  type StartStopUnitCdb,
} from './misc.js';
import {
  decodePersistentReserveIn,
  decodePersistentReserveOut,
  decodeReserveRelease,
  encodePersistentReserveIn,
  encodePersistentReserveOut,
  encodeReserveRelease,
  type PersistentReserveInCdb,
  type PersistentReserveOutCdb,
  type ReserveReleaseCdb,
} from './reservations.js';
import { decodeExtendedCopy, decodeReceiveCopyResults, encodeExtendedCopy, encodeReceiveCopyResults, type ExtendedCopyCdb, type ReceiveCopyResultsCdb } from './third-party-copy.js';
import { decodeSanitize, encodeSanitize, type SanitizeCdb } from './sanitize.js';
import { decodeOrWrite, encodeOrWrite, type OrWriteCdb } from './orwrite.js';
import { decodeReadDefectData, encodeReadDefectData, type ReadDefectDataCdb } from './defect-data.js';
import { decodeRsocCdb, decodeRstmfCdb, encodeRsocCdb, encodeRstmfCdb, type RsocCdb, type RstmfCdb } from './rsoc.js';

/** The fields of any CDB vtcam decodes, tagged by codec family. */
export type CdbFields =
  | { readonly kind: 'rw'; readonly fields: RwCdb }
  | { readonly kind: 'readCapacity10'; readonly fields: ReadCapacity10Cdb }
  | { readonly kind: 'readCapacity16'; readonly fields: ReadCapacity16Cdb }
  | { readonly kind: 'getLbaStatus'; readonly fields: GetLbaStatusCdb }
  | { readonly kind: 'inquiry'; readonly fields: InquiryCdb }
  | { readonly kind: 'syncCache'; readonly fields: SyncCacheCdb }
  | { readonly kind: 'prefetch'; readonly fields: PrefetchCdb }
  | { readonly kind: 'unmap'; readonly fields: UnmapCdb }
  | { readonly kind: 'sanitize'; readonly fields: SanitizeCdb }
  | { readonly kind: 'writeSame'; readonly fields: WriteSameCdb }
  | { readonly kind: 'compareAndWrite'; readonly fields: CompareAndWriteCdb }
  | { readonly kind: 'orWrite'; readonly fields: OrWriteCdb }
  | { readonly kind: 'modeSense'; readonly fields: ModeSenseCdb }
  | { readonly kind: 'modeSelect'; readonly fields: ModeSelectCdb }
  | { readonly kind: 'reportLuns'; readonly fields: ReportLunsCdb }
  | { readonly kind: 'testUnitReady'; readonly fields: NoFieldsCdb }
  | { readonly kind: 'requestSense'; readonly fields: RequestSenseCdb }
  | { readonly kind: 'startStopUnit'; readonly fields: StartStopUnitCdb }
  | { readonly kind: 'preventAllow'; readonly fields: PreventAllowCdb }
  | { readonly kind: 'formatUnit'; readonly fields: FormatUnitCdb }
  | { readonly kind: 'sendDiagnostic'; readonly fields: SendDiagnosticCdb }
  | { readonly kind: 'reserveRelease'; readonly fields: ReserveReleaseCdb }
  | { readonly kind: 'persistentReserveIn'; readonly fields: PersistentReserveInCdb }
  | { readonly kind: 'persistentReserveOut'; readonly fields: PersistentReserveOutCdb }
  | { readonly kind: 'readDefectData'; readonly fields: ReadDefectDataCdb }
  | { readonly kind: 'extendedCopy'; readonly fields: ExtendedCopyCdb }
  | { readonly kind: 'receiveCopyResults'; readonly fields: ReceiveCopyResultsCdb }
  | { readonly kind: 'rsoc'; readonly fields: RsocCdb }
  | { readonly kind: 'rstmf'; readonly fields: RstmfCdb };

/** A decoded CDB: its table entry and its fields. */
export type DecodedCdb = CdbFields & { readonly descriptor: CommandDescriptor };

type Table = readonly CommandDescriptor[];
type Decoder = (cdb: Uint8Array, commands: Table, desc: CommandDescriptor) => Decoded<DecodedCdb>;

// The kind/fields pairing is kept by the table below: each decoder is tagged with its own kind.
function tag(kind: CdbFields['kind'], r: Decoded<CdbFields['fields']>, descriptor: CommandDescriptor): Decoded<DecodedCdb> {
  return r.ok ? { ok: true, value: { kind, fields: r.value, descriptor } as DecodedCdb } : r;
}

const DECODERS = new Map<number, Decoder>();
for (const op of RW_OPCODES) DECODERS.set(op, (c, t, d) => tag('rw', decodeRw(c, t), d));
const plain: readonly [number, Decoder][] = [
  [ScsiOp.TEST_UNIT_READY, (c, t, d) => tag('testUnitReady', decodeTestUnitReady(c, t), d)],
  [ScsiOp.REQUEST_SENSE, (c, t, d) => tag('requestSense', decodeRequestSense(c, t), d)],
  [ScsiOp.FORMAT_UNIT, (c, t, d) => tag('formatUnit', decodeFormatUnit(c, t), d)],
  [ScsiOp.INQUIRY, (c, t, d) => tag('inquiry', decodeInquiry(c, t), d)],
  [ScsiOp.MODE_SELECT_6, (c, t, d) => tag('modeSelect', decodeModeSelect(c, t), d)],
  [ScsiOp.MODE_SELECT_10, (c, t, d) => tag('modeSelect', decodeModeSelect(c, t), d)],
  [ScsiOp.MODE_SENSE_6, (c, t, d) => tag('modeSense', decodeModeSense(c, t), d)],
  [ScsiOp.MODE_SENSE_10, (c, t, d) => tag('modeSense', decodeModeSense(c, t), d)],
  [ScsiOp.RESERVE_6, (c, t, d) => tag('reserveRelease', decodeReserveRelease(c, t), d)],
  [ScsiOp.RELEASE_6, (c, t, d) => tag('reserveRelease', decodeReserveRelease(c, t), d)],
  [ScsiOp.RESERVE_10, (c, t, d) => tag('reserveRelease', decodeReserveRelease(c, t), d)],
  [ScsiOp.RELEASE_10, (c, t, d) => tag('reserveRelease', decodeReserveRelease(c, t), d)],
  [ScsiOp.START_STOP_UNIT, (c, t, d) => tag('startStopUnit', decodeStartStopUnit(c, t), d)],
  [ScsiOp.SEND_DIAGNOSTIC, (c, t, d) => tag('sendDiagnostic', decodeSendDiagnostic(c, t), d)],
  [ScsiOp.PREVENT_ALLOW_MEDIUM_REMOVAL, (c, t, d) => tag('preventAllow', decodePreventAllow(c, t), d)],
  [ScsiOp.READ_CAPACITY_10, (c, t, d) => tag('readCapacity10', decodeReadCapacity10(c, t), d)],
  [ScsiOp.PRE_FETCH_10, (c, t, d) => tag('prefetch', decodePrefetch(c, t), d)],
  [ScsiOp.PRE_FETCH_16, (c, t, d) => tag('prefetch', decodePrefetch(c, t), d)],
  [ScsiOp.SYNCHRONIZE_CACHE_10, (c, t, d) => tag('syncCache', decodeSyncCache(c, t), d)],
  [ScsiOp.SYNCHRONIZE_CACHE_16, (c, t, d) => tag('syncCache', decodeSyncCache(c, t), d)],
  [ScsiOp.WRITE_SAME_10, (c, t, d) => tag('writeSame', decodeWriteSame(c, t), d)],
  [ScsiOp.WRITE_SAME_16, (c, t, d) => tag('writeSame', decodeWriteSame(c, t), d)],
  [ScsiOp.UNMAP, (c, t, d) => tag('unmap', decodeUnmap(c, t), d)],
  [ScsiOp.SANITIZE, (c, t, d) => tag('sanitize', decodeSanitize(c, t), d)],
  [ScsiOp.PERSISTENT_RESERVE_IN, (c, t, d) => tag('persistentReserveIn', decodePersistentReserveIn(c, t), d)],
  [ScsiOp.PERSISTENT_RESERVE_OUT, (c, t, d) => tag('persistentReserveOut', decodePersistentReserveOut(c, t), d)],
  [ScsiOp.COMPARE_AND_WRITE, (c, t, d) => tag('compareAndWrite', decodeCompareAndWrite(c, t), d)],
  [ScsiOp.ORWRITE_16, (c, t, d) => tag('orWrite', decodeOrWrite(c, t), d)],
  [ScsiOp.REPORT_LUNS, (c, t, d) => tag('reportLuns', decodeReportLuns(c, t), d)],
  [ScsiOp.THIRD_PARTY_COPY_OUT, (c, t, d) => tag('extendedCopy', decodeExtendedCopy(c, t), d)],
  [ScsiOp.THIRD_PARTY_COPY_IN, (c, t, d) => tag('receiveCopyResults', decodeReceiveCopyResults(c, t), d)],
  [ScsiOp.READ_DEFECT_DATA_10, (c, t, d) => tag('readDefectData', decodeReadDefectData(c, t), d)],
  [ScsiOp.READ_DEFECT_DATA_12, (c, t, d) => tag('readDefectData', decodeReadDefectData(c, t), d)],
  [
    ScsiOp.SERVICE_ACTION_IN_16,
    (c, t, d) =>
      d.serviceAction === ServiceActionIn16Sa.READ_CAPACITY_16
        ? tag('readCapacity16', decodeReadCapacity16(c, t), d)
        : tag('getLbaStatus', decodeGetLbaStatus(c, t), d),
  ],
  [
    ScsiOp.MAINTENANCE_IN,
    (c, t, d) =>
      d.serviceAction === MaintenanceInSa.REPORT_SUPPORTED_OPERATION_CODES
        ? tag('rsoc', decodeRsocCdb(c, t), d)
        : tag('rstmf', decodeRstmfCdb(c, t), d),
  ],
];
for (const [op, dec] of plain) DECODERS.set(op, dec);

/**
 * Decodes any CDB against `commands` (default COMMANDS; pass a logical unit's
 * restrictUsage() table to enforce its features). Faults are always ILLEGAL
 * REQUEST with INVALID COMMAND OPERATION CODE (20h) or INVALID FIELD IN CDB (24h).
 * Throws only if `commands` holds an operation code no codec decodes (a table bug).
 */
export function decodeCdb(cdb: Uint8Array, commands: Table = COMMANDS): Decoded<DecodedCdb> {
  // Lookup only: the family decoder runs validateCdb (lookup + usage mask)
  // itself, so checking the usage mask here as well would do it twice.
  const found = lookupCommand(cdb, commands);
  if (!found.ok) return found;
  const descriptor = found.value;
  const decoder = DECODERS.get(descriptor.opcode);
  if (decoder === undefined) throw new RangeError(`decodeCdb: no codec for ${descriptor.name}`);
  return decoder(cdb, commands, descriptor);
}

/**
 * Encodes decoded fields back into a CDB (the inverse of decodeCdb for fuzzers
 * and round-trip tests). `opts.minLength` matters for the multi-length families;
 * pass the decoded descriptor's cdbLength to get the same form back.
 */
export function encodeCdb(f: CdbFields, opts: EncodeOptions = {}): Uint8Array {
  switch (f.kind) {
    case 'rw':
      return encodeRw(f.fields, opts);
    case 'readCapacity10':
      return encodeReadCapacity10(f.fields);
    case 'readCapacity16':
      return encodeReadCapacity16(f.fields);
    case 'getLbaStatus':
      return encodeGetLbaStatus(f.fields);
    case 'inquiry':
      return encodeInquiry(f.fields);
    case 'syncCache':
      return encodeSyncCache(f.fields, opts);
    case 'prefetch':
      return encodePrefetch(f.fields, opts);
    case 'unmap':
      return encodeUnmap(f.fields);
    case 'sanitize':
      return encodeSanitize(f.fields);
    case 'writeSame':
      return encodeWriteSame(f.fields, opts);
    case 'compareAndWrite':
      return encodeCompareAndWrite(f.fields);
    case 'orWrite':
      return encodeOrWrite(f.fields);
    case 'modeSense':
      return encodeModeSense(f.fields, opts);
    case 'modeSelect':
      return encodeModeSelect(f.fields, opts);
    case 'reportLuns':
      return encodeReportLuns(f.fields);
    case 'testUnitReady':
      return encodeTestUnitReady();
    case 'requestSense':
      return encodeRequestSense(f.fields);
    case 'startStopUnit':
      return encodeStartStopUnit(f.fields);
    case 'preventAllow':
      return encodePreventAllow(f.fields);
    case 'formatUnit':
      return encodeFormatUnit(f.fields);
    case 'sendDiagnostic':
      return encodeSendDiagnostic(f.fields);
    case 'reserveRelease':
      return encodeReserveRelease(f.fields, opts);
    case 'persistentReserveIn':
      return encodePersistentReserveIn(f.fields);
    case 'persistentReserveOut':
      return encodePersistentReserveOut(f.fields);
    case 'extendedCopy':
      return encodeExtendedCopy(f.fields);
    case 'receiveCopyResults':
      return encodeReceiveCopyResults(f.fields);
    case 'readDefectData':
      return encodeReadDefectData(f.fields, opts);
    case 'rsoc':
      return encodeRsocCdb(f.fields);
    case 'rstmf':
      return encodeRstmfCdb(f.fields);
  }
}

// The SCSI layer's public surface: status and sense values with their codecs
// and descriptions, the command table and CDB encoders/decoders, the data
// builders, and the SBC emulator with its BlockCommandSet interface.

export { ScsiStatus } from './status.js';
export { ScsiOp, ServiceActionIn16Sa, MaintenanceInSa, PersistentReserveInSa, PersistentReserveOutSa } from './opcodes.js';
export {
  SenseKey,
  Asc,
  sense,
  senseIllegalRequest,
  invalidFieldInCdb,
  invalidFieldInParameterList,
  senseMediumError,
  senseDataProtect,
  senseUnitAttention,
  senseAbortedCommand,
  senseMiscompare,
  senseNotReady,
  senseHardwareError,
  type AscAscq,
  type FieldPointer,
  type SegmentPointer,
  type SenseData,
  type SenseDetail,
  type Decoded,
} from './sense.js';
export { encodeSense, decodeSense, decodeSenseFull, SenseResponseCode, type SenseFormat, type DecodedSense } from './sense-codec.js';
export { describeSense, senseText, ascText } from './sense-text.js';
export {
  COMMANDS,
  lookupCommand,
  executesOnce,
  validateCdb,
  restrictUsage,
  formatCommandTable,
  type CommandDescriptor,
  type DataDirection,
} from './cdb/registry.js';
export { decodeCdb, encodeCdb, type CdbFields, type DecodedCdb } from './cdb/decode.js';
export { encodeRw, decodeRw, Bytchk, type RwCdb, type RwOp, type RwRequest } from './cdb/rw.js';
export { encodeReadCapacity10, encodeReadCapacity16, encodeGetLbaStatus, GetLbaStatusReportType } from './cdb/capacity.js';
export { encodeInquiry } from './cdb/inquiry.js';
export { encodeModeSense, encodeModeSelect, ModePageControl } from './cdb/mode.js';
export { encodeSyncCache } from './cdb/sync-cache.js';
export { encodePrefetch } from './cdb/prefetch.js';
export { encodeUnmap, encodeUnmapParameterList, decodeUnmapParameterList, type UnmapBlockDescriptor } from './cdb/unmap.js';
export { encodeWriteSame } from './cdb/write-same.js';
export { encodeCompareAndWrite } from './cdb/compare-and-write.js';
export { encodeReportLuns } from './cdb/report-luns.js';
export {
  encodeTestUnitReady,
  encodeRequestSense,
  encodeStartStopUnit,
  encodePreventAllow,
  encodeFormatUnit,
  encodeSendDiagnostic,
  PowerCondition,
  SelfTestCode,
} from './cdb/misc.js';
export { encodeRsocCdb, encodeRstmfCdb, RsocReportingOptions, TaskManagementFunction } from './cdb/rsoc.js';
export { encodePersistentReserveIn, encodePersistentReserveOut, encodeReserveRelease } from './cdb/reservations.js';
export {
  PrType,
  LU_SCOPE,
  PROUT_PARAMETER_LIST_LENGTH,
  encodeProutParameters,
  decodeProutParameters,
  type ProutParameters,
} from './pr-data.js';
export { encodeIscsiTransportId, transportIdLengthFault, IscsiTransportIdFormat, PROTOCOL_ISCSI } from './transport-id.js';
export { VpdPage } from './vpd.js';
export { ModePageCode } from './mode-pages.js';
export type { LogicalUnitInfo, LogicalBlockLength } from './device-info.js';
export { SbcEmulator } from './sbc/emulator.js';
export type { SbcResult, ExecuteOptions } from './sbc/execute-api.js';
export type { SbcEmulatorOptions } from './sbc/unit-description.js';
export type {
  BlockCommandSet,
  BlockGeometry,
  BlockStatus,
  BlockFailure,
  BlockMapping,
  BlockRange,
  DiscardLimits,
  OperationAborted,
  WriteZeroesLimits,
} from './sbc/block-command-set.js';
export { BLOCK_ERROR_TABLE, blockFailureSense, UnitAttention, type BlockOperation } from './sbc/errors.js';
export { MemoryBlockSet, type MemoryBlockSetOptions, type MemoryBlockCall, type MemoryBlockOp } from './sbc/memory-block-set.js';

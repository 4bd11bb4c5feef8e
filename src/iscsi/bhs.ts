// The iSCSI header codec in one import: the BHS layout and accessor, the
// header readers a dispatcher uses before decoding, the initiator PDU
// decoders and the target PDU encoders (RFC 7143 §11). Each lives in its own
// module so that none outgrows one concept.

export {
  BHS_LENGTH,
  BhsField,
  BhsFlag,
  BhsView,
  MAX_DATA_SEGMENT_LENGTH,
  MAX_TOTAL_AHS_BYTES,
  readDataSegmentLength,
  readImmediate,
  readItt,
  readOpcode,
  readTotalAhsLength,
} from './bhs-layout.js';
export {
  AhsType,
  decodeDataOut,
  decodeDataOutHeader,
  decodeLoginRequest,
  decodeLogoutRequest,
  decodeNopOut,
  decodeScsiCommand,
  decodeSnackRequest,
  decodeTaskMgmtRequest,
  decodeTextRequest,
  type PduDecoded,
  type PduReject,
} from './pdu-decode.js';
export {
  encodeAsyncMessage,
  encodeDataIn,
  encodeLoginResponse,
  encodeLogoutResponse,
  encodeNopIn,
  encodeR2t,
  encodeReject,
  encodeScsiResponse,
  encodeTaskMgmtResponse,
  encodeTextResponse,
} from './pdu-encode.js';

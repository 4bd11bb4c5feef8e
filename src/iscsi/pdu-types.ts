// The iSCSI PDUs a target receives and sends (RFC 7143 §11), as plain
// values. `bhs.ts` reads initiator PDUs into these and writes target PDUs
// from them; the login, session and connection code work on these values
// and never on header bytes.

/** RFC 7143 §11.2.1.2: opcodes. Initiator opcodes are 00h..1Fh, target opcodes 20h..3Fh. */
export const IscsiOpcode = {
  NOP_OUT: 0x00,
  SCSI_COMMAND: 0x01,
  TASK_MGMT_REQUEST: 0x02,
  LOGIN_REQUEST: 0x03,
  TEXT_REQUEST: 0x04,
  SCSI_DATA_OUT: 0x05,
  LOGOUT_REQUEST: 0x06,
  SNACK_REQUEST: 0x10,
  NOP_IN: 0x20,
  SCSI_RESPONSE: 0x21,
  TASK_MGMT_RESPONSE: 0x22,
  LOGIN_RESPONSE: 0x23,
  TEXT_RESPONSE: 0x24,
  SCSI_DATA_IN: 0x25,
  LOGOUT_RESPONSE: 0x26,
  R2T: 0x31,
  ASYNC_MESSAGE: 0x32,
  REJECT: 0x3f,
} as const;
export type IscsiOpcode = (typeof IscsiOpcode)[keyof typeof IscsiOpcode];

/** The reserved tag value (RFC 7143 §11.2.1.8 / §11.9.4): "no task" / "no TTT". */
export const RESERVED_TAG = 0xffff_ffff;

/** RFC 7143 §11.17.1: Reject reason codes (01h reserved, 0Bh deprecated, both never sent). */
export const RejectReason = {
  DATA_DIGEST_ERROR: 0x02,
  SNACK_REJECT: 0x03,
  PROTOCOL_ERROR: 0x04,
  COMMAND_NOT_SUPPORTED: 0x05,
  IMMEDIATE_COMMAND_REJECT: 0x06,
  TASK_IN_PROGRESS: 0x07,
  INVALID_DATA_ACK: 0x08,
  INVALID_PDU_FIELD: 0x09,
  LONG_OPERATION_REJECT: 0x0a,
  WAITING_FOR_LOGOUT: 0x0c,
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** A PDU as framed on the wire, digests already checked and padding removed. */
export interface Pdu {
  /** The 48-byte Basic Header Segment. */
  readonly bhs: Uint8Array;
  /** Additional Header Segments (TotalAHSLength × 4 bytes), possibly empty. */
  readonly ahs: Uint8Array;
  /** The data segment (DataSegmentLength bytes, no padding), possibly empty. */
  readonly data: Uint8Array;
}

/** Fields every received PDU has (RFC 7143 §11.2.1). */
export interface PduCommon {
  readonly opcode: number;
  /** The I bit (immediate delivery). */
  readonly immediate: boolean;
  /** Initiator Task Tag. */
  readonly itt: number;
}

/** RFC 7143 §11.3: SCSI Command. */
export interface ScsiCommandPdu extends PduCommon {
  readonly final: boolean;
  readonly read: boolean;
  readonly write: boolean;
  /** Task attribute (ATTR, 3 bits): 0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA. */
  readonly attr: number;
  /** The LUN field, 8 bytes as a big-endian integer. */
  readonly lun: bigint;
  readonly expectedDataTransferLength: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  /** The CDB: the 16 bytes of the BHS, plus the Extended CDB AHS (type 1) when present. */
  readonly cdb: Uint8Array;
  /** Bidirectional Read Expected Data Transfer Length AHS (type 2), when present. */
  readonly bidiReadLength?: number;
  /** Immediate (unsolicited) data carried by this PDU. */
  readonly data: Uint8Array;
}

/** RFC 7143 §11.7: SCSI Data-Out. */
export interface DataOutPdu extends PduCommon {
  readonly final: boolean;
  readonly lun: bigint;
  readonly ttt: number;
  readonly expStatSN: number;
  readonly dataSN: number;
  readonly bufferOffset: number;
  readonly data: Uint8Array;
}

/**
 * RFC 7143 §11.7: a SCSI Data-Out's header alone, for one whose data segment the connection discarded (a data
 * digest error, §7.8, or a segment over MaxRecvDataSegmentLength, §13.12): DataSegmentLength says how many
 * bytes it carried.
 */
export interface DataOutHeader extends Omit<DataOutPdu, 'data'> {
  readonly dataSegmentLength: number;
}

/** RFC 7143 §11.18: NOP-Out. */
export interface NopOutPdu extends PduCommon {
  readonly lun: bigint;
  readonly ttt: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  readonly data: Uint8Array;
}

/** RFC 7143 §11.5: Task Management Function Request. */
export interface TaskMgmtRequestPdu extends PduCommon {
  /** Function (7 bits): 1 ABORT TASK … 7 TARGET COLD RESET, 8 TASK REASSIGN (see tmf.ts). */
  readonly function: number;
  readonly lun: bigint;
  readonly referencedTaskTag: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  readonly refCmdSN: number;
  readonly expDataSN: number;
}

/** RFC 7143 §11.12: Login Request. */
export interface LoginRequestPdu extends PduCommon {
  /** T bit. */
  readonly transit: boolean;
  /** C bit. */
  readonly cont: boolean;
  /** Current stage (0 security, 1 operational, 3 full feature). */
  readonly csg: number;
  /** Next stage (valid when `transit`). */
  readonly nsg: number;
  readonly versionMax: number;
  readonly versionMin: number;
  /** The 6-byte ISID as an integer (bytes 8..13, big-endian). */
  readonly isid: bigint;
  readonly tsih: number;
  readonly cid: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  /** Text key=value pairs (NUL separated). */
  readonly data: Uint8Array;
}

/** RFC 7143 §11.10: Text Request. */
export interface TextRequestPdu extends PduCommon {
  readonly final: boolean;
  /** C bit. */
  readonly cont: boolean;
  readonly lun: bigint;
  readonly ttt: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
  readonly data: Uint8Array;
}

/** RFC 7143 §11.14: Logout Request. */
export interface LogoutRequestPdu extends PduCommon {
  /** 0 close the session, 1 close the connection, 2 remove the connection for recovery. */
  readonly reasonCode: number;
  readonly cid: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
}

/** RFC 7143 §11.16: SNACK Request. */
export interface SnackRequestPdu extends PduCommon {
  /** Type (4 bits): 0 Data/R2T, 1 Status, 2 DataACK, 3 R-Data. */
  readonly type: number;
  readonly lun: bigint;
  readonly ttt: number;
  readonly expStatSN: number;
  readonly begRun: number;
  readonly runLength: number;
}

/** The window fields every target PDU that carries them shares. */
export interface TargetSequence {
  readonly statSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
}

/** Residual reporting (RFC 7143 §11.4.5): O (overflow) or U (underflow) with a count. */
export interface Residual {
  readonly overflow: boolean;
  readonly underflow: boolean;
  readonly count: number;
}

/** RFC 7143 §11.4: SCSI Response. */
export interface ScsiResponseFields extends TargetSequence {
  readonly itt: number;
  /** Response (11.4.3): 00h Command Completed at Target, 01h Target Failure. */
  readonly response: number;
  readonly status: number;
  readonly expDataSN: number;
  readonly residual: Residual;
  readonly bidiReadResidual?: Residual;
  /** Autosense bytes; sent as SenseLength (2 bytes) + sense in the data segment. */
  readonly sense?: Uint8Array | undefined;
}

/** RFC 7143 §11.7: SCSI Data-In. `status` set means the S bit (phase collapse; F must be set too). */
export interface DataInFields {
  readonly final: boolean;
  readonly ack: boolean;
  readonly lun: bigint;
  readonly itt: number;
  readonly ttt: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
  readonly dataSN: number;
  readonly bufferOffset: number;
  readonly data: Uint8Array;
  /** Where to encode the BHS (48 bytes), e.g. in front of `data` (data-in-rooms.ts); else in a new one. */
  readonly bhs?: Uint8Array | undefined;
  /** With status: StatSN, SCSI status and residual; without: StatSN is reserved (0). */
  readonly status?: { readonly statSN: number; readonly scsiStatus: number; readonly residual: Residual } | undefined;
}

/** RFC 7143 §11.8: R2T. */
export interface R2tFields extends TargetSequence {
  readonly lun: bigint;
  readonly itt: number;
  readonly ttt: number;
  readonly r2tSN: number;
  readonly bufferOffset: number;
  readonly desiredDataTransferLength: number;
}

/** RFC 7143 §11.19: NOP-In. */
export interface NopInFields extends TargetSequence {
  readonly lun: bigint;
  readonly itt: number;
  readonly ttt: number;
  readonly data: Uint8Array;
}

/** RFC 7143 §11.6: Task Management Function Response. */
export interface TaskMgmtResponseFields extends TargetSequence {
  readonly itt: number;
  /** 0 complete, 1 task does not exist, 2 LUN does not exist, 3 task still allegiant, 4 reassignment unsupported, 5 function not supported, 6 authorization failed, 255 rejected. */
  readonly response: number;
}

/** RFC 7143 §11.13: Login Response. */
export interface LoginResponseFields {
  readonly transit: boolean;
  readonly cont: boolean;
  readonly csg: number;
  readonly nsg: number;
  readonly versionMax: number;
  readonly versionActive: number;
  readonly isid: bigint;
  readonly tsih: number;
  readonly itt: number;
  readonly statSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
  readonly statusClass: number;
  readonly statusDetail: number;
  readonly data: Uint8Array;
}

/** RFC 7143 §11.11: Text Response. */
export interface TextResponseFields extends TargetSequence {
  readonly final: boolean;
  readonly cont: boolean;
  readonly lun: bigint;
  readonly itt: number;
  readonly ttt: number;
  readonly data: Uint8Array;
}

/** RFC 7143 §11.15: Logout Response. */
export interface LogoutResponseFields extends TargetSequence {
  readonly itt: number;
  /** 0 closed successfully, 1 CID not found, 2 recovery not supported, 3 cleanup failed. */
  readonly response: number;
  readonly time2Wait: number;
  readonly time2Retain: number;
}

/** RFC 7143 §11.17: Reject. */
export interface RejectFields extends TargetSequence {
  /** Reason (11.17.1), e.g. 02h data digest error, 04h protocol error, 05h command not supported, 09h invalid PDU field. */
  readonly reason: number;
  readonly dataSN: number;
  /** The rejected PDU's BHS (48 bytes), sent as the data segment. */
  readonly header: Uint8Array;
}

/** RFC 7143 §11.9: Asynchronous Message. */
export interface AsyncMessageFields extends TargetSequence {
  readonly lun: bigint;
  /** AsyncEvent: 0 SCSI async event (sense), 1 logout request, 2 drop connection, 3 drop all, 4 renegotiate. */
  readonly asyncEvent: number;
  readonly asyncVCode: number;
  readonly parameter1: number;
  readonly parameter2: number;
  readonly parameter3: number;
  /** For event 0: the sense data (sent with its 2-byte SenseLength). */
  readonly sense?: Uint8Array;
}

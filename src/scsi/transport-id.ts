// TransportIDs: how a SCSI initiator port is named in parameter data (READ
// FULL STATUS, SPEC_I_PT lists). Spec: SPC-5, TransportID identifiers
// (PROTOCOL IDENTIFIER values; "TransportID for initiator ports using SCSI
// over iSCSI"); RFC 7143 for iSCSI names and the initiator port name
// "<iSCSI name>,i,0x<ISID>".
//
// An iSCSI TransportID:
//   byte 0     FORMAT CODE (7..6) | reserved (5..4) | PROTOCOL IDENTIFIER 5h (3..0)
//   byte 1     reserved
//   bytes 2..3 ADDITIONAL LENGTH (n − 3): a multiple of 4, at least 20
//   bytes 4..n ISCSI NAME: FORMAT CODE 00b the initiator device name, 01b the
//              initiator port name (name, ",i,0x", the ISID as 12 hexadecimal
//              digits); UTF-8, NUL-terminated, NUL-padded to ADDITIONAL LENGTH.

/** PROTOCOL IDENTIFIER (SPC-5) of SCSI over iSCSI. */
export const PROTOCOL_ISCSI = 0x5;

/** FORMAT CODE of an iSCSI TransportID. */
export const IscsiTransportIdFormat = {
  /** The ISCSI NAME is the initiator device's iSCSI name. */
  INITIATOR_DEVICE: 0b00,
  /** The ISCSI NAME is the initiator port name: iSCSI name, ",i,0x", ISID. */
  INITIATOR_PORT: 0b01,
} as const;
export type IscsiTransportIdFormat = (typeof IscsiTransportIdFormat)[keyof typeof IscsiTransportIdFormat];

/** Every TransportID (any protocol) is at least this long (SPC-5: the fixed-size ones are 24 bytes). */
export const MIN_TRANSPORT_ID_LENGTH = 24;
/** ADDITIONAL LENGTH is 16 bits: no TransportID is longer than this. */
export const MAX_TRANSPORT_ID_LENGTH = 4 + 0xfffc;
/** RFC 7143: an iSCSI name is at most 223 bytes of UTF-8. */
export const MAX_ISCSI_NAME_BYTES = 223;
const MAX_ISID = (1n << 48n) - 1n;
const HEADER = 4;
const MIN_ADDITIONAL_LENGTH = 20;

/**
 * Encodes an iSCSI TransportID: FORMAT CODE 00b for `name` alone, 01b with
 * `isid` (the initiator port name). Throws RangeError for an empty name, one
 * with a NUL, one longer than 223 bytes, or an ISID outside 48 bits.
 */
export function encodeIscsiTransportId(name: string, isid?: bigint): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length === 0 || nameBytes.length > MAX_ISCSI_NAME_BYTES || nameBytes.includes(0)) {
    throw new RangeError(`an iSCSI name is 1..${MAX_ISCSI_NAME_BYTES} bytes of UTF-8 without NUL, got ${nameBytes.length} bytes`);
  }
  if (isid !== undefined && (isid < 0n || isid > MAX_ISID)) throw new RangeError(`ISID must fit 48 bits, got ${isid}`);
  const text = isid === undefined ? nameBytes : new TextEncoder().encode(`${name},i,0x${isid.toString(16).padStart(12, '0')}`);
  // The NUL terminator, then NUL padding to a multiple of 4.
  const additional = Math.max(MIN_ADDITIONAL_LENGTH, Math.ceil((text.length + 1) / 4) * 4);
  const out = new Uint8Array(HEADER + additional);
  const v = new DataView(out.buffer);
  const format = isid === undefined ? IscsiTransportIdFormat.INITIATOR_DEVICE : IscsiTransportIdFormat.INITIATOR_PORT;
  v.setUint8(0, (format << 6) | PROTOCOL_ISCSI);
  v.setUint16(2, additional); // ADDITIONAL LENGTH
  out.set(text, HEADER); // ISCSI NAME
  return out;
}

/**
 * Why `t` cannot be a TransportID, or undefined when its length is one a
 * TransportID can have (at least 24 bytes, a multiple of 4, at most
 * 4 + FFFCh). Only the length is judged: the bytes are the transport's.
 */
export function transportIdLengthFault(t: Uint8Array): string | undefined {
  const n = t.length;
  if (n < MIN_TRANSPORT_ID_LENGTH || n > MAX_TRANSPORT_ID_LENGTH || n % 4 !== 0) {
    return `a TransportID is ${MIN_TRANSPORT_ID_LENGTH}..${MAX_TRANSPORT_ID_LENGTH} bytes, a multiple of 4; got ${n}`;
  }
  return undefined;
}

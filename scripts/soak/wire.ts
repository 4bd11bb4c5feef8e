// The soak initiator's iSCSI wire: Basic Header Segments built and read byte
// by byte, and a reader that cuts a TCP byte stream into PDUs. Spec: RFC 7143
// §11 (PDU formats): a PDU is the 48-byte BHS, the AHS, a header digest if
// negotiated, the data segment padded to 4 bytes, and a data digest if
// negotiated and the segment is not empty (§11.1, §13.1).
//
// Deliberately independent of src/iscsi: an initiator that shared the
// target's encoder would agree with the target's bugs instead of finding them.

/** Opcodes, RFC 7143 §11.2.1.2. */
export const Op = {
  NOP_OUT: 0x00,
  SCSI_COMMAND: 0x01,
  TASK_MGMT_REQUEST: 0x02,
  LOGIN_REQUEST: 0x03,
  SCSI_DATA_OUT: 0x05,
  LOGOUT_REQUEST: 0x06,
  NOP_IN: 0x20,
  SCSI_RESPONSE: 0x21,
  TASK_MGMT_RESPONSE: 0x22,
  LOGIN_RESPONSE: 0x23,
  SCSI_DATA_IN: 0x25,
  LOGOUT_RESPONSE: 0x26,
  R2T: 0x31,
  ASYNC_MESSAGE: 0x32,
  REJECT: 0x3f,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Task management function codes, RFC 7143 §11.5.1. */
export const TmfFunction = { ABORT_TASK: 1, ABORT_TASK_SET: 2, CLEAR_TASK_SET: 4, LOGICAL_UNIT_RESET: 5, TARGET_WARM_RESET: 6 } as const;
export type TmfFunction = (typeof TmfFunction)[keyof typeof TmfFunction];

/** TMF response codes, RFC 7143 §11.6.1. */
export const TmfResponse = { FUNCTION_COMPLETE: 0, TASK_DOES_NOT_EXIST: 1 } as const;

export const BHS_LENGTH = 48;
/** Reserved tag value: "no task" in ITT/TTT fields (RFC 7143 §11.18, §11.19). */
export const RESERVED_TAG = 0xffffffff;

const IMMEDIATE = 0x40; // byte 0 bit 6: I
const FINAL = 0x80; // byte 1 bit 7: F
const READ = 0x40; // SCSI Command byte 1 bit 6: R
const WRITE = 0x20; // SCSI Command byte 1 bit 5: W
/** SCSI Command byte 1 bits 2..0: ATTR (RFC 7143 §11.3.1.2). */
const ATTR: Readonly<Record<TaskAttribute, number>> = { simple: 1, ordered: 2, head: 3 };
const STATUS_PRESENT = 0x01; // Data-In byte 1 bit 0: S
/** Login Request/Response byte 1 bit 7: T. */
export const TRANSIT = 0x80;
const ISCSI_VERSION = 0x00; // Version-max and Version-min (RFC 7143 §11.12.4)

import { crc32c, digestBytes } from './crc32c.js';
import type { TaskAttribute } from './task.js';

/** One PDU as it came off the wire: its BHS and its data segment without padding. */
export interface Pdu {
  readonly bhs: Buffer;
  readonly data: Buffer;
  /** A digest that did not match what came (the PDU is delivered anyway, for the report). */
  readonly badDigest?: 'header' | 'data';
}

/** HeaderDigest / DataDigest as negotiated: CRC32C (true) or None. */
export interface Digests {
  readonly header: boolean;
  readonly data: boolean;
}

export const NO_DIGESTS: Digests = { header: false, data: false };
const DIGEST_LENGTH = 4;

function header(opcode: number, immediate: boolean, flags: number, itt: number): Buffer {
  const b = Buffer.alloc(BHS_LENGTH);
  b.writeUInt8(opcode | (immediate ? IMMEDIATE : 0), 0);
  b.writeUInt8(flags, 1);
  b.writeUInt32BE(itt, 16);
  return b;
}

/** A BHS and its data segment as bytes to write, digests included; DataSegmentLength (bytes 5..7) is set from `data`. */
export function frame(bhs: Buffer, data?: Buffer, digests: Digests = NO_DIGESTS): Buffer {
  const length = data?.length ?? 0;
  bhs.writeUIntBE(length, 5, 3);
  const parts = [bhs];
  if (digests.header) parts.push(digestBytes(bhs));
  if (data !== undefined && length > 0) {
    const padded = Buffer.alloc((length + 3) & ~3);
    data.copy(padded);
    parts.push(padded);
    if (digests.data) parts.push(digestBytes(padded));
  }
  return parts.length === 1 ? bhs : Buffer.concat(parts);
}

/** Fields every request carries after the ITT. */
export interface Sequence {
  readonly cmdSN: number;
  readonly expStatSN: number;
}

/** SCSI Command, RFC 7143 §11.3; a SIMPLE task on LUN 0. */
export function scsiCommand(itt: number, seq: Sequence, cdb: Buffer, edtl: number, dir: 'in' | 'out' | 'none', final: boolean, attr: TaskAttribute = 'simple'): Buffer {
  const flags = (final ? FINAL : 0) | (dir === 'in' ? READ : 0) | (dir === 'out' ? WRITE : 0) | ATTR[attr];
  const b = header(Op.SCSI_COMMAND, false, flags, itt);
  b.writeUInt32BE(edtl, 20); // EXPECTED DATA TRANSFER LENGTH
  b.writeUInt32BE(seq.cmdSN, 24);
  b.writeUInt32BE(seq.expStatSN, 28);
  cdb.copy(b, 32, 0, Math.min(cdb.length, 16));
  return b;
}

/** SCSI Data-Out, RFC 7143 §11.7. */
export function dataOut(itt: number, ttt: number, expStatSN: number, dataSN: number, offset: number, final: boolean): Buffer {
  const b = header(Op.SCSI_DATA_OUT, false, final ? FINAL : 0, itt);
  b.writeUInt32BE(ttt, 20);
  b.writeUInt32BE(expStatSN, 28);
  b.writeUInt32BE(dataSN, 36);
  b.writeUInt32BE(offset, 40); // BUFFER OFFSET
  return b;
}

/** Task Management Function Request, RFC 7143 §11.5; immediate, LUN 0. */
export function tmfRequest(itt: number, seq: Sequence, fn: TmfFunction, ref?: { readonly itt: number; readonly cmdSN: number }): Buffer {
  const b = header(Op.TASK_MGMT_REQUEST, true, FINAL | fn, itt);
  b.writeUInt32BE(ref?.itt ?? RESERVED_TAG, 20); // REFERENCED TASK TAG
  b.writeUInt32BE(seq.cmdSN, 24);
  b.writeUInt32BE(seq.expStatSN, 28);
  b.writeUInt32BE(ref?.cmdSN ?? 0, 32); // RefCmdSN
  return b;
}

/** Login Request, RFC 7143 §11.12: from stage `csg` to `nsg`, with the transit bit. */
export function loginRequest(itt: number, isid: Buffer, seq: Sequence, csg: number, nsg: number): Buffer {
  const b = header(Op.LOGIN_REQUEST, true, TRANSIT | (csg << 2) | nsg, itt);
  b.writeUInt8(ISCSI_VERSION, 2);
  b.writeUInt8(ISCSI_VERSION, 3);
  isid.copy(b, 8, 0, 6); // ISID; TSIH 0 asks for a new session (or reinstates one with this ISID)
  b.writeUInt32BE(seq.cmdSN, 24);
  b.writeUInt32BE(seq.expStatSN, 28);
  return b;
}

/** Logout Request, RFC 7143 §11.14, reason 0: close the session. */
export function logoutRequest(itt: number, seq: Sequence): Buffer {
  const b = header(Op.LOGOUT_REQUEST, true, FINAL, itt);
  b.writeUInt32BE(seq.cmdSN, 24);
  b.writeUInt32BE(seq.expStatSN, 28);
  return b;
}

/** NOP-Out answering a NOP-In that asked for one (its TTT and LUN echoed), RFC 7143 §11.18. */
export function nopOutReply(nopIn: Buffer, seq: Sequence): Buffer {
  const b = header(Op.NOP_OUT, true, FINAL, RESERVED_TAG);
  nopIn.copy(b, 8, 8, 16); // LUN
  b.writeUInt32BE(nopIn.readUInt32BE(20), 20); // TARGET TRANSFER TAG
  b.writeUInt32BE(seq.cmdSN, 24);
  b.writeUInt32BE(seq.expStatSN, 28);
  return b;
}

/** Text keys as a data segment: `key=value\0` each (RFC 7143 §6.1). */
export function encodeKeys(keys: Readonly<Record<string, string>>): Buffer {
  return Buffer.from(Object.entries(keys).map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}

export function decodeKeys(data: Buffer): Map<string, string> {
  const keys = new Map<string, string>();
  for (const pair of data.toString('utf8').split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) keys.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return keys;
}

export const opcodeOf = (bhs: Buffer): number => bhs.readUInt8(0) & 0x3f;
export const ittOf = (bhs: Buffer): number => bhs.readUInt32BE(16);
/** StatSN, ExpCmdSN, MaxCmdSN sit at bytes 24, 28, 32 of every target PDU that carries them. */
export const statSNOf = (bhs: Buffer): number => bhs.readUInt32BE(24);
export const expCmdSNOf = (bhs: Buffer): number => bhs.readUInt32BE(28);
export const maxCmdSNOf = (bhs: Buffer): number => bhs.readUInt32BE(32);
/** Data-In carries a status (and then a StatSN) only with the S bit. */
export const hasStatus = (bhs: Buffer): boolean => (bhs.readUInt8(1) & STATUS_PRESENT) !== 0;

/** Serial number arithmetic, RFC 1982 as RFC 7143 §4.2.2.1 uses it: is `a` before `b`? */
export function snBefore(a: number, b: number): boolean {
  return a !== b && ((b - a) >>> 0) < 0x80000000;
}

/** Cuts a byte stream into PDUs; `digests` may change between PDUs (they start after login, §13.1). */
export class PduReader {
  digests: Digests = NO_DIGESTS;
  #pending: Buffer = Buffer.alloc(0);

  /** Hands each whole PDU the bytes complete to `onPdu`, one at a time, so it may change `digests` for the next. */
  push(chunk: Buffer, onPdu: (p: Pdu) => void): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= BHS_LENGTH) {
      const ahs = this.#pending.readUInt8(4) * 4; // TotalAHSLength, in 4-byte words
      const dsl = this.#pending.readUIntBE(5, 3);
      const header = BHS_LENGTH + ahs;
      const start = header + (this.digests.header ? DIGEST_LENGTH : 0);
      const padded = (dsl + 3) & ~3;
      const total = start + padded + (this.digests.data && dsl > 0 ? DIGEST_LENGTH : 0);
      if (this.#pending.length < total) break;
      const p = this.#pending;
      this.#pending = p.subarray(total);
      let badDigest: 'header' | 'data' | undefined;
      if (this.digests.header && crc32c(p.subarray(0, header)) !== p.readUInt32LE(header)) badDigest = 'header';
      else if (this.digests.data && dsl > 0 && crc32c(p.subarray(start, start + padded)) !== p.readUInt32LE(start + padded)) badDigest = 'data';
      const pdu = { bhs: Buffer.from(p.subarray(0, BHS_LENGTH)), data: Buffer.from(p.subarray(start, start + dsl)) };
      onPdu(badDigest === undefined ? pdu : { ...pdu, badDigest });
    }
  }
}

// A minimal iSCSI initiator for end-to-end tests, written from RFC 7143 §11's
// field tables and independent of src/iscsi's codec: it builds initiator PDUs
// byte by byte and reads target PDUs by offset, so a codec bug on the target
// side cannot hide behind the same bug here. No digests unless asked; one
// connection; PDUs are awaited by a predicate.

import { connect, type Socket } from 'node:net';
import { crc32c, writeDigest } from '../../src/iscsi/crc32c.js';

export interface RawPdu {
  readonly bhs: Uint8Array;
  readonly data: Uint8Array;
}

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);
export const opcodeOf = (p: RawPdu): number => (p.bhs[0] ?? 0) & 0x3f;
export const ittOf = (p: RawPdu): number => u32(p.bhs, 16);
export const field32 = (p: RawPdu, at: number): number => u32(p.bhs, at);

/**
 * Builds one PDU: 48-byte BHS with DataSegmentLength set, the data segment padded to 4 bytes, and with
 * `digests` a CRC32C after the header and after the padded data (RFC 7143 §13.1; the CRC itself is
 * checked against RFC 3720's vectors in crc32c.test.ts).
 */
export function pdu(bhs: Uint8Array, data: Uint8Array = new Uint8Array(0), digests = { header: false, data: false }): Uint8Array {
  const padded = Math.ceil(data.length / 4) * 4;
  const hd = digests.header ? 4 : 0;
  const dd = digests.data && data.length > 0 ? 4 : 0;
  const out = new Uint8Array(48 + hd + padded + dd);
  out.set(bhs.subarray(0, 48));
  out[5] = (data.length >> 16) & 0xff;
  out[6] = (data.length >> 8) & 0xff;
  out[7] = data.length & 0xff;
  if (hd > 0) writeDigest(out, 48, crc32c(out.subarray(0, 48)));
  out.set(data, 48 + hd);
  if (dd > 0) writeDigest(out, 48 + hd + padded, crc32c(out.subarray(48 + hd, 48 + hd + padded)));
  return out;
}

/**
 * `bytes` (one PDU from `pdu`, with a data segment and the data digest on) with its data digest made wrong:
 * the last four bytes are the digest (§11.1), so flipping the last one breaks it and nothing else.
 */
export function spoilDataDigest(bytes: Uint8Array): Uint8Array {
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
  return bytes;
}

/** A BHS with the given bytes set: `[offset, value, size]` triples (size 1, 2, 4 or 8 bytes, big-endian). */
export function bhsOf(fields: readonly (readonly [number, number | bigint, 1 | 2 | 4 | 8])[]): Uint8Array {
  const b = new Uint8Array(48);
  const v = new DataView(b.buffer);
  for (const [at, value, size] of fields) {
    if (size === 1) v.setUint8(at, Number(value));
    else if (size === 2) v.setUint16(at, Number(value));
    else if (size === 4) v.setUint32(at, Number(value));
    else v.setBigUint64(at, BigInt(value));
  }
  return b;
}

export const text = (pairs: Record<string, string>): Uint8Array => new TextEncoder().encode(Object.entries(pairs).map(([k, v]) => `${k}=${v}\0`).join(''));
export const parseText = (d: Uint8Array): Record<string, string> =>
  Object.fromEntries(new TextDecoder().decode(d).split('\0').filter((s) => s !== '').map((s) => [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)]));

export class TestInitiator {
  readonly socket: Socket;
  #buf = new Uint8Array(0);
  readonly #pdus: RawPdu[] = [];
  readonly #waiters: { pred: (p: RawPdu) => boolean; resolve: (p: RawPdu) => void }[] = [];
  closed = false;
  /** Digests in force for PDUs both ways (set after a login that negotiated them). */
  digests = { header: false, data: false };
  readonly #closeWaiters: (() => void)[] = [];
  cmdSN = 1;
  expStatSN = 0;
  itt = 1;
  /** The 48-byte BHS of the last SCSI Command or Data-Out sent, as it went (what a Reject carries back, §11.17.1). */
  lastHeader = new Uint8Array(48);

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.#onData(c);
    });
    socket.on('close', () => {
      this.closed = true;
      for (const f of this.#closeWaiters.splice(0)) f();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<TestInitiator> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        resolve(new TestInitiator(s));
      });
      s.once('error', reject);
    });
  }

  #onData(c: Uint8Array): void {
    const joined = new Uint8Array(this.#buf.length + c.length);
    joined.set(this.#buf);
    joined.set(c, this.#buf.length);
    this.#buf = joined;
    for (;;) {
      if (this.#buf.length < 48) return;
      const ahs = (this.#buf[4] ?? 0) * 4;
      const dlen = ((this.#buf[5] ?? 0) << 16) | ((this.#buf[6] ?? 0) << 8) | (this.#buf[7] ?? 0);
      const hd = this.digests.header ? 4 : 0;
      const dd = this.digests.data && dlen > 0 ? 4 : 0;
      const total = 48 + ahs + hd + Math.ceil(dlen / 4) * 4 + dd;
      if (this.#buf.length < total) return;
      const p: RawPdu = { bhs: this.#buf.slice(0, 48), data: this.#buf.slice(48 + ahs + hd, 48 + ahs + hd + dlen) };
      this.#buf = this.#buf.slice(total);
      const w = this.#waiters.findIndex((x) => x.pred(p));
      if (w >= 0) this.#waiters.splice(w, 1)[0]?.resolve(p);
      else this.#pdus.push(p);
    }
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next PDU matching `pred` (already received or still to come); rejects after `ms`. */
  next(pred: (p: RawPdu) => boolean = () => true, ms = 3000): Promise<RawPdu> {
    const i = this.#pdus.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.#pdus.splice(i, 1)[0] as RawPdu);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (p: RawPdu) => {
          clearTimeout(t);
          resolve(p);
        },
      };
      // A waiter that timed out leaves: a PDU arriving later is kept for the next next(), not swallowed.
      const t = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no matching PDU within ${ms} ms`));
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** Resolves when the target closes the connection (rejects after `ms`). */
  closedWithin(ms = 3000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new Error('connection still open'));
      }, ms);
      this.#closeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Nothing matching arrives within `ms`. */
  async silence(pred: (p: RawPdu) => boolean, ms = 300): Promise<boolean> {
    try {
      await this.next(pred, ms);
      return false;
    } catch {
      return true;
    }
  }

  /** One Login Request (RFC 7143 §11.12): byte 1 T|C|CSG<<2|NSG, ISID bytes 8..13, TSIH 14..15, ITT, CID, CmdSN, ExpStatSN. */
  loginRequest(o: { transit: boolean; csg: number; nsg: number; isid?: bigint; tsih?: number; keys: Record<string, string>; cont?: boolean; versionMax?: number; versionMin?: number }): Uint8Array {
    const isid = o.isid ?? 0x23d0_0000_0001n;
    const b = bhsOf([
      [0, 0x40 | 0x03, 1],
      [1, (o.transit ? 0x80 : 0) | (o.cont === true ? 0x40 : 0) | (o.csg << 2) | o.nsg, 1],
      [2, o.versionMax ?? 0, 1],
      [3, o.versionMin ?? 0, 1],
      [8, isid >> 16n, 4],
      [12, Number(isid & 0xffffn), 2],
      [14, o.tsih ?? 0, 2],
      [16, this.itt, 4],
      [20, 0, 2],
      [24, this.cmdSN, 4],
      [28, this.expStatSN, 4],
    ]);
    return pdu(b, text(o.keys));
  }

  /** Logs in to `target` (or a discovery session), security stage skipped (AuthMethod=None), straight to FFP. */
  async login(target: string | undefined, keys: Record<string, string> = {}, isid?: bigint): Promise<RawPdu> {
    const base: Record<string, string> = { InitiatorName: 'iqn.2026-11.org.vtcam:test-initiator', SessionType: target === undefined ? 'Discovery' : 'Normal', ...(target === undefined ? {} : { TargetName: target }) };
    this.send(this.loginRequest({ transit: true, csg: 0, nsg: 1, keys: { ...base, AuthMethod: 'None' }, ...(isid === undefined ? {} : { isid }) }));
    const sec = await this.next((p) => opcodeOf(p) === 0x23);
    if ((sec.bhs[36] ?? 0) !== 0) return sec;
    this.expStatSN = (field32(sec, 24) + 1) >>> 0;
    this.send(this.loginRequest({ transit: true, csg: 1, nsg: 3, keys: { HeaderDigest: 'None', DataDigest: 'None', ImmediateData: 'Yes', InitialR2T: 'Yes', MaxRecvDataSegmentLength: '262144', ...keys }, ...(isid === undefined ? {} : { isid }) }));
    const op = await this.next((p) => opcodeOf(p) === 0x23);
    this.expStatSN = (field32(op, 24) + 1) >>> 0;
    return op;
  }

  /**
   * A SCSI Command PDU (§11.3): flags byte F|R|W|ATTR, LUN, ITT, EDTL, CmdSN, ExpStatSN, CDB at 32..47. `itt`
   * and `cmdSN` given: the same command again (a retry, §7.2.1). `badDataDigest`: its data digest is wrong.
   */
  command(o: {
    cdb: Uint8Array;
    read?: boolean;
    write?: boolean;
    edtl: number;
    data?: Uint8Array;
    final?: boolean;
    lun?: bigint;
    cmdSN?: number;
    attr?: number;
    immediate?: boolean;
    itt?: number;
    badDataDigest?: boolean;
  }): number {
    const itt = o.itt ?? this.itt++;
    const cdb = new Uint8Array(16);
    cdb.set(o.cdb.subarray(0, 16));
    const b = bhsOf([
      [0, (o.immediate === true ? 0x40 : 0) | 0x01, 1],
      [1, (o.final === false ? 0 : 0x80) | (o.read === true ? 0x40 : 0) | (o.write === true ? 0x20 : 0) | (o.attr ?? 1), 1],
      [8, o.lun ?? 0n, 8],
      [16, itt, 4],
      [20, o.edtl, 4],
      [24, o.cmdSN ?? this.cmdSN, 4],
      [28, this.expStatSN, 4],
    ]);
    b.set(cdb, 32);
    if (o.cmdSN === undefined && o.immediate !== true) this.cmdSN = (this.cmdSN + 1) >>> 0;
    this.#sendPdu(pdu(b, o.data, this.digests), o.badDataDigest);
    return itt;
  }

  /** A Data-Out PDU (§11.7): F bit, LUN, ITT, TTT, ExpStatSN, DataSN at 36, Buffer Offset at 40; `badDataDigest`: its data digest is wrong. */
  dataOut(o: { itt: number; ttt: number; dataSN: number; offset: number; data: Uint8Array; final: boolean; lun?: bigint; badDataDigest?: boolean }): void {
    const b = bhsOf([
      [0, 0x05, 1],
      [1, o.final ? 0x80 : 0, 1],
      [8, o.lun ?? 0n, 8],
      [16, o.itt, 4],
      [20, o.ttt, 4],
      [28, this.expStatSN, 4],
      [36, o.dataSN, 4],
      [40, o.offset, 4],
    ]);
    this.#sendPdu(pdu(b, o.data, this.digests), o.badDataDigest);
  }

  #sendPdu(bytes: Uint8Array, badDataDigest: boolean | undefined): void {
    this.lastHeader = bytes.slice(0, 48);
    this.send(badDataDigest === true ? spoilDataDigest(bytes) : bytes);
  }

  /** Waits for the SCSI Response (21h) or the final Data-In with status (25h, S bit) for `itt`; collects Data-In. */
  async result(itt: number, ms = 3000): Promise<{ status: number; data: Uint8Array; response: RawPdu; dataIns: RawPdu[] }> {
    const dataIns: RawPdu[] = [];
    for (;;) {
      const p = await this.next((x) => ittOf(x) === itt && (opcodeOf(x) === 0x21 || opcodeOf(x) === 0x25), ms);
      if (opcodeOf(p) === 0x25) {
        dataIns.push(p);
        if (((p.bhs[1] ?? 0) & 0x01) === 0) continue;
      }
      this.expStatSN = (field32(p, 24) + 1) >>> 0;
      const total = dataIns.reduce((n, d) => n + d.data.length, 0);
      const data = new Uint8Array(total);
      for (const d of dataIns) data.set(d.data, field32(d, 40));
      return { status: opcodeOf(p) === 0x21 ? (p.bhs[3] ?? 0) : (p.bhs[3] ?? 0), data, response: p, dataIns };
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

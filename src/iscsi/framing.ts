// iSCSI PDU framing over a byte stream (RFC 7143 §11.1, §11.2): a streaming
// reader that cuts received bytes into PDUs and checks their digests, and the
// serializer for outgoing PDUs. A PDU on the wire is the 48-byte BHS, the AHS
// (TotalAHSLength words), the header digest, the data segment padded to a
// multiple of 4, and the data digest when there is a data segment. A digest
// is CRC32C (§13.1) and covers padding; the header digest covers BHS + AHS.
//
// What the connection does with each reader result, at ErrorRecoveryLevel 0:
// - 'data-digest-error': the header was good, so the stream is still in step;
//   answer with Reject reason 02h and discard the PDU (§7.8, §13.1).
// - 'segment-too-long': DataSegmentLength is over our MaxRecvDataSegmentLength
//   (§13.12), a protocol error. The reader skips that segment without
//   buffering it, so the connection may Reject and go on, or close.
// - 'fatal': a header digest error. The lengths that frame the stream cannot
//   be trusted, so nothing after it can be read; the connection must close
//   (§7.8). The reader stays fatal.

import { crc32c, DIGEST_LENGTH, readDigest, writeDigest } from './crc32c.js';
import { BHS_LENGTH, BhsField, BhsView, MAX_DATA_SEGMENT_LENGTH, MAX_TOTAL_AHS_BYTES, padded, readDataSegmentLength } from './bhs-layout.js';
import type { Pdu } from './pdu-types.js';

export type FrameResult =
  | { readonly kind: 'pdu'; readonly pdu: Pdu }
  | { readonly kind: 'data-digest-error'; readonly pdu: Pdu }
  | { readonly kind: 'segment-too-long'; readonly bhs: Uint8Array; readonly length: number }
  | { readonly kind: 'fatal'; readonly reason: string };

/** RFC 7143 §13.12: MaxRecvDataSegmentLength, default and range. */
export const MaxRecvDataSegmentLength = { DEFAULT: 8192, MIN: 512, MAX: MAX_DATA_SEGMENT_LENGTH } as const;

const EMPTY = new Uint8Array(0);
/** Chunks consumed before the queue array is compacted. */
const COMPACT_AFTER = 64;

/**
 * Cuts a received byte stream into PDUs. `push` each chunk as it arrives, then
 * call `next` until it returns `undefined` (it needs more bytes). Chunks are
 * kept, not copied, until consumed: a PDU inside one chunk is a view into it,
 * and only a piece that spans chunks is copied, once. So a pushed chunk must
 * not be changed afterwards.
 *
 * Bounded: when `next` returns `undefined`, `buffered` is below
 * `maxPduLength`. A connection that stops calling `next` (waiting for command
 * window room, say) pauses its socket while `buffered >= maxPduLength`.
 *
 * Digest and length settings apply from the next PDU header `next` reads, so
 * switch them between PDUs (digests after the last Login Response, §13.1).
 */
export class PduReader {
  readonly #chunks: Uint8Array[] = [];
  #first = 0;
  #offset = 0;
  #buffered = 0;
  #headerDigest = false;
  #dataDigest = false;
  #maxRecv: number = MaxRecvDataSegmentLength.DEFAULT;
  /**
   * The header read ahead of its data segment (undefined: none), with what the segment needs: its length
   * and whether a data digest follows. Fields of the reader, not an object per PDU.
   */
  #pendingBhs: Uint8Array | undefined;
  #pendingAhs: Uint8Array = EMPTY;
  #pendingLength = 0;
  #pendingDigest = false;
  #skip = 0;
  #fatal: string | undefined;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Bytes pushed and not yet consumed by `next`. */
  get buffered(): number {
    return this.#buffered;
  }

  /** The most bytes one PDU can take on the wire now: headers, both digests, the longest allowed segment. */
  get maxPduLength(): number {
    return BHS_LENGTH + MAX_TOTAL_AHS_BYTES + DIGEST_LENGTH + padded(this.#maxRecv) + DIGEST_LENGTH;
  }

  setHeaderDigest(on: boolean): void {
    this.#headerDigest = on;
  }

  setDataDigest(on: boolean): void {
    this.#dataDigest = on;
  }

  /** Our declared MaxRecvDataSegmentLength (RFC 7143 §13.12: 512 to 2^24 - 1). */
  setMaxRecvDataSegmentLength(n: number): void {
    if (!Number.isInteger(n) || n < MaxRecvDataSegmentLength.MIN || n > MaxRecvDataSegmentLength.MAX) {
      throw new RangeError(`MaxRecvDataSegmentLength ${n} is outside 512..16777215`);
    }
    this.#maxRecv = n;
  }

  /** The next complete PDU or framing event, or `undefined` when more bytes are needed. */
  next(): FrameResult | undefined {
    if (this.#fatal !== undefined) return { kind: 'fatal', reason: this.#fatal };
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, this.#buffered);
      this.#drop(n);
      this.#skip -= n;
      if (this.#skip > 0) return undefined;
    }
    let bhs = this.#pendingBhs;
    if (bhs === undefined) {
      const header = this.#readHeader();
      if (header === undefined || 'kind' in header) return header;
      bhs = header;
    }
    return this.#readData(bhs);
  }

  /** The BHS of the next PDU (the rest of its header kept as pending), a framing event, or `undefined` (more bytes). */
  #readHeader(): Uint8Array | FrameResult | undefined {
    if (this.#buffered < BHS_LENGTH) return undefined;
    const ahsLength = this.#peek(BhsField.common.totalAhsLength) * 4;
    const headerDigest = this.#headerDigest ? DIGEST_LENGTH : 0;
    if (this.#buffered < BHS_LENGTH + ahsLength + headerDigest) return undefined;
    const bhs = this.#take(BHS_LENGTH);
    const ahs = this.#take(ahsLength);
    if (headerDigest > 0) {
      const received = readDigest(this.#take(DIGEST_LENGTH));
      const computed = crc32c(ahs, crc32c(bhs));
      if (received !== computed) {
        this.#fatal = `header digest mismatch: received 0x${hex32(received)}, computed 0x${hex32(computed)}`;
        return { kind: 'fatal', reason: this.#fatal };
      }
    }
    const length = readDataSegmentLength(bhs);
    const dataDigest = this.#dataDigest && length > 0;
    if (length > this.#maxRecv) {
      this.#skip = padded(length) + (dataDigest ? DIGEST_LENGTH : 0);
      return { kind: 'segment-too-long', bhs, length };
    }
    this.#pendingBhs = bhs;
    this.#pendingAhs = ahs;
    this.#pendingLength = length;
    this.#pendingDigest = dataDigest;
    return bhs;
  }

  /** The pending header's data segment, once all of it is buffered. */
  #readData(bhs: Uint8Array): FrameResult | undefined {
    const length = this.#pendingLength;
    const digest = this.#pendingDigest;
    const paddedLength = padded(length);
    if (this.#buffered < paddedLength + (digest ? DIGEST_LENGTH : 0)) return undefined;
    const data = this.#take(length);
    const pdu: Pdu = { bhs, ahs: this.#pendingAhs, data };
    this.#pendingBhs = undefined;
    this.#pendingAhs = EMPTY;
    const padding = this.#take(paddedLength - length);
    if (digest) {
      const received = readDigest(this.#take(DIGEST_LENGTH));
      if (received !== crc32c(padding, crc32c(data))) return { kind: 'data-digest-error', pdu };
    }
    return { kind: 'pdu', pdu };
  }

  /** The byte `i` bytes past the read position (`i` < `buffered`). */
  #peek(i: number): number {
    let k = this.#first;
    let at = this.#offset + i;
    for (let c = this.#chunks[k]; c !== undefined; c = this.#chunks[++k]) {
      if (at < c.length) return c[at] ?? 0;
      at -= c.length;
    }
    throw new RangeError(`peek ${i} past ${this.#buffered} buffered bytes`);
  }

  /** The next `n` bytes (`n` ≤ `buffered`): a view when one chunk holds them, else one copy. */
  #take(n: number): Uint8Array {
    if (n === 0) return EMPTY;
    const head = this.#chunks[this.#first];
    if (head !== undefined && head.length - this.#offset >= n) {
      const out = head.subarray(this.#offset, this.#offset + n);
      this.#advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n; ) {
      const c = this.#chunks[this.#first];
      if (c === undefined) throw new RangeError(`take ${n} past ${this.#buffered} buffered bytes`);
      const piece = Math.min(c.length - this.#offset, n - filled);
      out.set(c.subarray(this.#offset, this.#offset + piece), filled);
      filled += piece;
      this.#advance(piece);
    }
    return out;
  }

  #drop(n: number): void {
    for (let left = n; left > 0; ) {
      const c = this.#chunks[this.#first];
      if (c === undefined) throw new RangeError(`drop ${n} past the buffered bytes`);
      const piece = Math.min(c.length - this.#offset, left);
      left -= piece;
      this.#advance(piece);
    }
  }

  /** Consumes `n` bytes of the first chunk (`n` ≤ what is left of it). */
  #advance(n: number): void {
    this.#offset += n;
    this.#buffered -= n;
    const head = this.#chunks[this.#first];
    if (head === undefined || this.#offset < head.length) return;
    this.#offset = 0;
    this.#first++;
    if (this.#first === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#first = 0;
    } else if (this.#first >= COMPACT_AFTER) {
      this.#chunks.splice(0, this.#first);
      this.#first = 0;
    }
  }
}

const hex32 = (n: number): string => n.toString(16).padStart(8, '0');

/**
 * One PDU as sent on the wire: BHS, AHS, header digest, data segment padded
 * with zeros to 4 bytes, data digest (only when there is a data segment).
 * The Pdu's TotalAHSLength and DataSegmentLength must match its segments.
 */
export function serializePdu(pdu: Pdu, digests: { readonly header: boolean; readonly data: boolean }): Uint8Array {
  const v = new BhsView(pdu.bhs);
  if (pdu.ahs.length !== v.totalAhsBytes) throw new RangeError(`serializePdu: ${pdu.ahs.length} AHS bytes, TotalAHSLength says ${v.totalAhsBytes}`);
  if (pdu.data.length !== v.dataSegmentLength) {
    throw new RangeError(`serializePdu: ${pdu.data.length} data bytes, DataSegmentLength says ${v.dataSegmentLength}`);
  }
  const headerLength = BHS_LENGTH + pdu.ahs.length;
  const dataAt = headerLength + (digests.header ? DIGEST_LENGTH : 0);
  const paddedLength = padded(pdu.data.length);
  const dataDigest = digests.data && pdu.data.length > 0;
  const out = new Uint8Array(dataAt + paddedLength + (dataDigest ? DIGEST_LENGTH : 0));
  out.set(pdu.bhs);
  out.set(pdu.ahs, BHS_LENGTH);
  if (digests.header) writeDigest(out, headerLength, crc32c(out.subarray(0, headerLength)));
  out.set(pdu.data, dataAt);
  if (dataDigest) writeDigest(out, dataAt + paddedLength, crc32c(out.subarray(dataAt, dataAt + paddedLength)));
  return out;
}

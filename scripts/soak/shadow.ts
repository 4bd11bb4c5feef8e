// The soak's model of the disk: for each logical block, the writes whose data
// a READ may return. A block is certain when one write (or the zeros of the
// fresh image) is all it can hold; it is uncertain while writes overlapping it
// are in flight, and after a write whose outcome the initiator cannot know
// (aborted, caught by a reset, its connection dropped): such a write may have
// landed in full, in part or not at all, but block by block, so each block
// holds the old data or the new (SBC-4: the logical block is the unit of data),
// never a mix inside one block and never anything else.
//
// Ordering is by a logical clock, not by time. A write answered GOOD makes
// every write that was settled before it was sent impossible on its blocks
// (SAM-5: a command sent after another's completion sees its effect); writes
// still in flight, or settled after it was sent, stay possible.

import { SAME_TAG, decodeBlock, tagText } from './pattern.js';

/** How a write's blocks are tagged: a WRITE tags each block with its LBA, a WRITE SAME with SAME_TAG. */
export type WriteKind = 'write' | 'same';

/**
 * Where a write stands: in flight; good; not executed (the target said so:
 * BUSY, TASK SET FULL, UNIT ATTENTION); unknown (settled, outcome unknowable);
 * lost (its connection went away, and the target may still run it until the
 * session is reinstated or closed).
 */
export type WriteState = 'in-flight' | 'good' | 'not-done' | 'unknown' | 'lost';

export interface WriteRecord {
  /** 0 is the fresh image's zeros. */
  readonly id: number;
  readonly kind: WriteKind | 'zeros';
  readonly lba: number;
  readonly blocks: number;
  readonly sentAt: number;
  settledAt: number | undefined;
  state: WriteState;
}

export interface ReadRecord {
  readonly lba: number;
  readonly blocks: number;
  /** Per block, what it could hold when the READ was sent. */
  readonly possible: readonly (readonly WriteRecord[])[];
  /** Writes sent while the READ was out: they may land before it reads. */
  readonly concurrent: WriteRecord[];
}

/** One block a READ returned that the model rules out. */
export interface Mismatch {
  readonly lba: number;
  readonly what: string;
}

const ZEROS: WriteRecord = { id: 0, kind: 'zeros', lba: 0, blocks: 0, sentAt: -1, settledAt: -1, state: 'good' };

const overlaps = (w: WriteRecord, lba: number, blocks: number): boolean => w.lba < lba + blocks && lba < w.lba + w.blocks;
const covers = (w: WriteRecord, lba: number): boolean => lba >= w.lba && lba < w.lba + w.blocks;

export class ShadowDisk {
  readonly blocks: number;
  readonly #possible: WriteRecord[][];
  readonly #reads = new Set<ReadRecord>();
  #clock = 0;
  #nextId = 1;

  constructor(blocks: number) {
    if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError(`blocks must be a positive integer, got ${blocks}`);
    this.blocks = blocks;
    this.#possible = Array.from({ length: blocks }, () => [ZEROS]);
  }

  /** A write is about to be sent; its record carries the id its data must be built with. */
  writeSent(kind: WriteKind, lba: number, blocks: number): WriteRecord {
    this.#checkRange(lba, blocks);
    const w: WriteRecord = { id: this.#nextId++, kind, lba, blocks, sentAt: this.#clock++, settledAt: undefined, state: 'in-flight' };
    for (let b = lba; b < lba + blocks; b++) this.#at(b).push(w);
    for (const r of this.#reads) if (overlaps(w, r.lba, r.blocks)) r.concurrent.push(w);
    return w;
  }

  /** GOOD: the write's data is on its blocks, and what was settled before it was sent is gone from them. */
  writeGood(w: WriteRecord): void {
    if (w.state !== 'in-flight') return;
    w.state = 'good';
    w.settledAt = this.#clock++;
    for (let b = w.lba; b < w.lba + w.blocks; b++) {
      this.#possible[b] = this.#at(b).filter((x) => x === w || x.settledAt === undefined || x.settledAt >= w.sentAt);
    }
  }

  /** The target did not execute the write. */
  writeNotDone(w: WriteRecord): void {
    if (w.state !== 'in-flight') return;
    w.state = 'not-done';
    w.settledAt = this.#clock++;
    for (let b = w.lba; b < w.lba + w.blocks; b++) this.#possible[b] = this.#at(b).filter((x) => x !== w);
  }

  /** The connection carrying the write is gone; it stays possible, unsettled, until {@link writeUnknown}. */
  writeLost(w: WriteRecord): void {
    if (w.state === 'in-flight') w.state = 'lost';
  }

  /** The write is over and may have landed on any of its blocks, or none. */
  writeUnknown(w: WriteRecord): void {
    if (w.state !== 'in-flight' && w.state !== 'lost') return;
    w.state = 'unknown';
    w.settledAt = this.#clock++;
  }

  readSent(lba: number, blocks: number): ReadRecord {
    this.#checkRange(lba, blocks);
    const possible = Array.from({ length: blocks }, (_, i) => [...this.#at(lba + i)]);
    const r: ReadRecord = { lba, blocks, possible, concurrent: [] };
    this.#reads.add(r);
    return r;
  }

  /** The READ ended without data to check (aborted, lost, an error status). */
  readDropped(r: ReadRecord): void {
    this.#reads.delete(r);
  }

  /** Checks the data a READ returned, block by block; `blockLength` bytes per block. */
  readDone(r: ReadRecord, data: Buffer, blockLength: number): Mismatch[] {
    this.#reads.delete(r);
    const out: Mismatch[] = [];
    for (let i = 0; i < r.blocks; i++) {
      const lba = r.lba + i;
      const got = decodeBlock(data, i * blockLength, blockLength);
      if (got.kind === 'torn') {
        out.push({ lba, what: `torn or foreign block: ${got.why}` });
        continue;
      }
      const accepted = [...(r.possible[i] ?? []), ...r.concurrent.filter((w) => covers(w, lba))];
      const id = got.kind === 'zeros' ? 0 : got.id;
      const match = accepted.find((w) => w.id === id);
      if (match === undefined) {
        out.push({ lba, what: `holds ${got.kind === 'zeros' ? 'zeros' : `write ${id}`}; possible: ${accepted.map(describe).join(', ')}` });
      } else if (got.kind === 'written' && got.tag !== (match.kind === 'same' ? SAME_TAG : lba)) {
        out.push({ lba, what: `holds write ${id}'s block for LBA ${tagText(got.tag)} (misplaced)` });
      }
    }
    return out;
  }

  /** What block `lba` may hold right now, oldest first. */
  possible(lba: number): readonly WriteRecord[] {
    return [...this.#at(lba)];
  }

  /** Blocks that may hold more than one thing right now. */
  uncertainBlocks(): number {
    let n = 0;
    for (const p of this.#possible) if (p.length > 1) n++;
    return n;
  }

  #at(lba: number): WriteRecord[] {
    const p = this.#possible[lba];
    if (p === undefined) throw new RangeError(`LBA ${lba} is outside the ${this.blocks}-block disk`);
    return p;
  }

  #checkRange(lba: number, blocks: number): void {
    if (!Number.isInteger(lba) || !Number.isInteger(blocks) || lba < 0 || blocks < 1 || lba + blocks > this.blocks) {
      throw new RangeError(`range ${lba}+${blocks} is outside the ${this.blocks}-block disk`);
    }
  }
}

function describe(w: WriteRecord): string {
  return w.id === 0 ? 'zeros' : `write ${w.id} (${w.kind}, ${w.state})`;
}

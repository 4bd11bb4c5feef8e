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
//
// Task attributes add order inside one session (one I_T nexus, CmdSN order;
// SAM-5 §8.6): an ORDERED task starts once every older task has completed, and
// no newer SIMPLE or ORDERED task starts before it completes (a HEAD OF QUEUE
// one may). So a READ newer than an ORDERED WRITE later answered GOOD reads
// after that WRITE, and an ORDERED READ reads after every older WRITE of its
// session answered GOOD: on the blocks such a WRITE covers, the READ cannot
// return what was settled before the WRITE was sent, nor, for an ORDERED WRITE,
// an older GOOD write of the session. A write aborted, reset or cut off stays
// as uncertain as before: only GOOD makes a barrier.
//
// Unmapping (SBC-4 logical block provisioning) is a write too. WRITE SAME with
// UNMAP leaves each block reading as the data sent, deallocated or not, so with
// a block of zeros it writes zeros ('unmap'). UNMAP leaves zeros where the unit
// reports LBPRZ 001b ('unmap'); with any other LBPRZ what a deallocated block
// reads is not the model's to know, so a block it may have reached takes any
// data ('deallocate') until a later write settles it. Either way the blocks
// outside its ranges are untouched.

import { SAME_TAG, decodeBlock, tagText } from './pattern.js';
import type { TaskAttribute } from './task.js';

/**
 * How a write's blocks are tagged: a WRITE tags each block with its LBA, a WRITE SAME with SAME_TAG; an unmap
 * leaves zeros, a deallocation anything.
 */
export type WriteKind = 'write' | 'same' | 'unmap' | 'deallocate';

/**
 * Where a write stands: in flight; good; not executed (the target said so:
 * BUSY, TASK SET FULL, UNIT ATTENTION); unknown (settled, outcome unknowable);
 * lost (its connection went away, and the target may still run it until the
 * session is reinstated or closed).
 */
export type WriteState = 'in-flight' | 'good' | 'not-done' | 'unknown' | 'lost';

/** Which session sent a command, with what task attribute, and (once sent) its CmdSN. */
export interface Issue {
  /** One per login of one session: CmdSN order holds within it. */
  readonly nexus: string;
  readonly attr: TaskAttribute;
  cmdSN: number | undefined;
}

export interface WriteRecord {
  /** 0 is the fresh image's zeros. */
  readonly id: number;
  readonly kind: WriteKind | 'zeros';
  readonly lba: number;
  readonly blocks: number;
  readonly sentAt: number;
  settledAt: number | undefined;
  state: WriteState;
  readonly issue: Issue | undefined;
}

export interface ReadRecord {
  readonly lba: number;
  readonly blocks: number;
  /** Per block, what it could hold when the READ was sent. */
  readonly possible: readonly (readonly WriteRecord[])[];
  /** Writes sent while the READ was out: they may land before it reads. */
  readonly concurrent: WriteRecord[];
  readonly issue: Issue | undefined;
  /** Writes of the READ's session in flight when it was sent: those older in CmdSN and answered GOOD may order it. */
  readonly sessionInFlight: readonly WriteRecord[];
}

/** One block a READ returned that the model rules out. */
export interface Mismatch {
  readonly lba: number;
  readonly what: string;
}

const ZEROS: WriteRecord = { id: 0, kind: 'zeros', lba: 0, blocks: 0, sentAt: -1, settledAt: -1, state: 'good', issue: undefined };

const overlaps = (w: WriteRecord, lba: number, blocks: number): boolean => w.lba < lba + blocks && lba < w.lba + w.blocks;
const covers = (w: WriteRecord, lba: number): boolean => lba >= w.lba && lba < w.lba + w.blocks;

export class ShadowDisk {
  readonly blocks: number;
  readonly #possible: WriteRecord[][];
  readonly #reads = new Set<ReadRecord>();
  /** Writes in flight that carry an issue, for the READs of their session. */
  readonly #issuedInFlight = new Set<WriteRecord>();
  #clock = 0;
  #nextId = 1;
  /** READs checked with an ORDERED rule in force: a write of their session they must read after. */
  orderedReads = 0;

  constructor(blocks: number) {
    if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError(`blocks must be a positive integer, got ${blocks}`);
    this.blocks = blocks;
    this.#possible = Array.from({ length: blocks }, () => [ZEROS]);
  }

  /** A write is about to be sent; its record carries the id its data must be built with. */
  writeSent(kind: WriteKind, lba: number, blocks: number, issue?: Issue): WriteRecord {
    this.#checkRange(lba, blocks);
    const w: WriteRecord = { id: this.#nextId++, kind, lba, blocks, sentAt: this.#clock++, settledAt: undefined, state: 'in-flight', issue };
    for (let b = lba; b < lba + blocks; b++) this.#at(b).push(w);
    for (const r of this.#reads) if (overlaps(w, r.lba, r.blocks)) r.concurrent.push(w);
    if (issue !== undefined) this.#issuedInFlight.add(w);
    return w;
  }

  /** GOOD: the write's data is on its blocks, and what was settled before it was sent is gone from them. */
  writeGood(w: WriteRecord): void {
    if (w.state !== 'in-flight') return;
    this.#issuedInFlight.delete(w);
    w.state = 'good';
    w.settledAt = this.#clock++;
    for (let b = w.lba; b < w.lba + w.blocks; b++) {
      this.#possible[b] = this.#at(b).filter((x) => x === w || x.settledAt === undefined || x.settledAt >= w.sentAt);
    }
  }

  /** The target did not execute the write. */
  writeNotDone(w: WriteRecord): void {
    if (w.state !== 'in-flight') return;
    this.#issuedInFlight.delete(w);
    w.state = 'not-done';
    w.settledAt = this.#clock++;
    for (let b = w.lba; b < w.lba + w.blocks; b++) this.#possible[b] = this.#at(b).filter((x) => x !== w);
  }

  /** The connection carrying the write is gone; it stays possible, unsettled, until {@link writeUnknown}. */
  writeLost(w: WriteRecord): void {
    if (w.state !== 'in-flight') return;
    this.#issuedInFlight.delete(w);
    w.state = 'lost';
  }

  /** The write is over and may have landed on any of its blocks, or none. */
  writeUnknown(w: WriteRecord): void {
    if (w.state !== 'in-flight' && w.state !== 'lost') return;
    this.#issuedInFlight.delete(w);
    w.state = 'unknown';
    w.settledAt = this.#clock++;
  }

  readSent(lba: number, blocks: number, issue?: Issue): ReadRecord {
    this.#checkRange(lba, blocks);
    const possible = Array.from({ length: blocks }, (_, i) => [...this.#at(lba + i)]);
    const sessionInFlight = issue === undefined ? [] : [...this.#issuedInFlight].filter((w) => w.issue?.nexus === issue.nexus && overlaps(w, lba, blocks));
    const r: ReadRecord = { lba, blocks, possible, concurrent: [], issue, sessionInFlight };
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
    const barriers = r.sessionInFlight.filter((w) => ordersRead(w, r));
    if (barriers.length > 0) this.orderedReads++;
    for (let i = 0; i < r.blocks; i++) {
      const lba = r.lba + i;
      let accepted = [...(r.possible[i] ?? []), ...r.concurrent.filter((w) => covers(w, lba))];
      for (const x of barriers) if (covers(x, lba)) accepted = accepted.filter((y) => !before(y, x));
      if (accepted.some((w) => w.kind === 'deallocate')) continue;
      const got = decodeBlock(data, i * blockLength, blockLength);
      if (got.kind === 'torn') {
        out.push({ lba, what: `torn or foreign block: ${got.why}` });
        continue;
      }
      const match = accepted.find((w) => (got.kind === 'zeros' ? readsAsZeros(w) : w.id === got.id));
      if (match === undefined) {
        out.push({ lba, what: `holds ${got.kind === 'zeros' ? 'zeros' : `write ${got.id}`}; possible: ${accepted.map(describe).join(', ')}` });
      } else if (got.kind === 'written' && got.tag !== (match.kind === 'same' ? SAME_TAG : lba)) {
        out.push({ lba, what: `holds write ${got.id}'s block for LBA ${tagText(got.tag)} (misplaced)` });
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

/** Whether a block that `w` reached reads as zeros: the fresh image, or an unmap. */
export const readsAsZeros = (w: WriteRecord): boolean => w.kind === 'zeros' || w.kind === 'unmap';

/** CmdSN order, serial arithmetic (RFC 7143 §4.2.2.1 after RFC 1982). */
const snLess = (a: number, b: number): boolean => ((a - b) | 0) < 0;

/** Whether `w`, a write of the READ's session, completed before the READ started (SAM-5 §8.6). */
function ordersRead(w: WriteRecord, r: ReadRecord): boolean {
  const wi = w.issue;
  const ri = r.issue;
  if (w.state !== 'good' || wi?.cmdSN === undefined || ri?.cmdSN === undefined || !snLess(wi.cmdSN, ri.cmdSN)) return false;
  return ri.attr === 'ordered' || (wi.attr === 'ordered' && ri.attr !== 'head');
}

/** Whether `y`'s data on a block is overwritten by barrier `x`'s before the READ: settled before `x` was sent, or for an ORDERED `x` an older GOOD write of its session. */
function before(y: WriteRecord, x: WriteRecord): boolean {
  if (y === x) return false;
  if (y.settledAt !== undefined && y.settledAt < x.sentAt) return true;
  const yi = y.issue;
  const xi = x.issue;
  return xi?.attr === 'ordered' && y.state === 'good' && yi?.nexus === xi.nexus && yi.cmdSN !== undefined && xi.cmdSN !== undefined && snLess(yi.cmdSN, xi.cmdSN);
}

function describe(w: WriteRecord): string {
  return w.id === 0 ? 'zeros' : `write ${w.id} (${w.kind}, ${w.state})`;
}

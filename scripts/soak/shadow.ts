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
// still in flight, or settled after it was sent, stay possible, except, for an
// ORDERED write, the older writes of its session answered GOOD.
//
// Task attributes add order inside one session (one I_T nexus, CmdSN order;
// SAM-5 §8.6): an ORDERED task starts once every older task has completed, and
// no newer SIMPLE or ORDERED task starts before it completes (a HEAD OF QUEUE
// one may). So a READ newer than an ORDERED WRITE later answered GOOD reads
// after that WRITE, and an ORDERED READ reads after every older WRITE of its
// session answered GOOD: on the blocks such a WRITE covers, the READ cannot
// return what was settled before the WRITE was sent, nor, for an ORDERED WRITE,
// an older GOOD write of the session. A write aborted, reset or cut off stays
// as uncertain as before: only GOOD makes a barrier. Every ORDERED command
// answered GOOD, whatever its kind (a SYNCHRONIZE CACHE, with IMMED or not: it
// completes when answered), is a fence: a READ newer than it, not HEAD OF
// QUEUE, reads after every older WRITE of the session answered GOOD. A COMPARE
// AND WRITE compares as such a READ would read, and an ORDERED UNMAP or WRITE
// SAME with UNMAP bars what it replaced as an ORDERED WRITE does. Writes are
// ordered so too: a write newer than a fence answered GOOD, not HEAD OF QUEUE,
// lands after every older write of its session answered GOOD, and the fence's
// own command is one of those; so once GOOD it ends them on its blocks.
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
  /** ORDERED commands of the write's session in flight when it was sent: those GOOD between an older write and it order the two. */
  readonly sessionFences: readonly Fence[];
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
  /** ORDERED commands of the READ's session in flight when it was sent: those older in CmdSN and answered GOOD order it. */
  readonly sessionFences: readonly Fence[];
}

/** An ORDERED command of one session, any kind: once GOOD, the newer commands of its session start after every older one ended. */
export interface Fence {
  readonly issue: Issue;
  good: boolean;
}

/** One block a READ returned that the model rules out. */
export interface Mismatch {
  readonly lba: number;
  readonly what: string;
}

const ZEROS: WriteRecord = { id: 0, kind: 'zeros', lba: 0, blocks: 0, sentAt: -1, settledAt: -1, state: 'good', issue: undefined, sessionFences: [] };

const overlaps = (w: WriteRecord, lba: number, blocks: number): boolean => w.lba < lba + blocks && lba < w.lba + w.blocks;
const covers = (w: WriteRecord, lba: number): boolean => lba >= w.lba && lba < w.lba + w.blocks;

export class ShadowDisk {
  readonly blocks: number;
  readonly #possible: WriteRecord[][];
  readonly #reads = new Set<ReadRecord>();
  /** Writes in flight that carry an issue, for the READs of their session. */
  readonly #issuedInFlight = new Set<WriteRecord>();
  readonly #fencesInFlight = new Set<Fence>();
  /** READs waiting for what may order them to be over (orderSettled). */
  #waiting: { readonly r: ReadRecord; readonly resolve: () => void }[] = [];
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
    const sessionFences = this.#sessionFences(issue);
    const w: WriteRecord = { id: this.#nextId++, kind, lba, blocks, sentAt: this.#clock++, settledAt: undefined, state: 'in-flight', issue, sessionFences };
    for (let b = lba; b < lba + blocks; b++) this.#at(b).push(w);
    for (const r of this.#reads) if (overlaps(w, r.lba, r.blocks)) r.concurrent.push(w);
    if (issue !== undefined) this.#issuedInFlight.add(w);
    return w;
  }

  /**
   * GOOD: the write's data is on its blocks, and what was settled before it was sent is gone from them; so is every
   * older write of its session answered GOOD that ended before this one started: all of them for an ORDERED write,
   * for another those up to a fence between them answered GOOD (see the file header).
   */
  writeGood(w: WriteRecord): void {
    if (w.state !== 'in-flight') return;
    this.#issuedInFlight.delete(w);
    w.state = 'good';
    w.settledAt = this.#clock++;
    for (let b = w.lba; b < w.lba + w.blocks; b++) this.#possible[b] = this.#at(b).filter((x) => !before(x, w));
    this.#wake();
  }

  /** The target did not execute the write. */
  writeNotDone(w: WriteRecord): void {
    if (w.state !== 'in-flight') return;
    this.#issuedInFlight.delete(w);
    w.state = 'not-done';
    w.settledAt = this.#clock++;
    for (let b = w.lba; b < w.lba + w.blocks; b++) this.#possible[b] = this.#at(b).filter((x) => x !== w);
    this.#wake();
  }

  /** The connection carrying the write is gone; it stays possible, unsettled, until {@link writeUnknown}. */
  writeLost(w: WriteRecord): void {
    if (w.state !== 'in-flight') return;
    this.#issuedInFlight.delete(w);
    w.state = 'lost';
    this.#wake();
  }

  /** The write is over and may have landed on any of its blocks, or none. */
  writeUnknown(w: WriteRecord): void {
    if (w.state !== 'in-flight' && w.state !== 'lost') return;
    this.#issuedInFlight.delete(w);
    w.state = 'unknown';
    w.settledAt = this.#clock++;
    this.#wake();
  }

  /** An ORDERED command is about to be sent (any kind). */
  orderedSent(issue: Issue): Fence {
    const f: Fence = { issue, good: false };
    this.#fencesInFlight.add(f);
    return f;
  }

  /** The ORDERED command is over: answered GOOD (`good`), or not, which orders nothing the model relies on. */
  orderedDone(f: Fence, good: boolean): void {
    this.#fencesInFlight.delete(f);
    f.good = good;
    this.#wake();
  }

  readSent(lba: number, blocks: number, issue?: Issue): ReadRecord {
    this.#checkRange(lba, blocks);
    const possible = Array.from({ length: blocks }, (_, i) => [...this.#at(lba + i)]);
    const sessionInFlight = issue === undefined ? [] : [...this.#issuedInFlight].filter((w) => w.issue?.nexus === issue.nexus && overlaps(w, lba, blocks));
    const sessionFences = this.#sessionFences(issue);
    const r: ReadRecord = { lba, blocks, possible, concurrent: [], issue, sessionInFlight, sessionFences };
    this.#reads.add(r);
    return r;
  }

  /**
   * Resolves once what may order the READ is over: each write of its session in flight when it was sent and each
   * ORDERED command of its session then in flight, older than it in CmdSN. An answer that overtook them (a target
   * that ignores ORDERED) is checked only then, when an ORDERED rule can apply; the writes sent meanwhile join
   * its concurrent ones, so the wait only widens what it accepts. At once when no ORDERED rule can apply.
   */
  orderSettled(r: ReadRecord): Promise<void> {
    return this.#orderPending(r) ? new Promise((resolve) => this.#waiting.push({ r, resolve })) : Promise.resolve();
  }

  /** The ORDERED commands of `issue`'s session in flight now. */
  #sessionFences(issue: Issue | undefined): Fence[] {
    if (issue === undefined || this.#fencesInFlight.size === 0) return [];
    return [...this.#fencesInFlight].filter((f) => f.issue.nexus === issue.nexus);
  }

  #orderPending(r: ReadRecord): boolean {
    const ri = r.issue;
    const sn = ri?.cmdSN;
    if (sn === undefined || ri?.attr === 'head') return false;
    if (ri?.attr === 'simple' && r.sessionFences.length === 0 && !r.sessionInFlight.some((w) => w.issue?.attr === 'ordered')) return false;
    const older = (i: Issue | undefined): boolean => i?.cmdSN !== undefined && snLess(i.cmdSN, sn);
    return r.sessionInFlight.some((w) => w.state === 'in-flight' && older(w.issue)) || r.sessionFences.some((f) => this.#fencesInFlight.has(f) && older(f.issue));
  }

  #wake(): void {
    if (this.#waiting.length === 0) return;
    const ready = this.#waiting.filter((x) => !this.#orderPending(x.r));
    this.#waiting = this.#waiting.filter((x) => this.#orderPending(x.r));
    for (const x of ready) x.resolve();
  }

  /** The READ ended without data to check (aborted, lost, an error status). */
  readDropped(r: ReadRecord): void {
    this.#reads.delete(r);
  }

  /**
   * What each block of a READ may return if it reads now: what it could hold when sent, the writes sent since,
   * less what a write of its session that it must read after (ORDERED, SAM-5 §8.6) replaced.
   */
  allowed(r: ReadRecord): WriteRecord[][] {
    const barriers = r.sessionInFlight.filter((w) => ordersRead(w, r));
    return Array.from({ length: r.blocks }, (_, i) => {
      const lba = r.lba + i;
      let accepted = [...(r.possible[i] ?? []), ...r.concurrent.filter((w) => covers(w, lba))];
      for (const x of barriers) if (covers(x, lba)) accepted = accepted.filter((y) => !before(y, x));
      return accepted;
    });
  }

  /** Checks the data a READ returned, block by block; `blockLength` bytes per block. */
  readDone(r: ReadRecord, data: Buffer, blockLength: number): Mismatch[] {
    this.#reads.delete(r);
    const out: Mismatch[] = [];
    if (r.sessionInFlight.some((w) => ordersRead(w, r))) this.orderedReads++;
    const allowed = this.allowed(r);
    for (let i = 0; i < r.blocks; i++) {
      const lba = r.lba + i;
      const accepted = allowed[i] ?? [];
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

/**
 * Whether `w`, a write of the READ's session, completed before the READ started (SAM-5 §8.6): the READ is ORDERED,
 * or not HEAD OF QUEUE and `w` is ORDERED or older than an ORDERED command answered GOOD that is older than the READ.
 */
function ordersRead(w: WriteRecord, r: ReadRecord): boolean {
  const wi = w.issue;
  const ri = r.issue;
  if (w.state !== 'good' || wi?.cmdSN === undefined || ri?.cmdSN === undefined || !snLess(wi.cmdSN, ri.cmdSN)) return false;
  if (ri.attr === 'ordered') return true;
  if (ri.attr === 'head') return false;
  const rSN = ri.cmdSN;
  const wSN = wi.cmdSN;
  return wi.attr === 'ordered' || r.sessionFences.some((f) => f.good && f.issue.cmdSN !== undefined && snLess(wSN, f.issue.cmdSN) && snLess(f.issue.cmdSN, rSN));
}

/**
 * Whether `y`'s data on a block is overwritten by `x`'s (SAM-5 §8.6): `y` was settled before `x` was sent, or is an
 * older GOOD write of its session that ended before `x` started: any such for an ORDERED `x`; for a SIMPLE `x`, one
 * no newer than an ORDERED command answered GOOD that is older than `x` (the fence's own write included).
 */
function before(y: WriteRecord, x: WriteRecord): boolean {
  if (y === x) return false;
  if (y.settledAt !== undefined && y.settledAt < x.sentAt) return true;
  const ySN = y.issue?.cmdSN;
  const xi = x.issue;
  const xSN = xi?.cmdSN;
  if (y.state !== 'good' || ySN === undefined || xi === undefined || xSN === undefined || y.issue?.nexus !== xi.nexus || !snLess(ySN, xSN)) return false;
  if (xi.attr === 'ordered') return true;
  if (xi.attr === 'head') return false;
  return x.sessionFences.some((f) => f.good && f.issue.cmdSN !== undefined && !snLess(f.issue.cmdSN, ySN) && snLess(f.issue.cmdSN, xSN));
}

function describe(w: WriteRecord): string {
  return w.id === 0 ? 'zeros' : `write ${w.id} (${w.kind}, ${w.state})`;
}

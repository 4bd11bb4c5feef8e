// What each soak session does next, drawn from a seeded PRNG. Each session
// draws from its own stream (seed and slot), one draw sequence per decision
// whatever the target's timing, so the same seed gives every session the same
// sequence of decisions; only which outstanding command an ABORT TASK meets
// depends on timing, since the decision names it by position. A decision's
// fields are drawn in the order its object literal names them, the task
// attribute (and a SYNCHRONIZE CACHE's IMMED) last.

/** mulberry32: a small 32-bit PRNG, plenty for picking workloads; uniform in [0, 1). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

import type { LoginOffer } from './login.js';
import type { TaskAttribute } from './task.js';

export type Decision =
  | { readonly kind: 'read'; readonly lba: number; readonly blocks: number; readonly attr: TaskAttribute }
  | { readonly kind: 'write'; readonly lba: number; readonly blocks: number; readonly attr: TaskAttribute; readonly dropInDataOut: boolean }
  | { readonly kind: 'write-same'; readonly lba: number; readonly blocks: number; readonly attr: TaskAttribute }
  /**
   * COMPARE AND WRITE; `verify[i]` in [0, 1) picks block i's verify data when the command is sent
   * (driver.ts: the newest the model allows, another it allows, or data no write produced).
   */
  | { readonly kind: 'compare-and-write'; readonly lba: number; readonly blocks: number; readonly verify: readonly number[]; readonly attr: TaskAttribute }
  /** WRITE SAME with UNMAP, with a block of zeros or (`zeros` false) a patterned one (a thin unit only). */
  | { readonly kind: 'write-same-unmap'; readonly lba: number; readonly blocks: number; readonly zeros: boolean; readonly attr: TaskAttribute }
  /** UNMAP of one to four ranges, which may overlap (a thin unit only). */
  | { readonly kind: 'unmap'; readonly ranges: readonly { readonly lba: number; readonly blocks: number }[]; readonly attr: TaskAttribute }
  /** SYNCHRONIZE CACHE (10) of the whole medium, with IMMED (GOOD before the flush ends) or without. */
  | { readonly kind: 'sync-cache'; readonly attr: TaskAttribute; readonly immed: boolean }
  /** ABORT TASK of the outstanding command at `pick` modulo their number (none outstanding: nothing). */
  | { readonly kind: 'abort-task'; readonly pick: number }
  /** Task management on the whole task set (RFC 7143 §11.5.1). */
  | { readonly kind: 'abort-task-set' | 'clear-task-set' | 'lu-reset' | 'target-warm-reset' }
  /** Destroy the connection with whatever is outstanding, then log in again (a session reinstatement). */
  | { readonly kind: 'drop' }
  /** Log out cleanly, then log in again. */
  | { readonly kind: 'logout' };

export type DecisionKind = Decision['kind'];

export interface Geometry {
  /** Blocks on the disk. */
  readonly blocks: number;
  /** Most I/O lands in the first `hot` blocks, so commands overlap. */
  readonly hot: number;
  /** Largest transfer in blocks. */
  readonly maxBlocks: number;
  /** MAXIMUM COMPARE AND WRITE LENGTH (Block Limits VPD page); 0: no COMPARE AND WRITE. */
  readonly maxCompareAndWrite: number;
  /** UNMAP limits, when the unit unmaps (LBPU, LBPWS, LBPWS10), and whether unmapped blocks read as zeros (LBPRZ 001b); else none. */
  readonly unmap?: { readonly maxLbaCount: number; readonly maxDescriptors: number; readonly zeros: boolean };
}

/** Chance of each disruption per decision (cumulative bounds below); the rest is I/O. */
const ABORT_TASK = 0.004;
const ABORT_TASK_SET = ABORT_TASK + 0.0008;
const CLEAR_TASK_SET = ABORT_TASK_SET + 0.0004;
const LU_RESET = CLEAR_TASK_SET + 0.0015;
const TARGET_WARM_RESET = LU_RESET + 0.0004;
const DROP = TARGET_WARM_RESET + 0.002;
const LOGOUT = DROP + 0.001;
const READ_SHARE = 0.45;
const WRITE_SAME_SHARE = 0.1;
const COMPARE_AND_WRITE_SHARE = 0.05;
const SYNC_CACHE_SHARE = 0.01;
/** Only on a unit that unmaps (Geometry.unmap); elsewhere these shares are WRITEs. */
const UNMAP_SHARE = 0.03;
const WRITE_SAME_UNMAP_SHARE = 0.02;
const MAX_UNMAP_RANGES = 4;
/** Most WRITE SAMEs with UNMAP send zeros, which a unit may deallocate; the rest data it must write. */
const WRITE_SAME_UNMAP_ZEROS = 0.8;
/** Task attributes of every command kind: an ORDERED command drains its session's queue, so few are. */
const ORDERED_SHARE = 0.02;
const HEAD_OF_QUEUE_SHARE = 0.01;
/** SYNCHRONIZE CACHEs sent with IMMED (SBC-4: GOOD once the CDB is checked; a later flush failure is a deferred error). */
const SYNC_IMMED_SHARE = 0.3;
const HOT_SHARE = 0.6;
const SINGLE_BLOCK_SHARE = 0.3;
const DROP_IN_DATA_OUT = 0.003;
const MAX_WRITE_SAME_BLOCKS = 256;
/** Short, so most compares can match: each block's verify data is a guess among what the block may hold. */
const MAX_COMPARE_AND_WRITE_BLOCKS = 8;
const MAX_DEPTH = 32;
/** Login offers (RFC 7143 §13): each list is what one draw picks from. */
const DIGEST_OFFERS = ['None', 'CRC32C', 'CRC32C,None', 'None,CRC32C'] as const;
const YES_NO = ['Yes', 'No'] as const;
const MRDSL = [512, 4096, 8192, 65_536, 262_144, 16_776_704] as const; // up to 2^24 - 1, rounded down to 512
const MAX_BURST = [512, 4096, 16_384, 65_536, 262_144, 1_048_576] as const;
const FIRST_BURST = [512, 2048, 8192, 65_536, 262_144] as const;
const MAX_R2T = [1, 4] as const;

export class Workload {
  readonly #random: () => number;
  readonly #geometry: Geometry;

  constructor(seed: number, slot: number, geometry: Geometry) {
    if (geometry.hot > geometry.blocks || geometry.maxBlocks < 1) throw new RangeError(`bad geometry ${JSON.stringify(geometry)}`);
    // One stream per slot: the seed's stream, moved by the slot through an odd multiplier.
    this.#random = createRandom((seed ^ Math.imul(slot + 1, 0x9e3779b9)) >>> 0);
    this.#geometry = geometry;
  }

  /** The keys of the next login: digests, R2T policy, segment and burst sizes (RFC 7143 §13). */
  loginOffer(): LoginOffer {
    const maxBurst = this.#pick(MAX_BURST);
    return {
      HeaderDigest: this.#pick(DIGEST_OFFERS),
      DataDigest: this.#pick(DIGEST_OFFERS),
      InitialR2T: this.#pick(YES_NO),
      ImmediateData: this.#pick(YES_NO),
      MaxRecvDataSegmentLength: this.#pick(MRDSL),
      MaxBurstLength: maxBurst,
      FirstBurstLength: Math.min(maxBurst, this.#pick(FIRST_BURST)),
      MaxOutstandingR2T: this.#pick(MAX_R2T),
    };
  }

  /** Commands to keep in flight after a login: 1..32. */
  depth(): number {
    return this.#int(1, MAX_DEPTH);
  }

  next(): Decision {
    const d = this.#random();
    if (d < ABORT_TASK) return { kind: 'abort-task', pick: this.#int(0, 0xffff) };
    if (d < ABORT_TASK_SET) return { kind: 'abort-task-set' };
    if (d < CLEAR_TASK_SET) return { kind: 'clear-task-set' };
    if (d < LU_RESET) return { kind: 'lu-reset' };
    if (d < TARGET_WARM_RESET) return { kind: 'target-warm-reset' };
    if (d < DROP) return { kind: 'drop' };
    if (d < LOGOUT) return { kind: 'logout' };
    const io = this.#random();
    if (io < READ_SHARE) return { kind: 'read', ...this.#range(this.#geometry.maxBlocks), attr: this.#attr() };
    if (io < READ_SHARE + WRITE_SAME_SHARE) return { kind: 'write-same', ...this.#range(MAX_WRITE_SAME_BLOCKS), attr: this.#attr() };
    const caw = this.#geometry.maxCompareAndWrite;
    const cawUpTo = READ_SHARE + WRITE_SAME_SHARE + COMPARE_AND_WRITE_SHARE;
    if (io >= cawUpTo && io < cawUpTo + SYNC_CACHE_SHARE) return { kind: 'sync-cache', attr: this.#attr(), immed: this.#random() < SYNC_IMMED_SHARE };
    const unmap = this.#geometry.unmap;
    const unmapFrom = cawUpTo + SYNC_CACHE_SHARE;
    if (unmap !== undefined && io >= unmapFrom && io < unmapFrom + UNMAP_SHARE) {
      const n = this.#int(1, Math.min(MAX_UNMAP_RANGES, unmap.maxDescriptors));
      const per = Math.max(1, Math.floor(Math.min(MAX_WRITE_SAME_BLOCKS * n, unmap.maxLbaCount) / n));
      return { kind: 'unmap', ranges: Array.from({ length: n }, () => this.#range(per)), attr: this.#attr() };
    }
    if (unmap !== undefined && io >= unmapFrom + UNMAP_SHARE && io < unmapFrom + UNMAP_SHARE + WRITE_SAME_UNMAP_SHARE) {
      return { kind: 'write-same-unmap', ...this.#range(MAX_WRITE_SAME_BLOCKS), zeros: this.#random() < WRITE_SAME_UNMAP_ZEROS, attr: this.#attr() };
    }
    if (caw > 0 && io < cawUpTo) {
      // In the hot area, where the model knows what the blocks may hold and other commands overlap them.
      const blocks = this.#int(1, Math.min(caw, MAX_COMPARE_AND_WRITE_BLOCKS, this.#geometry.hot));
      const lba = this.#int(0, this.#geometry.hot - blocks);
      return { kind: 'compare-and-write', lba, blocks, verify: Array.from({ length: blocks }, () => this.#random()), attr: this.#attr() };
    }
    return { kind: 'write', ...this.#range(this.#geometry.maxBlocks), attr: this.#attr(), dropInDataOut: this.#random() < DROP_IN_DATA_OUT };
  }

  #attr(): TaskAttribute {
    const a = this.#random();
    return a < ORDERED_SHARE ? 'ordered' : a < ORDERED_SHARE + HEAD_OF_QUEUE_SHARE ? 'head' : 'simple';
  }

  #range(max: number): { lba: number; blocks: number } {
    const space = this.#random() < HOT_SHARE ? this.#geometry.hot : this.#geometry.blocks;
    const lba = this.#int(0, space - 1);
    const wanted = this.#random() < SINGLE_BLOCK_SHARE ? 1 : this.#int(1, Math.min(max, this.#geometry.maxBlocks));
    return { lba, blocks: Math.min(wanted, this.#geometry.blocks - lba) };
  }

  #pick<T>(from: readonly [T, ...T[]]): T {
    return from[this.#int(0, from.length - 1)] ?? from[0];
  }

  /** Uniform in lo..hi, both included. */
  #int(lo: number, hi: number): number {
    return lo + Math.floor(this.#random() * (hi - lo + 1));
  }
}

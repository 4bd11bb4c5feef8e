// Issue 4 property test, through the whole stack: random sequences of da and
// pass operations (random tag actions for pass), with IOERR injected on random
// LBAs, short device stalls that make pass commands time out (and the SIM
// reset the device), and XPT_RESET_DEVs while I/O is in flight.
//
// Operations run concurrently; the test keeps concurrent ones on disjoint
// blocks (SCSI does not order SIMPLE commands), and changes the fault set only
// between batches, so every outcome is decided:
// - da.read / da.write touching a failed block fail with MEDIUM ERROR (03h/11h/00h,
//   03h/0Ch/00h) and an LBA where one of their CCBs starts, after 4 retries;
//   otherwise they succeed, and reads return what the shadow holds;
// - pass returns the same errors raw (INFORMATION the LBA, CAM_DEV_QFRZN set);
//   during a stall or reset window it may also see CMD_TIMEOUT (stall only) or
//   the reset's unit attention, and a write that did not report GOOD leaves
//   its blocks unknown;
// - discard leaves blocks unknown (virtio discard need not zero), write
//   zeroes makes them zero.
// Invariants: every operation settles exactly once (and every CCB completes
// once per xpt.action); devq charged ≤ capacity at every completion; at the
// end of each window nothing is active, queued, held or frozen; each window
// with device resets reports between one and that many unit attentions, a
// window without reports none; the medium equals the shadow at the end.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { createStack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { FaultyBackend } from '../../src/virtio/device/backends/faulty.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../src/virtio/blk-driver.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../../src/virtio/blk-features.js';
import { AsyncCode } from '../../src/cam/async.js';
import { CamError } from '../../src/cam/periph/errors.js';
import type { SenseData } from '../../src/scsi/sense.js';
import { BlockLocks, QueueWatch, Shadow, drainUnitAttentions, resetDevice, rw10, senseTriple, stamp, turns, watchCcbs } from './helpers.js';

const BS = 512;
const BLOCKS = 1024;
/** size_max 4 KiB × seg_max 4: 16 KiB (32 blocks) per CCB, so da splits larger requests. */
const MAX_IO_BLOCKS = 32;
const RUNS = Number(process.env['VTCAM_PROPERTY_RUNS'] ?? 40);
/** pass timeout inside a stall window; stalls last longer, so a pass command caught in one times out. */
const STALL_PASS_TIMEOUT_MS = 25;

const REQ_CMP = 0x01;
const CMD_TIMEOUT = 0x0b;
const ERROR_STATUS = 0x0c | 0x40 | 0x80; // CAM_SCSI_STATUS_ERROR | CAM_DEV_QFRZN | CAM_AUTOSNS_VALID
const READ_ERROR = '3,17,0'; // MEDIUM ERROR, UNRECOVERED READ ERROR
const WRITE_ERROR = '3,12,0'; // MEDIUM ERROR, WRITE ERROR

type Tag = 'simple' | 'ordered' | 'head';
type Op =
  | { readonly t: 'read' | 'write' | 'discard' | 'writeZeroes'; readonly lba: number; readonly blocks: number }
  | { readonly t: 'passRead' | 'passWrite'; readonly lba: number; readonly blocks: number; readonly tag: Tag }
  | { readonly t: 'flush' | 'clearFaults' | 'reset' | 'barrier' }
  | { readonly t: 'fault'; readonly lba: number; readonly blocks: number; readonly kind: 'read' | 'write' }
  | { readonly t: 'stall'; readonly ms: number };

const range = (max: number): fc.Arbitrary<{ lba: number; blocks: number }> =>
  fc.record({ lba: fc.nat({ max: BLOCKS - 1 }), blocks: fc.integer({ min: 1, max }) }).map(({ lba, blocks }) => ({ lba: Math.min(lba, BLOCKS - blocks), blocks }));
const io = <T extends string>(t: T, max: number): fc.Arbitrary<{ t: T; lba: number; blocks: number }> => range(max).map((r) => ({ t, ...r }));
const passIo = <T extends string>(t: T): fc.Arbitrary<{ t: T; lba: number; blocks: number; tag: Tag }> =>
  fc.tuple(range(MAX_IO_BLOCKS), fc.constantFrom<Tag>('simple', 'simple', 'ordered', 'head')).map(([r, tag]) => ({ t, ...r, tag }));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: io('read', 80) },
  { weight: 6, arbitrary: io('write', 80) },
  { weight: 3, arbitrary: passIo('passRead') },
  { weight: 3, arbitrary: passIo('passWrite') },
  { weight: 1, arbitrary: io('discard', 64) },
  { weight: 1, arbitrary: io('writeZeroes', 64) },
  { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 2, arbitrary: fc.tuple(range(32), fc.constantFrom<'read' | 'write'>('read', 'write')).map(([r, kind]) => ({ t: 'fault' as const, ...r, kind })) },
  { weight: 1, arbitrary: fc.constant({ t: 'clearFaults' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 40, max: 80 }).map((ms) => ({ t: 'stall' as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ t: 'reset' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'barrier' as const }) },
);

/** What the runs exercised, over all of them (asserted at the end, so the property is not vacuous). */
const seen = { ops: 0, daFailures: 0, passErrors: 0, passTimeouts: 0, passUnitAttentions: 0, resets: 0, stallWindows: 0, ordered: 0, head: 0 };

interface Fault {
  readonly lba: number;
  readonly blocks: number;
  readonly kind: 'read' | 'write';
}

const overlaps = (f: Fault, lba: number, n: number): boolean => f.lba < lba + n && lba < f.lba + f.blocks;
const tripleOf = (s: SenseData | undefined): string => (s === undefined ? 'none' : `${s.key},${s.asc},${s.ascq}`);

async function runSequence(ops: readonly Op[], indirect: boolean): Promise<void> {
  const disk = new MemoryBackend({ blocks: BLOCKS });
  const faulty = new FaultyBackend(disk);
  const stack = await createStack({
    backend: faulty,
    queueSize: 16,
    device: { sizeMax: 4096, segMax: 4 },
    features: indirect ? VIRTIO_BLK_DRIVER_FEATURES : VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC),
  });
  const da = stack.da(0);
  const pass = stack.pass(0);
  expect(da.maxTransferBlocks).toBe(MAX_IO_BLOCKS);
  const ledger = watchCcbs(stack);
  const watch = new QueueWatch(stack);
  const shadow = new Shadow(BLOCKS, BS);
  const locks = new BlockLocks(BLOCKS);
  const problems: string[] = [];
  const problem = (p: string): void => {
    if (problems.length < 10) problems.push(p);
  };
  const counts = { resets: 0, uas: 0 };
  stack.xpt.onAsync(AsyncCode.BUS_RESET | AsyncCode.SENT_BDR | AsyncCode.UNIT_ATTENTION, undefined, (code, _path, arg) => {
    if (code === AsyncCode.UNIT_ATTENTION) {
      const s = arg as SenseData;
      if (s.asc !== 0x29) problem(`unexpected unit attention ${tripleOf(s)}`);
      counts.uas++;
    } else {
      counts.resets++;
    }
  });

  const faults: Fault[] = [];
  let window: { readonly kind: 'stall' | 'reset'; readonly ends: Promise<unknown>; readonly resets: number; readonly uas: number } | undefined;
  const outstanding = new Set<Promise<void>>();
  let launched = 0;
  let settled = 0;
  let tag = 1;

  const barrier = async (): Promise<void> => {
    while (outstanding.size > 0) await Promise.all([...outstanding]);
  };

  const endWindow = async (): Promise<void> => {
    await barrier();
    const w = window;
    if (w === undefined) return;
    window = undefined;
    await w.ends;
    await barrier();
    const left = await drainUnitAttentions(stack);
    const want = w.kind === 'stall' ? '6,41,0' : '6,41,3';
    if (left.some((t) => t.join(',') !== want)) problem(`${w.kind} window left unit attentions ${JSON.stringify(left)}`);
    await turns(2);
    const resets = counts.resets - w.resets;
    const uas = counts.uas - w.uas;
    seen.resets += resets;
    if (w.kind === 'stall') seen.stallWindows++;
    // A reset raises one unit attention; resets before anyone heard it merge into one (SAM-5 reset conditions).
    if (resets === 0 ? uas !== 0 : uas < 1 || uas > resets) problem(`${w.kind} window: ${resets} reset(s), ${uas} unit attention(s)`);
    if (w.kind === 'reset' && resets !== 1) problem(`XPT_RESET_DEV window with ${resets} resets`);
    checkIdle();
  };

  const checkIdle = (): void => {
    const s = stack.stats(0);
    const busy = { active: s.active, queued: s.queued, held: s.held, frozen: s.frozen, simFrozen: s.simFrozen, charged: s.charged };
    if (Object.values(busy).some((v) => v !== 0)) problem(`not idle after a batch: ${JSON.stringify(busy)}`);
  };

  /** Outcome of a da command that may meet a fault: undefined when it should succeed, else the expected sense. */
  const daFault = (kind: 'read' | 'write', lba: number, n: number): string | undefined =>
    faults.some((f) => f.kind === kind && overlaps(f, lba, n)) ? (kind === 'read' ? READ_ERROR : WRITE_ERROR) : undefined;

  /**
   * da's CCBs for a request start at lba + k × MAX_IO_BLOCKS. A failed one names its block only when it is
   * one block long (the device does not say which block of a longer one failed): the LBAs such a failure may
   * name, with undefined when a longer piece may have failed.
   */
  const failingPieceStarts = (kind: 'read' | 'write', lba: number, n: number): (bigint | undefined)[] => {
    const out: (bigint | undefined)[] = [];
    for (let at = lba; at < lba + n; at += MAX_IO_BLOCKS) {
      const len = Math.min(MAX_IO_BLOCKS, lba + n - at);
      if (faults.some((f) => f.kind === kind && overlaps(f, at, len))) out.push(len === 1 ? BigInt(at) : undefined);
    }
    return out;
  };

  const expectDaFailure = (what: string, e: unknown, sense: string, starts: (bigint | undefined)[]): void => {
    if (!(e instanceof CamError)) {
      problem(`${what}: rejected with ${String(e)}`);
      return;
    }
    const got = `${e.camStatus} ${tripleOf(e.senseData)} retries ${e.retries}`;
    if (got !== `12 ${sense} retries 4` || !starts.includes(e.lba)) {
      problem(`${what}: ${got} lba ${String(e.lba)}, want 12 ${sense} retries 4 lba in ${starts.map(String).join('/')}`);
    }
  };

  const run = async (op: Op): Promise<void> => {
    switch (op.t) {
      case 'read': {
        const want = daFault('read', op.lba, op.blocks);
        const starts = failingPieceStarts('read', op.lba, op.blocks);
        try {
          const got = await da.read(BigInt(op.lba), op.blocks);
          if (want !== undefined) problem(`da.read ${op.lba}+${op.blocks} succeeded over a failed block`);
          const bad = shadow.mismatch(op.lba, got);
          if (bad !== undefined) problem(`da.read ${op.lba}+${op.blocks}: ${bad}`);
        } catch (e) {
          if (want === undefined) problem(`da.read ${op.lba}+${op.blocks}: ${String(e)}`);
          else {
            seen.daFailures++;
            expectDaFailure(`da.read ${op.lba}+${op.blocks}`, e, want, starts);
          }
        }
        return;
      }
      case 'write': {
        const want = daFault('write', op.lba, op.blocks);
        const starts = failingPieceStarts('write', op.lba, op.blocks);
        const data = stamp(op.lba, op.blocks, BS, tag++);
        shadow.forget(op.lba, op.blocks);
        try {
          await da.write(BigInt(op.lba), data);
          if (want !== undefined) problem(`da.write ${op.lba}+${op.blocks} succeeded over a failed block`);
          shadow.write(op.lba, data);
        } catch (e) {
          if (want === undefined) problem(`da.write ${op.lba}+${op.blocks}: ${String(e)}`);
          else {
            seen.daFailures++;
            expectDaFailure(`da.write ${op.lba}+${op.blocks}`, e, want, starts);
          }
        }
        return;
      }
      case 'passRead':
      case 'passWrite': {
        const write = op.t === 'passWrite';
        const kind = write ? 'write' : 'read';
        const inWindow = window?.kind;
        const data = stamp(op.lba, op.blocks, BS, tag++);
        if (write) shadow.forget(op.lba, op.blocks);
        const r = await pass.scsi({
          cdb: rw10(kind, op.lba, op.blocks),
          ...(write ? { direction: 'out' as const, data } : { direction: 'in' as const, length: op.blocks * BS }),
          tagAction: op.tag,
          ...(inWindow === 'stall' ? { timeoutMs: STALL_PASS_TIMEOUT_MS } : {}),
        });
        const sense = senseTriple(r.sense)?.join(',') ?? 'none';
        const what = `pass ${kind} ${op.lba}+${op.blocks} (${op.tag}${inWindow === undefined ? '' : `, ${inWindow} window`})`;
        const fault = daFault(kind, op.lba, op.blocks);
        if (r.camStatus === REQ_CMP) {
          if (fault !== undefined) problem(`${what}: GOOD over a failed block`);
          if (write) shadow.write(op.lba, data);
          else if (r.data === undefined) problem(`${what}: no data`);
          else {
            const bad = shadow.mismatch(op.lba, r.data);
            if (bad !== undefined) problem(`${what}: ${bad}`);
          }
          return;
        }
        // INFORMATION names the block only for a one-block command (the device does not say which block failed).
        const named = op.blocks === 1 ? BigInt(op.lba) : undefined;
        if (fault !== undefined && r.camStatus === ERROR_STATUS && sense === fault && r.senseData?.information === named) {
          seen.passErrors++;
          return;
        }
        // Inside a window: the timeout of a stalled command, or the reset's unit attention.
        if (inWindow === 'stall' && r.camStatus === (CMD_TIMEOUT | 0x40)) {
          seen.passTimeouts++;
          return;
        }
        if (inWindow !== undefined && r.camStatus === ERROR_STATUS && sense.startsWith('6,41,')) {
          seen.passUnitAttentions++;
          return;
        }
        problem(`${what}: status 0x${r.camStatus.toString(16)} sense ${sense}`);
        return;
      }
      case 'discard':
        await da.discard(BigInt(op.lba), op.blocks);
        shadow.forget(op.lba, op.blocks);
        return;
      case 'writeZeroes':
        shadow.forget(op.lba, op.blocks);
        await da.writeZeroes(BigInt(op.lba), op.blocks);
        shadow.zero(op.lba, op.blocks);
        return;
      case 'flush':
        await da.flush();
        return;
      case 'fault':
      case 'clearFaults':
      case 'stall':
      case 'reset':
      case 'barrier':
        throw new Error(`${op.t} is not an I/O`);
    }
  };

  const launch = async (op: Op & { readonly lba?: number; readonly blocks?: number }): Promise<void> => {
    const lba = op.lba ?? 0;
    const n = op.blocks ?? 0;
    while (!locks.tryLock(lba, n)) await barrier();
    launched++;
    seen.ops++;
    if ('tag' in op) {
      if (op.tag === 'ordered') seen.ordered++;
      if (op.tag === 'head') seen.head++;
    }
    const p = run(op)
      .catch((e: unknown) => {
        problem(`${op.t}: ${String(e)}`);
      })
      .finally(() => {
        locks.unlock(lba, n);
        settled++;
        outstanding.delete(p);
        watch.sample();
      });
    outstanding.add(p);
  };

  for (const op of ops) {
    switch (op.t) {
      case 'barrier':
        await endWindow();
        break;
      case 'fault':
        await endWindow();
        faults.push(op);
        faulty.failRange({ offset: op.lba * BS, length: op.blocks * BS, ops: [op.kind] });
        break;
      case 'clearFaults':
        await endWindow();
        faults.length = 0;
        faulty.clearFaults();
        break;
      case 'stall': {
        await endWindow();
        faulty.stall();
        const ends = new Promise((resolve) => setTimeout(resolve, op.ms)).then(() => faulty.release());
        window = { kind: 'stall', ends, resets: counts.resets, uas: counts.uas };
        break;
      }
      case 'reset': {
        await endWindow();
        const ends = resetDevice(stack).then((st) => {
          if (st !== REQ_CMP) problem(`XPT_RESET_DEV completed 0x${st.toString(16)}`);
        });
        window = { kind: 'reset', ends, resets: counts.resets, uas: counts.uas };
        break;
      }
      case 'read':
      case 'write':
      case 'passRead':
      case 'passWrite':
      case 'discard':
      case 'writeZeroes':
      case 'flush':
        await launch(op);
    }
  }
  await endWindow();
  checkIdle();
  expect(problems).toEqual([]);
  expect(settled).toBe(launched);
  expect(ledger.doubles).toBe(0);
  expect(ledger.completions).toBe(ledger.actions);
  expect(watch.violations).toEqual([]);
  expect(stack.stats(0).maxCharged).toBeLessThanOrEqual(stack.stats(0).capacity);
  faulty.clearFaults();
  expect(shadow.mismatch(0, await da.read(0n, BLOCKS))).toBeUndefined();
  await stack.close();
  expect(stack.virtio.allocator.liveCount).toBe(0);
}

describe('random da/pass sequences with faults, stalls and resets', () => {
  test(`${RUNS} runs: everything settles once, data matches the shadow, the queue ends idle`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 8, maxLength: 40, size: 'max' }), fc.boolean(), async (ops, indirect) => {
        await runSequence(ops, indirect);
      }),
      { numRuns: RUNS },
    );
    if (process.env['VTCAM_PROPERTY_RUNS'] !== undefined) console.log(`property: ${JSON.stringify(seen)}`);
    // Not vacuous: the runs met every kind of trouble (IOERR seen by da or pass, timeouts, resets, tags).
    const { daFailures, passErrors, passUnitAttentions, ...rest } = seen;
    for (const [k, v] of Object.entries({ ...rest, ioErrors: daFailures + passErrors, unitAttentions: passUnitAttentions + rest.resets })) {
      expect(v, k).toBeGreaterThan(0);
    }
  }, Math.max(60_000, RUNS * 250));
});

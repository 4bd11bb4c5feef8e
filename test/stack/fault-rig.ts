// The rig of the whole-stack fault tests: createStack over a ProbeBackend
// (sees and holds device operations) over a FaultyBackend (IOERR, stalls)
// over a MemoryBackend (resizable), with a CCB ledger and a shadow copy.

import { expect } from 'vitest';
import { createStack, type Stack, type StackOptions } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { FaultyBackend } from '../../src/virtio/device/backends/faulty.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../src/virtio/blk-driver.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../../src/virtio/blk-features.js';
import { CamError } from '../../src/cam/periph/errors.js';
import { XptFunc } from '../../src/cam/ccb.js';
import type { SenseData } from '../../src/scsi/sense.js';
import { ProbeBackend, Shadow, stamp, watchCcbs, type CcbLedger, type ProbeOp } from './helpers.js';

export const BS = 512;
export const DIRECT = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);

// CAM status words (FreeBSD cam.h), written out rather than taken from the code under test.
export const REQ_CMP = 0x01;
export const REQ_ABORTED = 0x02;
export const CMD_TIMEOUT = 0x0b;
export const SCSI_STATUS_ERROR = 0x0c;
export const DEV_QFRZN = 0x40;
export const AUTOSNS_VALID = 0x80;
export const CHECK_CONDITION = 0x02;

/** A stack over FaultyBackend over MemoryBackend, watched by a ProbeBackend, with a CCB ledger and a shadow. */
export interface Rig {
  readonly stack: Stack;
  readonly disk: MemoryBackend;
  readonly faulty: FaultyBackend;
  readonly probe: ProbeBackend;
  readonly ledger: CcbLedger;
  readonly shadow: Shadow;
}

/** A stack over `blocks` blocks; the shadow covers `shadowBlocks` (for a medium that grows). */
export async function rig(blocks: number, opts: Omit<StackOptions, 'backend'> = {}, shadowBlocks = blocks): Promise<Rig> {
  const disk = new MemoryBackend({ blocks });
  const faulty = new FaultyBackend(disk);
  const probe = new ProbeBackend(faulty);
  const stack = await createStack({ queueSize: 64, ...opts, backend: probe });
  return { stack, disk, faulty, probe, ledger: watchCcbs(stack), shadow: new Shadow(shadowBlocks, BS) };
}

/** Writes stamped data over [lba, lba + blocks) through da and records it in the shadow. */
export async function fill(r: Rig, lba: number, blocks: number, tag: number): Promise<void> {
  const data = stamp(lba, blocks, BS, tag);
  await r.stack.da(0).write(BigInt(lba), data);
  r.shadow.write(lba, data);
}

/** Backend operations of `kind` that touch block `lba`. */
export function touching(kind: ProbeOp['kind'], lba: number): (op: ProbeOp) => boolean {
  return (op) => op.kind === kind && op.offset <= lba * BS && lba * BS < op.offset + op.length;
}

/** Counts backend operations that satisfy `pred`. */
export function counter(probe: ProbeBackend, pred: (op: ProbeOp) => boolean): { readonly n: number } {
  const c = { n: 0 };
  const prev = probe.onStart;
  probe.onStart = (op) => {
    prev?.(op);
    if (pred(op)) c.n++;
  };
  return c;
}

/** The queue is idle and nothing is frozen, held or charged. */
export function expectIdle(stack: Stack): void {
  const s = stack.stats(0);
  expect({ active: s.active, queued: s.queued, held: s.held, frozen: s.frozen, simFrozen: s.simFrozen, charged: s.charged }).toEqual({
    active: 0,
    queued: 0,
    held: 0,
    frozen: 0,
    simFrozen: 0,
    charged: 0,
  });
  expect(s.maxCharged).toBeLessThanOrEqual(s.capacity);
  expect(stack.sim.activeCount).toBe(0);
  expect(stack.da(0).outstanding).toBe(0);
}

/** Sense key, ASC, ASCQ of decoded sense. */
export const triple = (s: SenseData | undefined): [number, number, number] | undefined => (s === undefined ? undefined : [s.key, s.asc, s.ascq]);

/** The CamError `p` rejects with (anything else fails the test). */
export async function camErrorOf(p: Promise<unknown>): Promise<CamError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof CamError)) throw new Error(`expected a CamError, got ${String(e)}`);
  return e;
}

/** How often the XPT hands the SIM an XPT_SCSI_IO CCB with operation code `op` (a re-dispatch after CAM_REQUEUE_REQ counts). */
export function dispatchesOf(r: Rig, op: number): { readonly n: number } {
  const c = { n: 0 };
  const sim = r.stack.sim;
  const action = sim.action.bind(sim);
  sim.action = (ccb) => {
    if (ccb.func === XptFunc.SCSI_IO && ccb.cdb[0] === op) c.n++;
    action(ccb);
  };
  return c;
}

// One virtio-blk request queue as the driver keeps it (VIRTIO 1.2 §5.2.2
// requestq, on a split virtqueue §2.7): the ring, one header (16 bytes,
// device-readable) and one status byte (device-writable) preallocated per ring
// slot (§5.2.6), the free slots, and the request() callers waiting for room.
// allocBlkQueue takes its guest memory during initialization (§3.1.1 step 7);
// the driver enables it on the transport and frees `allocations` at teardown.
// collectUsed takes the ring's used buffers (§2.7.14) for the driver's
// interrupt handler, as completions in a list linked through the slots.

import type { GuestAllocator } from './guest-allocator.js';
import { splitRingAreaSizes, type SplitRingAddrs } from './split-ring.js';
import { SplitVirtqDriver, type VirtqBuffer } from './split-ring-driver.js';
import { VirtqAlign } from './ring-layout.js';
import type { VirtioTransport } from './transport/transport.js';
import type { BlkCompletion, BlkRequest } from './blk-request.js';
import type { GuestMemory } from './guest-memory.js';
import { VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VirtioBlkReqHeader } from './blk-wire.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, hasFeature } from './blk-features.js';

/** What the driver puts in a status byte before submitting: a byte the device leaves unwritten reads as IOERR. */
export const STATUS_UNWRITTEN = 0xff;

/** A ring slot: its header and status byte, and the request occupying it. */
export interface Slot {
  readonly index: number;
  readonly header: number;
  readonly status: number;
  /** The header and status buffers as the ring takes them (the same for every request of the slot). */
  readonly headerBuffer: VirtqBuffer;
  readonly statusBuffer: VirtqBuffer;
  done: ((c: BlkCompletion) => void) | undefined;
  /** Guest memory the driver allocated for this request (a DISCARD/WRITE_ZEROES segment table), freed at completion. */
  extra: number | undefined;
  /**
   * The driver's interrupt handler collects completions before it runs them:
   * in a list linked through the slots (no array and no pair per request),
   * each slot holding its completion until it runs.
   */
  nextDone: Slot | undefined;
  completion: BlkCompletion | undefined;
  /** The slot's last `done` completion: immutable, so the next with the same status and length reuses it. */
  lastDone: BlkDone | undefined;
}

/** A completion with a status byte. */
export type BlkDone = Extract<BlkCompletion, { kind: 'done' }>;

/** A request() or enqueue() caller waiting for ring room, with a request checked before it began to wait. */
export interface Waiter {
  readonly req: BlkRequest;
  readonly done: (c: BlkCompletion) => void;
  /** request()'s reject, for a caller bug found only when the request is let in; undefined for enqueue() (`done` gets `aborted`). */
  readonly reject: ((error: unknown) => void) | undefined;
}

/** One request queue's driver-side state. */
export interface Queue {
  readonly ring: SplitVirtqDriver<Slot>;
  readonly slots: Slot[];
  readonly freeSlots: number[];
  readonly allocations: number[];
  /** Callers of request() waiting for room, in FIFO order. */
  readonly waiters: Waiter[];
  kickScheduled: boolean;
  /** Requests added since the last publish. */
  unpublished: number;
}

/**
 * Allocates queue `q` (at most `wantedSize` entries, capped by the device's
 * maximum) with the negotiated `features`: the ring areas, headers and status
 * bytes. The ring addresses are for the transport's enableQueue. A reason
 * instead when the device lacks the queue or guest memory is too small
 * (nothing stays allocated then).
 */
export function allocBlkQueue(
  transport: VirtioTransport,
  alloc: GuestAllocator,
  q: number,
  wantedSize: number,
  features: bigint,
): { readonly queue: Queue; readonly size: number; readonly addrs: SplitRingAddrs } | string {
  const max = transport.queueMaxSize(q);
  const size = Math.min(wantedSize, max);
  if (max === 0 || size < 1) return `queue ${q} does not exist on the device`;
  const sizes = splitRingAreaSizes(size);
  const allocations: number[] = [];
  const take = (len: number, align: number): number | undefined => {
    const r = alloc.alloc(len, align);
    if (r !== undefined) allocations.push(r.addr);
    return r?.addr;
  };
  const desc = take(sizes.desc, VirtqAlign.desc);
  const avail = take(sizes.avail, VirtqAlign.avail);
  const used = take(sizes.used, VirtqAlign.used);
  // Headers are 16-byte aligned so a header never straddles anything odd.
  const headers = take(size * VirtioBlkReqHeader.SIZE, 16);
  const statuses = take(size, 1);
  if (desc === undefined || avail === undefined || used === undefined || headers === undefined || statuses === undefined) {
    for (const a of allocations) alloc.free(a);
    return `guest memory too small for a ${size}-entry queue`;
  }
  const ring = new SplitVirtqDriver<Slot>(transport.memory, size, { desc, avail, used }, {
    indirect: hasFeature(features, VIRTIO_F_INDIRECT_DESC),
    eventIdx: hasFeature(features, VIRTIO_F_EVENT_IDX),
    allocator: alloc,
  });
  const slots: Slot[] = [];
  for (let i = 0; i < size; i++) {
    const header = headers + i * VirtioBlkReqHeader.SIZE;
    const status = statuses + i;
    slots.push({
      index: i,
      header,
      status,
      headerBuffer: { addr: header, len: VirtioBlkReqHeader.SIZE, write: false },
      statusBuffer: { addr: status, len: 1, write: true },
      done: undefined,
      extra: undefined,
      nextDone: undefined,
      completion: undefined,
      lastDone: undefined,
    });
  }
  const queue: Queue = { ring, slots, freeSlots: slots.map((s) => s.index).reverse(), allocations, waiters: [], kickScheduled: false, unpublished: 0 };
  return { queue, size, addrs: { desc, avail, used } };
}

/**
 * Takes every used buffer of `queue`'s ring, with interrupts off while it
 * looks and a last look after turning them back on (the race Linux
 * virtqueue_enable_cb closes); stops early when the ring breaks. Each slot's
 * completion comes from its status byte (one the device did not write or set
 * to an undefined value reads as IOERR). Returns the first slot of a list
 * linked through nextDone, in used order, or undefined when nothing was used.
 */
export function collectUsed(queue: Queue, mem: GuestMemory): Slot | undefined {
  const ring = queue.ring;
  let first: Slot | undefined;
  let last: Slot | undefined;
  do {
    ring.disableInterrupts();
    for (let slot = ring.takeUsed(); slot !== undefined; slot = ring.takeUsed()) {
      const raw = mem.readU8(slot.status) ?? STATUS_UNWRITTEN;
      const status = raw === VIRTIO_BLK_S_OK || raw === VIRTIO_BLK_S_UNSUPP ? raw : VIRTIO_BLK_S_IOERR;
      slot.completion = doneCompletion(slot, status, ring.usedLen);
      if (last === undefined) first = slot;
      else last.nextDone = slot;
      last = slot;
    }
  } while (ring.enableInterrupts() && ring.broken === undefined);
  return first;
}

/**
 * Appends `slots` to the list that starts at `first` (see collectUsed), each
 * completing as aborted with `reason`. Returns the list's first slot.
 */
export function appendAborted(first: Slot | undefined, slots: readonly Slot[], reason: string): Slot | undefined {
  let head = first;
  let last = first;
  while (last?.nextDone !== undefined) last = last.nextDone;
  for (const slot of slots) {
    slot.completion = { kind: 'aborted', reason };
    if (last === undefined) head = slot;
    else last.nextDone = slot;
    last = slot;
  }
  return head;
}

/** A `done` completion for `slot`: its last one when status and length match (completions are immutable), else a new one. */
function doneCompletion(slot: Slot, status: number, len: number): BlkDone {
  const last = slot.lastDone;
  if (last?.status === status && last.len === len) return last;
  const c: BlkDone = { kind: 'done', status, len };
  slot.lastDone = c;
  return c;
}

// The order between a set's requests that overlap, when the device serves its
// queues on more than one thread (transport worker with two or more device
// workers: VirtioTransport.queueThread). Each device thread has its own handle
// on the medium, so one thread's read and another's write of the same blocks
// run at the same time, and the read can return a logical block that is partly
// the old data and partly the new. A disk reads a logical block whole, old or
// new (the logical block is SBC-4's unit of data). A backend orders its own
// operations (the file backend's read-write-order.ts) but not those of another
// thread's handle; only the driver's thread sees every request, so the order is
// kept here: a request that overlaps an earlier one still out, where either of
// the two writes, waits until that one has been answered. Reads beside reads
// run at once. Writes wait for writes too: SharedMemoryBackend copies with
// plain stores, and two threads copying into one block at once can leave it
// mixed. DISCARD and WRITE_ZEROES write zeros, so they are writes. SAM-5
// promises no order between overlapping commands with the SIMPLE task
// attribute, so which of two goes first is the order they arrived in; nothing
// waits for a later arrival, so no stream of one kind holds the other back for
// ever. Requests that move no blocks (FLUSH, GET_ID) never wait here. A
// waiting request whose command is aborted (ABORT TASK SET, CLEAR TASK SET,
// PREEMPT AND ABORT: SAM-5 aborting commands) is answered at once, unsent, as
// a command still waiting in the device queue ends without being started, and
// so is one that arrives for a command aborted already and would wait: the
// command's abort waits only for what is on the ring (dropAborted).

import type { BlkCompletion, BlkRequest } from '../../../virtio/blk-request.js';
import type { OperationAborted } from '../../../scsi/sbc/block-command-set.js';
import { VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_WRITE_ZEROES, type DiscardSegment } from '../../../virtio/blk-wire.js';

/** Sends a request on to a queue; `then` runs once with its answer. May throw, as RequestQueues.submit does. */
export type SendRequest = (req: BlkRequest, then: (c: BlkCompletion) => void) => void;

const SECTOR = 512;

/** A block request between its arrival and its answer: the sectors [start, end) it reads or writes. */
class Tracked {
  state: 'waiting' | 'sent' | 'ended' = 'waiting';
  /** Earlier overlapping requests still out that this one waits for. */
  blockers = 0;
  /** Later requests waiting for this one; made when the first arrives. */
  waiters: Tracked[] | undefined;
  readonly req: BlkRequest;
  readonly then: (c: BlkCompletion) => void;
  readonly writes: boolean;
  readonly start: number;
  readonly end: number;
  /** A DISCARD's or WRITE_ZEROES's segments, within [start, end); checked one by one once the spans overlap. */
  readonly segments: readonly DiscardSegment[] | undefined;
  readonly answered: (c: BlkCompletion) => void;
  /** Whether the request's command has been aborted (absent: it never is). */
  aborted: OperationAborted | undefined;

  constructor(
    req: BlkRequest,
    then: (c: BlkCompletion) => void,
    span: { readonly writes: boolean; readonly start: number; readonly end: number; readonly segments?: readonly DiscardSegment[] },
    ended: (t: Tracked, c: BlkCompletion) => void,
  ) {
    this.req = req;
    this.then = then;
    this.writes = span.writes;
    this.start = span.start;
    this.end = span.end;
    this.segments = span.segments;
    this.answered = (c) => {
      ended(this, c);
    };
  }
}

/** Keeps overlapping requests of which either writes apart, in arrival order; see the file header. */
export class OverlapOrder {
  readonly #send: SendRequest;
  readonly #reads = new Set<Tracked>();
  readonly #writes = new Set<Tracked>();

  constructor(send: SendRequest) {
    this.#send = send;
  }

  /** Requests held back behind an overlapping one (for tests and stats). */
  get waiting(): number {
    let n = 0;
    for (const t of this.#reads) if (t.state === 'waiting') n++;
    for (const t of this.#writes) if (t.state === 'waiting') n++;
    return n;
  }

  /**
   * Sends `req` now, or once the earlier overlapping requests it must follow
   * have been answered; one that would wait for a command `aborted` says is
   * aborted is answered `dropped` a turn later instead. A request that moves
   * no blocks goes at once. Throws what sending throws when it goes at once.
   */
  submit(req: BlkRequest, then: (c: BlkCompletion) => void, aborted: OperationAborted | undefined, dropped: BlkCompletion): void {
    const t = tracked(req, then, this.#ended);
    if (t === undefined) {
      this.#send(req, then);
      return;
    }
    t.aborted = aborted;
    // The common case, nothing of a kind it must follow out, scans nothing.
    if (this.#writes.size > 0) this.#follow(t, this.#writes);
    if (t.writes && this.#reads.size > 0) this.#follow(t, this.#reads);
    (t.writes ? this.#writes : this.#reads).add(t);
    if (t.blockers > 0) {
      if (aborted?.() === true) this.#drop([t], dropped);
      return;
    }
    t.state = 'sent';
    try {
      this.#send(req, t.answered);
    } catch (e) {
      t.state = 'ended';
      this.#writes.delete(t);
      this.#reads.delete(t);
      throw e;
    }
  }

  /**
   * The device is being reset: every waiting request is answered `fenced` a
   * turn later and never reaches the ring (sent ones end with the reset's abort).
   */
  dropWaiting(fenced: BlkCompletion): void {
    for (const set of [this.#reads, this.#writes]) {
      for (const t of set) {
        if (t.state !== 'waiting') continue;
        t.state = 'ended';
        set.delete(t);
        queueMicrotask(() => {
          t.then(fenced);
        });
      }
    }
  }

  /**
   * Commands have been aborted: each waiting request whose command is now
   * aborted is answered `dropped` a turn later and never reaches the ring, and
   * what waited for it goes once it waits for nothing else.
   */
  dropAborted(dropped: BlkCompletion): void {
    const hit: Tracked[] = [];
    for (const set of [this.#reads, this.#writes]) for (const t of set) if (t.state === 'waiting' && t.aborted?.() === true) hit.push(t);
    if (hit.length > 0) this.#drop(hit, dropped);
  }

  /** Ends the waiting requests `hit` unsent, answered `dropped` a turn later; then releases what waited for them alone. */
  #drop(hit: readonly Tracked[], dropped: BlkCompletion): void {
    // All ended before any waiter is released: a waiter that is itself among them must not be sent.
    for (const t of hit) {
      t.state = 'ended';
      (t.writes ? this.#writes : this.#reads).delete(t);
      queueMicrotask(() => {
        t.then(dropped);
      });
    }
    for (const t of hit) if (t.waiters !== undefined) for (const w of t.waiters) if (w.state === 'waiting' && --w.blockers === 0) this.#release(w);
  }

  /** Makes `t` wait for each request in `set` that shares a sector with it. */
  #follow(t: Tracked, set: ReadonlySet<Tracked>): void {
    for (const e of set) {
      if (!overlaps(e, t)) continue;
      t.blockers++;
      (e.waiters ??= []).push(t);
    }
  }

  /** `t` was answered: the requests that waited for nothing else go now, then its caller learns the answer. */
  readonly #ended = (t: Tracked, c: BlkCompletion): void => {
    if (t.state === 'sent') {
      t.state = 'ended';
      (t.writes ? this.#writes : this.#reads).delete(t);
      if (t.waiters !== undefined) for (const w of t.waiters) if (w.state === 'waiting' && --w.blockers === 0) this.#release(w);
    }
    t.then(c);
  };

  /** Sends a request whose wait is over; a send that throws answers it `aborted` a turn later. */
  #release(t: Tracked): void {
    t.state = 'sent';
    try {
      this.#send(t.req, t.answered);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      queueMicrotask(() => {
        this.#ended(t, { kind: 'aborted', reason });
      });
    }
  }
}

/** `req`'s tracking record, or undefined for a request that moves no blocks. */
function tracked(req: BlkRequest, then: (c: BlkCompletion) => void, ended: (t: Tracked, c: BlkCompletion) => void): Tracked | undefined {
  switch (req.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
      let bytes = 0;
      for (const r of req.data) bytes += r.len;
      const start = Number(req.sector);
      return new Tracked(req, then, { writes: req.type === VIRTIO_BLK_T_OUT, start, end: start + Math.ceil(bytes / SECTOR) }, ended);
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: {
      let start = Infinity;
      let end = -Infinity;
      for (const s of req.segments) {
        const from = Number(s.sector);
        if (from < start) start = from;
        if (from + s.numSectors > end) end = from + s.numSectors;
      }
      return new Tracked(req, then, req.segments.length > 1 ? { writes: true, start, end, segments: req.segments } : { writes: true, start, end }, ended);
    }
    case VIRTIO_BLK_T_FLUSH:
    case VIRTIO_BLK_T_GET_ID:
      return undefined;
  }
}

/** Whether `a` and `b` share a sector: their spans, then the segments of a multi-segment DISCARD or WRITE_ZEROES. */
function overlaps(a: Tracked, b: Tracked): boolean {
  if (!(a.start < b.end && b.start < a.end)) return false;
  if (a.segments === undefined) return b.segments === undefined || hitsSegment(a.start, a.end, b.segments);
  for (const s of a.segments) {
    const from = Number(s.sector);
    if (b.segments === undefined ? from < b.end && b.start < from + s.numSectors : hitsSegment(from, from + s.numSectors, b.segments)) return true;
  }
  return false;
}

/** Whether [start, end) shares a sector with one of `segments`. */
function hitsSegment(start: number, end: number, segments: readonly DiscardSegment[]): boolean {
  for (const s of segments) {
    const from = Number(s.sector);
    if (from < end && start < from + s.numSectors) return true;
  }
  return false;
}

// A CCB's place in its device queue (the per-CCB part of FreeBSD's cam_ccbq):
// its queue, priority and generation while it waits, its charge, start order
// and deadline while it is active. Reached from the CCB itself (ccb.xptPriv);
// the queue that owns it is devq.ts.

import type { ScsiIoCcb } from './ccb.js';
import { CAM_UNQUEUED_INDEX, type CamqEntry } from './queue.js';
import type { DeviceQueue } from './devq.js';

/**
 * A CCB's place in its device queue, reached from the CCB itself
 * (ccb.xptPriv) and kept in the queue's active list by index: no hash table
 * per I/O (see CcbHeader.xptPriv).
 */
export class DevqEntry implements CamqEntry {
  readonly ccb: ScsiIoCcb;
  readonly queue: DeviceQueue;
  priority: number;
  generation: number;
  index = CAM_UNQUEUED_INDEX;
  /** Position in the queue's active list, or -1 while not active. */
  activeIndex = -1;
  /** Budget held while active. */
  cost = 0;
  readonly queuedAt: number;
  /** Clock time the timeout fires; +Infinity when none is armed. */
  deadline = Number.POSITIVE_INFINITY;
  /** The SIM was told about the timeout and owes the completion. */
  timedOut = false;
  /** When it last started (devq.ts nextStartSeq), for start order among active CCBs. */
  startSeq = 0;

  constructor(ccb: ScsiIoCcb, queue: DeviceQueue, priority: number, generation: number, queuedAt: number) {
    this.ccb = ccb;
    this.queue = queue;
    this.priority = priority;
    this.generation = generation;
    this.queuedAt = queuedAt;
  }
}

/** The device-queue entry of `ccb`, if it is queued or active. */
export const entryOf = (ccb: ScsiIoCcb): DevqEntry | undefined => (ccb.xptPriv instanceof DevqEntry ? ccb.xptPriv : undefined);

/** The device queue `ccb` waits in or is active from, if any. */
export function deviceQueueOf(ccb: ScsiIoCcb): DeviceQueue | undefined {
  return entryOf(ccb)?.queue;
}

/** A short description of a CCB for error messages. */
export function describeCcb(ccb: ScsiIoCcb): string {
  const op = ccb.cdb[0] ?? 0;
  return `SCSI_IO ${ccb.path.bus}:${ccb.path.target}:${ccb.path.lun} opcode ${op.toString(16).padStart(2, '0')}h`;
}

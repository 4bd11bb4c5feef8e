// One virtio-blk request as the driver takes it, and how it ends. Spec: VIRTIO
// 1.2 §5.2.6 (device operation: request types and status values). The driver
// (blk-driver.ts) turns a request into a header, its data buffers and a status
// byte; a completion is a value, never an exception.

import type { GuestRange } from './guest-memory.js';
import {
  VIRTIO_BLK_S_OK,
  type VIRTIO_BLK_T_DISCARD,
  type VIRTIO_BLK_T_FLUSH,
  type VIRTIO_BLK_T_GET_ID,
  type VIRTIO_BLK_T_IN,
  type VIRTIO_BLK_T_OUT,
  type VIRTIO_BLK_T_WRITE_ZEROES,
  type DiscardSegment,
} from './blk-wire.js';

/** One virtio-blk request. Data buffers are guest memory the caller owns until completion. */
export type BlkRequest =
  | { readonly type: typeof VIRTIO_BLK_T_IN | typeof VIRTIO_BLK_T_OUT; readonly sector: bigint; readonly data: readonly GuestRange[] }
  | { readonly type: typeof VIRTIO_BLK_T_FLUSH }
  | { readonly type: typeof VIRTIO_BLK_T_GET_ID; readonly data: GuestRange }
  | { readonly type: typeof VIRTIO_BLK_T_DISCARD | typeof VIRTIO_BLK_T_WRITE_ZEROES; readonly segments: readonly DiscardSegment[] };

/**
 * How a request ended: the device's status byte (VIRTIO_BLK_S_*; a status byte
 * the device left unwritten or set to an undefined value reads as IOERR), or
 * `aborted` when the request never got a status (device reset, ring broken).
 */
export type BlkCompletion =
  | { readonly kind: 'done'; readonly status: number; readonly len: number }
  | { readonly kind: 'aborted'; readonly reason: string };

/** Convenience for readers of a completion: did the request succeed? */
export const blkOk = (c: BlkCompletion): boolean => c.kind === 'done' && c.status === VIRTIO_BLK_S_OK;

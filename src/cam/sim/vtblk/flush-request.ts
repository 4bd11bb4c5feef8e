// The VirtioBlockCommandSet's FLUSH (VIRTIO 1.2 §5.2.6, VIRTIO_BLK_T_FLUSH):
// when the request goes to a queue. With one queue, or while the set is
// fenced, at once; with several, once every write issued before it has
// completed (flush-order.ts says why and keeps the count). It reaches the
// device through the set's request path (request-queues.ts). Not on the
// per-I/O path: READ and WRITE never come here. One held back whose command
// is aborted ends unsent, io-error, a turn later (FlushOrder.dropAborted).

import type { BlockStatus, OperationAborted } from '../../../scsi/sbc/block-command-set.js';
import type { BlkRequest } from '../../../virtio/blk-request.js';
import { VIRTIO_BLK_T_FLUSH } from '../../../virtio/blk-wire.js';
import { blockStatus } from './block-status.js';
import type { FlushOrder } from './flush-order.js';
import type { RequestQueues } from './request-queues.js';

const FLUSH_REQUEST: BlkRequest = { type: VIRTIO_BLK_T_FLUSH };

/**
 * Issues a FLUSH on `queues` now when no write is outstanding (or `queueCount`
 * is 1), else once every write issued so far has completed
 * (FlushOrder.holdFlush), or never when its command is aborted while it waits
 * (`aborted`, asked now and at FlushOrder.dropAborted); `done` gets its status, once.
 */
export function startFlush(queues: RequestQueues, order: FlushOrder, queueCount: number, done: (s: BlockStatus) => void, aborted?: OperationAborted): void {
  const issue = (): void => {
    queues.submit(FLUSH_REQUEST, (c) => {
      done(blockStatus(c));
    });
  };
  // Fenced: answered at once by submit(), like every other operation. One queue: see flush-order.ts.
  if (queues.fenced || queueCount === 1) {
    issue();
    return;
  }
  const drop = (): void => {
    queueMicrotask(() => {
      done('io-error');
    });
  };
  if (!order.holdFlush({ issue, aborted, drop })) issue();
  else if (aborted?.() === true) order.dropAborted();
}

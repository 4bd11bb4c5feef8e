// The one mapping from a virtio-blk completion (VIRTIO 1.2 §5.2.6 status
// values) to the status of a BlockCommandSet operation:
//   VIRTIO_BLK_S_OK → ok; VIRTIO_BLK_S_UNSUPP → unsupported; IOERR, a status
//   the device never wrote, and `aborted` (device reset, ring broken) → io-error.
// The SCSI sense for each comes from the emulator's BLOCK_ERROR_TABLE; the SIM
// overrides the outcome of CCBs it requeues or fails during recovery.

import type { BlockStatus } from '../../../scsi/sbc/block-command-set.js';
import type { BlkCompletion } from '../../../virtio/blk-request.js';
import { VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP } from '../../../virtio/blk-wire.js';

/** The one mapping from a virtio-blk completion to a block status. */
export function blockStatus(c: BlkCompletion): BlockStatus {
  if (c.kind === 'aborted') return 'io-error';
  if (c.status === VIRTIO_BLK_S_OK) return 'ok';
  return c.status === VIRTIO_BLK_S_UNSUPP ? 'unsupported' : 'io-error';
}

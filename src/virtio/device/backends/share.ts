// Opening a backend another thread shared: the device worker's side of
// BlockBackend.share(). Each kind names the class that opens it; the opener gets
// its own handle on the same medium (the same SharedArrayBuffers, or its own
// descriptor on the same image file), never the sharing thread's object.

import type { BackendShare, BlockBackend } from '../backend.js';
import { FileBackend, type FileBackendError } from './file.js';
import { SharedMemoryBackend } from './shared-memory.js';

/**
 * A backend on the medium `share` describes, for this thread. An image file is
 * opened with blocking I/O (FileBackend `io: 'sync'`, for a device worker),
 * never created or resized, and refused with `ESTALE` when it is no longer the
 * file that was shared or its size changed. A malformed shared-memory share is
 * a caller bug and throws RangeError.
 */
export function openSharedBackend(share: BackendShare): Promise<BlockBackend | FileBackendError> {
  switch (share.kind) {
    case 'shared-memory':
      return Promise.resolve(new SharedMemoryBackend(share));
    case 'file':
      return FileBackend.openShare(share);
  }
}

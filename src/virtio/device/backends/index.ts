// Block backends behind the BlockBackend interface: a sparse RAM disk, the same
// in shared memory for device worker threads, an image file, a
// fault-injecting wrapper for tests and a bandwidth-limiting one; plus opening
// a backend another thread shared.

export { MemoryBackend, type MemoryBackendOptions } from './memory.js';
export { SharedMemoryBackend, type SharedMemoryBackendOptions, type SharedMemoryShare } from './shared-memory.js';
export {
  FileBackend,
  FileBackendErrorCode,
  type FileBackendError,
  type FileBackendIo,
  type FileBackendOpenOptions,
  type FileShare,
} from './file.js';
export { openSharedBackend } from './share.js';
export { DEFAULT_SYNC_GATE, SyncGate, type SyncGateClose, type SyncGateOptions, type SyncGateState } from './sync-gate.js';
export {
  FaultyBackend,
  type FaultSpec,
  type FaultyBackendOptions,
  type FaultyOp,
  type FaultyStats,
} from './faulty.js';
export { ThrottledBackend, type ThrottledBackendOptions } from './throttled.js';

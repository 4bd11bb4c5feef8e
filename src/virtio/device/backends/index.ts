// Block backends behind the BlockBackend interface: a sparse RAM disk, an image
// file, and a fault-injecting wrapper for tests.

export { MemoryBackend, type MemoryBackendOptions } from './memory.js';
export {
  FileBackend,
  FileBackendErrorCode,
  type FileBackendError,
  type FileBackendOpenOptions,
} from './file.js';
export {
  FaultyBackend,
  type FaultSpec,
  type FaultyBackendOptions,
  type FaultyOp,
  type FaultyStats,
} from './faulty.js';

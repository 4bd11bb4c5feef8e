// Transport `worker`: a device worker's backend, with each blocking call
// (readSync, writeSync: pread(2)/pwrite(2) on an image, which FileBackend
// openShare forces) bracketed by the worker's "in a backend call since" word
// (worker-signals.ts). The heartbeat only moves between ring passes, so
// without the word the watchdog could not tell a worker waiting on a slow
// medium from a hung one. The asynchronous operations need no mark: the
// worker's loop keeps beating while they run.

import type { AllocationExtent, BackendStatus, BlockBackend } from '../device/backend.js';
import type { WorkerSignals } from './worker-signals.js';

type SyncIo = (offset: number, buf: Uint8Array, at: number, length: number) => BackendStatus;

/** `inner` as device worker `w` uses it: the same medium, its blocking calls marked in `signals`. */
export class MarkedBackend implements BlockBackend {
  readonly size: number;
  readonly blockSize?: 512 | 4096;
  readonly readOnly: boolean;
  readonly readSync?: SyncIo;
  readonly writeSync?: SyncIo;
  readonly syncReady?: () => boolean;
  readonly allocation?: (offset: number, length: number) => Promise<readonly AllocationExtent[] | BackendStatus>;
  readonly #inner: BlockBackend;
  readonly #signals: WorkerSignals;
  readonly #w: number;
  /** Fault injection (WorkerFault slowBackendMs): what the next blocking call waits, inside its mark. */
  #slowMs = 0;
  readonly #sleep = new Int32Array(new SharedArrayBuffer(4));

  constructor(inner: BlockBackend, signals: WorkerSignals, w: number) {
    this.#inner = inner;
    this.#signals = signals;
    this.#w = w;
    this.size = inner.size;
    if (inner.blockSize !== undefined) this.blockSize = inner.blockSize;
    this.readOnly = inner.readOnly;
    if (inner.readSync !== undefined) this.readSync = this.#marked(inner.readSync.bind(inner));
    if (inner.writeSync !== undefined) this.writeSync = this.#marked(inner.writeSync.bind(inner));
    if (inner.syncReady !== undefined) this.syncReady = inner.syncReady.bind(inner);
    if (inner.allocation !== undefined) this.allocation = inner.allocation.bind(inner);
  }

  /** Makes the next blocking call wait `ms` first (a test's slow disk). */
  slowNext(ms: number): void {
    this.#slowMs = ms;
  }

  #marked(io: SyncIo): SyncIo {
    return (offset, buf, at, length) => {
      this.#signals.enterBackend(this.#w);
      try {
        if (this.#slowMs > 0) {
          Atomics.wait(this.#sleep, 0, 0, this.#slowMs);
          this.#slowMs = 0;
        }
        return io(offset, buf, at, length);
      } finally {
        this.#signals.leaveBackend(this.#w);
      }
    };
  }

  read(offset: number, dst: Uint8Array): Promise<BackendStatus> {
    return this.#inner.read(offset, dst);
  }

  write(offset: number, src: Uint8Array): Promise<BackendStatus> {
    return this.#inner.write(offset, src);
  }

  flush(): Promise<BackendStatus> {
    return this.#inner.flush();
  }

  discard(offset: number, length: number): Promise<BackendStatus> {
    return this.#inner.discard(offset, length);
  }

  writeZeroes(offset: number, length: number, unmap: boolean): Promise<BackendStatus> {
    return this.#inner.writeZeroes(offset, length, unmap);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

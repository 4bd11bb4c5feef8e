// A BlockCommandSet for the data-command tests: it delegates to a
// MemoryBlockSet, records when each read/write/flush/discard starts and
// ends (and the abort check each was given), can hold an operation until the test lets it go (a gate) or delay it
// (a timer), and can corrupt what a read returns (to provoke a miscompare
// after a write).

import type { BlockCommandSet, BlockGeometry, BlockRange, BlockStatus, OperationAborted } from '../../../src/scsi/sbc/block-command-set.js';
import { MemoryBlockSet, type MemoryBlockSetOptions } from '../../../src/scsi/sbc/memory-block-set.js';

export type HookedOp = 'read' | 'write' | 'flush' | 'discard';

export interface HookedEvent {
  readonly op: HookedOp;
  readonly phase: 'start' | 'end';
  readonly lba: bigint;
  readonly blocks: number;
  /** The abort check the operation was given (OperationAborted), if any. */
  readonly aborted: OperationAborted | undefined;
}

export class HookedBlockSet implements BlockCommandSet {
  readonly inner: MemoryBlockSet;
  readonly events: HookedEvent[] = [];
  /** Awaited after `start` is logged and before the inner set is called. */
  before: ((op: HookedOp, lba: bigint, blocks: number) => Promise<void> | undefined) | undefined;
  /** May change the bytes a successful read returns. */
  afterRead: ((lba: bigint, data: Uint8Array) => void) | undefined;

  constructor(opts: Partial<MemoryBlockSetOptions> = {}) {
    this.inner = new MemoryBlockSet({ blocks: 1024, ...opts });
  }

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  geometry(): BlockGeometry {
    return this.inner.geometry();
  }

  writeCacheEnabled(): boolean {
    return this.inner.writeCacheEnabled();
  }

  setWriteCache(enabled: boolean): Promise<BlockStatus> {
    return this.inner.setWriteCache(enabled);
  }

  async read(lba: bigint, into: Uint8Array, aborted?: OperationAborted): Promise<BlockStatus> {
    const blocks = into.length / this.inner.geometry().blockSize;
    return this.#wrap('read', lba, blocks, aborted, async () => {
      const s = await this.inner.read(lba, into);
      if (s === 'ok') this.afterRead?.(lba, into);
      return s;
    });
  }

  write(lba: bigint, data: Uint8Array, aborted?: OperationAborted): Promise<BlockStatus> {
    // Copy now: the caller's buffer must not be what lands if it changes while held.
    const copy = Uint8Array.from(data);
    return this.#wrap('write', lba, copy.length / this.inner.geometry().blockSize, aborted, () => this.inner.write(lba, copy));
  }

  flush(): Promise<BlockStatus> {
    return this.#wrap('flush', 0n, 0, undefined, () => this.inner.flush());
  }

  /** Logged from the first range's LBA over the blocks of all ranges. */
  discard(ranges: readonly BlockRange[], aborted?: OperationAborted): Promise<BlockStatus> {
    const blocks = ranges.reduce((n, r) => n + r.blocks, 0);
    return this.#wrap('discard', ranges[0]?.lba ?? 0n, blocks, aborted, () => this.inner.discard(ranges));
  }

  writeZeroes(range: BlockRange, unmap: boolean): Promise<BlockStatus> {
    return this.inner.writeZeroes(range, unmap);
  }

  getId(): Promise<string | undefined> {
    return this.inner.getId();
  }

  /** The events for `op`, as "phase lba+blocks" strings. */
  trace(op?: HookedOp): string[] {
    return this.events.filter((e) => op === undefined || e.op === op).map((e) => `${e.op} ${e.phase} ${e.lba}+${e.blocks}`);
  }

  async #wrap(op: HookedOp, lba: bigint, blocks: number, aborted: OperationAborted | undefined, f: () => Promise<BlockStatus>): Promise<BlockStatus> {
    this.events.push({ op, phase: 'start', lba, blocks, aborted });
    const wait = this.before?.(op, lba, blocks);
    if (wait !== undefined) await wait;
    const s = await f();
    this.events.push({ op, phase: 'end', lba, blocks, aborted });
    return s;
  }
}

/** A promise with its resolver, for gates. */
export function gate(): { readonly opened: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { opened, open };
}

/** Lets queued promise callbacks and one macrotask turn run. */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// An in-memory BlockCommandSet: sparse (a block that was never written or was
// deallocated reads as zeros and is reported unmapped), with every capability
// optional and a fault hook, so the SBC emulator can be exercised without
// virtio and tests can fail any operation on any LBA.

import type { LogicalBlockLength } from '../device-info.js';
import type {
  BlockCommandSet,
  BlockFailure,
  BlockGeometry,
  BlockMapping,
  BlockRange,
  BlockStatus,
  DiscardLimits,
  WriteZeroesLimits,
} from './block-command-set.js';

/** The operations a fault hook can fail. */
export type MemoryBlockOp = 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes' | 'write-cache' | 'mapping';

/** One call the set received (for tests that check what the emulator asked for). */
export interface MemoryBlockCall {
  readonly op: MemoryBlockOp;
  readonly lba?: bigint;
  readonly blocks?: number;
  readonly unmap?: boolean;
}

export interface MemoryBlockSetOptions {
  /** Capacity in logical blocks (≥ 1). */
  readonly blocks: number | bigint;
  /** Default 512. */
  readonly blockSize?: LogicalBlockLength;
  readonly physicalBlockExp?: number;
  readonly lowestAlignedLba?: number;
  readonly readOnly?: boolean;
  /** Initial write-cache state; default true. */
  readonly writeCache?: boolean;
  /** Whether setWriteCache works (virtio CONFIG_WCE); default true. */
  readonly writeCacheChangeable?: boolean;
  /** Discard capability; default 65536 blocks × 64 segments, zeroes. `false` for none. */
  readonly discard?: DiscardLimits | false;
  /** Write-zeroes capability; default 65536 blocks, may unmap. `false` for none. */
  readonly writeZeroes?: WriteZeroesLimits | false;
  /** FLUSH available; default true. */
  readonly flush?: boolean;
  /** Device transfer limit in blocks; default 0 (none). */
  readonly maxTransferBlocks?: number;
  readonly optimalTransferBlocks?: number;
  /** GET_ID answer; default `MEM0001`. */
  readonly serial?: string;
  /** Offer the allocation query; default true. */
  readonly mapping?: boolean;
  /** Log every call in `calls` (default true); off for long runs such as benchmarks, where the log would grow without bound. */
  readonly record?: boolean;
  /** Called before each operation; a failure status makes it fail without effect. */
  readonly fault?: (op: MemoryBlockOp, lba: bigint | undefined, blocks: number | undefined) => BlockFailure | undefined;
}

const DEFAULT_DISCARD: DiscardLimits = { maxBlocks: 65536, maxSegments: 64, granularity: 0, zeroes: true };
const DEFAULT_WRITE_ZEROES: WriteZeroesLimits = { maxBlocks: 65536, mayUnmap: true };

/** A sparse in-memory block device. */
export class MemoryBlockSet implements BlockCommandSet {
  readonly readOnly: boolean;
  readonly calls: MemoryBlockCall[] = [];
  #geometry: BlockGeometry;
  #wce: boolean;
  readonly #blocks = new Map<bigint, Uint8Array>();
  readonly #opts: MemoryBlockSetOptions;

  constructor(opts: MemoryBlockSetOptions) {
    const blocks = BigInt(opts.blocks);
    if (blocks < 1n) throw new RangeError(`blocks must be ≥ 1, got ${blocks}`);
    this.#opts = opts;
    this.readOnly = opts.readOnly ?? false;
    this.#wce = opts.writeCache ?? true;
    const discard = opts.discard === false ? undefined : (opts.discard ?? DEFAULT_DISCARD);
    const writeZeroes = opts.writeZeroes === false ? undefined : (opts.writeZeroes ?? DEFAULT_WRITE_ZEROES);
    this.#geometry = {
      blocks,
      blockSize: opts.blockSize ?? 512,
      physicalBlockExp: opts.physicalBlockExp ?? 0,
      lowestAlignedLba: opts.lowestAlignedLba ?? 0,
      maxTransferBlocks: opts.maxTransferBlocks ?? 0,
      optimalTransferBlocks: opts.optimalTransferBlocks ?? 0,
      flush: opts.flush ?? true,
      writeCacheChangeable: opts.writeCacheChangeable ?? true,
      ...(discard === undefined ? {} : { discard }),
      ...(writeZeroes === undefined ? {} : { writeZeroes }),
    };
    if (opts.mapping !== false) this.mapping = (lba, maxBlocks) => this.#mapping(lba, maxBlocks);
  }

  geometry(): BlockGeometry {
    return this.#geometry;
  }

  /** Changes the capacity, as a virtio config change would (call SbcEmulator.refreshGeometry after). */
  resize(blocks: bigint): void {
    if (blocks < 1n) throw new RangeError(`blocks must be ≥ 1, got ${blocks}`);
    this.#geometry = { ...this.#geometry, blocks };
    for (const lba of this.#blocks.keys()) if (lba >= blocks) this.#blocks.delete(lba);
  }

  /** Changes the write-cache state from the device side (a virtio writeback config change). */
  deviceSetsWriteCache(enabled: boolean): void {
    this.#wce = enabled;
  }

  writeCacheEnabled(): boolean {
    return this.#wce;
  }

  /** Number of blocks holding data (mapped). */
  get mappedBlocks(): number {
    return this.#blocks.size;
  }

  /** A copy of one block, for tests. */
  peek(lba: bigint): Uint8Array {
    return Uint8Array.from(this.#blocks.get(lba) ?? new Uint8Array(this.#geometry.blockSize));
  }

  setWriteCache(enabled: boolean): Promise<BlockStatus> {
    const f = this.#begin({ op: 'write-cache' });
    if (f !== undefined) return Promise.resolve(f);
    if (this.#opts.writeCacheChangeable === false) return Promise.resolve('unsupported');
    this.#wce = enabled;
    return Promise.resolve('ok');
  }

  read(lba: bigint, into: Uint8Array): Promise<BlockStatus> {
    const n = this.#count(lba, into.length);
    const f = this.#begin({ op: 'read', lba, blocks: n });
    if (f !== undefined) return Promise.resolve(f);
    const bs = this.#geometry.blockSize;
    for (let i = 0; i < n; i++) {
      const b = this.#blocks.get(lba + BigInt(i));
      if (b === undefined) into.fill(0, i * bs, (i + 1) * bs);
      else into.set(b, i * bs);
    }
    return Promise.resolve('ok');
  }

  write(lba: bigint, data: Uint8Array): Promise<BlockStatus> {
    const n = this.#count(lba, data.length);
    const f = this.#begin({ op: 'write', lba, blocks: n });
    if (f !== undefined) return Promise.resolve(f);
    if (this.readOnly) return Promise.resolve('io-error');
    const bs = this.#geometry.blockSize;
    for (let i = 0; i < n; i++) this.#blocks.set(lba + BigInt(i), data.slice(i * bs, (i + 1) * bs));
    return Promise.resolve('ok');
  }

  flush(): Promise<BlockStatus> {
    const f = this.#begin({ op: 'flush' });
    if (f !== undefined) return Promise.resolve(f);
    return Promise.resolve(this.#geometry.flush ? 'ok' : 'unsupported');
  }

  discard(ranges: readonly BlockRange[]): Promise<BlockStatus> {
    const d = this.#geometry.discard;
    if (d === undefined) return Promise.resolve('unsupported');
    if (ranges.length > d.maxSegments) throw new RangeError(`discard: ${ranges.length} segments, limit ${d.maxSegments}`);
    for (const r of ranges) {
      if (r.blocks > d.maxBlocks) throw new RangeError(`discard: ${r.blocks} blocks in one segment, limit ${d.maxBlocks}`);
      this.#count(r.lba, r.blocks * this.#geometry.blockSize);
    }
    for (const r of ranges) {
      const f = this.#begin({ op: 'discard', lba: r.lba, blocks: r.blocks });
      if (f !== undefined) return Promise.resolve(f);
    }
    if (this.readOnly) return Promise.resolve('io-error');
    for (const r of ranges) for (let i = 0n; i < BigInt(r.blocks); i++) this.#blocks.delete(r.lba + i);
    return Promise.resolve('ok');
  }

  writeZeroes(range: BlockRange, unmap: boolean): Promise<BlockStatus> {
    const wz = this.#geometry.writeZeroes;
    if (wz === undefined) return Promise.resolve('unsupported');
    if (range.blocks > wz.maxBlocks) throw new RangeError(`writeZeroes: ${range.blocks} blocks, limit ${wz.maxBlocks}`);
    this.#count(range.lba, range.blocks * this.#geometry.blockSize);
    const f = this.#begin({ op: 'write-zeroes', lba: range.lba, blocks: range.blocks, unmap });
    if (f !== undefined) return Promise.resolve(f);
    if (this.readOnly) return Promise.resolve('io-error');
    const zero = new Uint8Array(this.#geometry.blockSize);
    for (let i = 0n; i < BigInt(range.blocks); i++) {
      if (unmap && wz.mayUnmap) this.#blocks.delete(range.lba + i);
      else this.#blocks.set(range.lba + i, zero.slice());
    }
    return Promise.resolve('ok');
  }

  getId(): Promise<string | undefined> {
    return Promise.resolve(this.#opts.serial ?? 'MEM0001');
  }

  readonly mapping?: (lba: bigint, maxBlocks: number) => Promise<BlockMapping | BlockFailure>;

  #mapping(lba: bigint, maxBlocks: number): Promise<BlockMapping | BlockFailure> {
    this.#count(lba, this.#geometry.blockSize);
    const f = this.#begin({ op: 'mapping', lba, blocks: maxBlocks });
    if (f !== undefined) return Promise.resolve(f);
    const mapped = this.#blocks.has(lba);
    // The run ends at the capacity even when maxBlocks reaches past it.
    const last = lba + BigInt(maxBlocks);
    let end = last < this.#geometry.blocks ? last : this.#geometry.blocks;
    if (mapped) {
      let at = lba + 1n;
      while (at < end && this.#blocks.has(at)) at++;
      end = at;
    } else {
      for (const k of this.#blocks.keys()) if (k > lba && k < end) end = k;
    }
    return Promise.resolve({ mapped, blocks: Number(end - lba) });
  }

  /** Blocks in `bytes`; throws (a caller bug) on a partial block or a range past the capacity. */
  #count(lba: bigint, bytes: number): number {
    const bs = this.#geometry.blockSize;
    if (bytes % bs !== 0) throw new RangeError(`${bytes} bytes is not a whole number of ${bs}-byte blocks`);
    const n = bytes / bs;
    if (lba < 0n || lba + BigInt(n) > this.#geometry.blocks) throw new RangeError(`blocks ${lba}+${n} outside 0..${this.#geometry.blocks}`);
    return n;
  }

  #begin(call: MemoryBlockCall): BlockFailure | undefined {
    if (this.#opts.record !== false) this.calls.push(call);
    return this.#opts.fault?.(call.op, call.lba, call.blocks);
  }
}

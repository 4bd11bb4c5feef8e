// Guest memory: the address space the driver and the device share.
// Spec: VIRTIO 1.2 §2.7 — rings and buffers are little-endian guest-physical memory.
//
// Every access is bounds-checked. An access outside the memory returns an error
// value (`undefined` for reads, `false` for writes) — never a silent wrap and
// never an exception, because the addresses come from an untrusted peer.

/** A value that does not fit its field is the caller's bug, not a wrap (STYLE §6). */
function checkValue(value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`value ${value} does not fit in 0..${max}`);
}

/** A guest-physical address range. */
export interface GuestRange {
  readonly addr: number;
  readonly len: number;
}

/** Guest memory over an ArrayBuffer or a SharedArrayBuffer (for a device in a worker). */
export class GuestMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  constructor(buffer: ArrayBuffer | SharedArrayBuffer) {
    this.buffer = buffer;
    this.size = buffer.byteLength;
    this.bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
  }

  /** Allocates fresh zeroed memory; `shared` selects a SharedArrayBuffer. */
  static create(size: number, shared = false): GuestMemory {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`guest memory size must be a positive integer, got ${size}`);
    return new GuestMemory(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
  }

  get shared(): boolean {
    return typeof SharedArrayBuffer !== 'undefined' && this.buffer instanceof SharedArrayBuffer;
  }

  /** True when [addr, addr+len) lies inside the memory (len 0 needs addr ≤ size). */
  contains(addr: number, len: number): boolean {
    return Number.isSafeInteger(addr) && Number.isSafeInteger(len) && addr >= 0 && len >= 0 && addr + len <= this.size;
  }

  readU8(addr: number): number | undefined {
    return this.contains(addr, 1) ? this.#view.getUint8(addr) : undefined;
  }

  readU16(addr: number): number | undefined {
    return this.contains(addr, 2) ? this.#view.getUint16(addr, true) : undefined;
  }

  readU32(addr: number): number | undefined {
    return this.contains(addr, 4) ? this.#view.getUint32(addr, true) : undefined;
  }

  readU64(addr: number): bigint | undefined {
    return this.contains(addr, 8) ? this.#view.getBigUint64(addr, true) : undefined;
  }

  writeU8(addr: number, value: number): boolean {
    checkValue(value, 0xff);
    if (!this.contains(addr, 1)) return false;
    this.#view.setUint8(addr, value);
    return true;
  }

  writeU16(addr: number, value: number): boolean {
    checkValue(value, 0xffff);
    if (!this.contains(addr, 2)) return false;
    this.#view.setUint16(addr, value, true);
    return true;
  }

  writeU32(addr: number, value: number): boolean {
    checkValue(value, 0xffff_ffff);
    if (!this.contains(addr, 4)) return false;
    this.#view.setUint32(addr, value, true);
    return true;
  }

  writeU64(addr: number, value: bigint): boolean {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`value ${value} does not fit in a u64`);
    if (!this.contains(addr, 8)) return false;
    this.#view.setBigUint64(addr, value, true);
    return true;
  }

  /** A zero-copy view of [addr, addr+len), or undefined when it is outside the memory. */
  view(addr: number, len: number): Uint8Array | undefined {
    return this.contains(addr, len) ? this.bytes.subarray(addr, addr + len) : undefined;
  }

  /** Copies `src` into guest memory at `addr`; false (and nothing written) when it does not fit. */
  copyIn(addr: number, src: Uint8Array): boolean {
    if (!this.contains(addr, src.length)) return false;
    this.bytes.set(src, addr);
    return true;
  }

  /** Copies [addr, addr+dst.length) out into `dst`; false (and `dst` untouched) when outside. */
  copyOut(addr: number, dst: Uint8Array): boolean {
    if (!this.contains(addr, dst.length)) return false;
    // A view made straight over the buffer costs less than subarray's (the SIM copies every READ out here).
    dst.set(new Uint8Array(this.buffer, addr, dst.length));
    return true;
  }

  /** Fills [addr, addr+len) with `value`; false when outside. */
  fill(addr: number, len: number, value = 0): boolean {
    if (!this.contains(addr, len)) return false;
    this.bytes.fill(value, addr, addr + len);
    return true;
  }
}

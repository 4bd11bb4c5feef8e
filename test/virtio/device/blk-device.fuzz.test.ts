// Property tests for the virtio-blk device model against random chains
// (VIRTIO 1.2 §2.7.4–§2.7.5 descriptors, §5.2.6 requests, §2.1.2 NEEDS_RESET):
// the device never throws, never writes guest memory outside the device-writable
// buffers of the chains it was given (plus the used ring), and answers every
// chain with a status byte (OK only for a chain that happens to be a valid
// request) or sets DEVICE_NEEDS_RESET; after a run without NEEDS_RESET a
// well-formed READ on the same rig still completes OK.
//
// The oracle below is written from the spec and the device's error table, not
// from the ring walker under test: it re-walks each chain over a snapshot of
// guest memory taken before the doorbell. Seeds are printed by fast-check on
// failure; replay with fc.assert(..., { seed, path }).

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { rawRig, until, type RawRig } from '../harness.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import type { BackendStatus, BlockBackend } from '../../../src/virtio/device/backend.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, featureMask } from '../../../src/virtio/blk-features.js';

// Spec values written out (VIRTIO 1.2 §2.7.5, §5.2.6, §2.1), not imported, so a wrong constant fails here.
const F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;
const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13;
const S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
const NEEDS_RESET = 64;

const MEM = 0x10000; // guest memory
const SECTORS = 64; // backend capacity (512-byte sectors)
const TURNS = 300; // event-loop turns a request may take
const FOLLOW_SECTOR = 5;
const U64_MAX = 2n ** 64n - 1n;

// ---- rig ----

interface RigConfig {
  readonly qsz: number;
  readonly indirect: boolean;
  readonly eventIdx: boolean;
  readonly noise: number;
}

interface Rig {
  readonly rig: RawRig;
  readonly disk: MemoryBackend;
  /** Exceptions a backend call threw (the device must check ranges first, so any is a bug). */
  readonly thrown: unknown[];
  readonly qsz: number;
  readonly indirect: boolean;
  /** End of the three ring areas, which sit at the start of memory. */
  readonly ringEnd: number;
  readonly usedArea: readonly [number, number];
  readonly follow: { readonly hdr: number; readonly data: number; readonly status: number };
  alloc(len: number): number;
}

/** A backend that records exceptions (a synchronous throw would otherwise become IOERR). */
function spied(inner: MemoryBackend, thrown: unknown[]): BlockBackend {
  const guard = <A extends unknown[]>(op: (...a: A) => Promise<BackendStatus>) => (...a: A): Promise<BackendStatus> => {
    try {
      return op(...a).catch((e: unknown) => {
        thrown.push(e);
        throw e;
      });
    } catch (e) {
      thrown.push(e);
      throw e;
    }
  };
  return {
    size: inner.size,
    readOnly: inner.readOnly,
    read: guard((o: number, d: Uint8Array) => inner.read(o, d)),
    write: guard((o: number, s: Uint8Array) => inner.write(o, s)),
    flush: guard(() => inner.flush()),
    discard: guard((o: number, l: number) => inner.discard(o, l)),
    writeZeroes: guard((o: number, l: number, u: boolean) => inner.writeZeroes(o, l, u)),
    close: () => inner.close(),
  };
}

function makeRig(cfg: RigConfig): Rig {
  const disk = new MemoryBackend({ blocks: SECTORS });
  const thrown: unknown[] = [];
  let driverFeatures = ~0n;
  if (!cfg.indirect) driverFeatures &= ~featureMask(VIRTIO_F_INDIRECT_DESC);
  if (!cfg.eventIdx) driverFeatures &= ~featureMask(VIRTIO_F_EVENT_IDX);
  const rig = rawRig({ backend: spied(disk, thrown), qsz: cfg.qsz, memSize: MEM, driverFeatures });
  const usedEnd = rig.addrs.used + 6 + 8 * cfg.qsz;
  const alloc = (len: number): number => rig.buf(len).addr;
  // Background noise everywhere but the rings, so a stray write of zeros shows.
  let x = cfg.noise | 1;
  for (let i = usedEnd; i < MEM; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    rig.mem.bytes[i] = x & 0xff;
  }
  const follow = { hdr: alloc(16), data: alloc(512), status: alloc(1) };
  return { rig, disk, thrown, qsz: cfg.qsz, indirect: cfg.indirect, ringEnd: usedEnd, usedArea: [rig.addrs.used, usedEnd], follow, alloc };
}

function putDesc(mem: Uint8Array, at: number, d: RawDesc): void {
  const v = new DataView(mem.buffer, mem.byteOffset);
  v.setBigUint64(at, d.addr, true);
  v.setUint32(at + 8, d.len, true);
  v.setUint16(at + 12, d.flags, true);
  v.setUint16(at + 14, d.next, true);
}

/** struct virtio_blk_req header, byte by byte: le32 type, le32 reserved, le64 sector. */
function putHeader(mem: Uint8Array, at: number, type: number, sector: bigint): void {
  const v = new DataView(mem.buffer, mem.byteOffset);
  v.setUint32(at, type, true);
  v.setUint32(at + 4, 0, true);
  v.setBigUint64(at + 8, sector, true);
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const needsReset = (r: Rig): boolean => (r.rig.dev.getStatus() & NEEDS_RESET) !== 0;

/** Waits for `cond`, then until no backend operation is pending and the used ring is published. */
async function settle(r: Rig, cond: () => boolean): Promise<void> {
  await until(cond, TURNS);
  await until(() => r.rig.dev.inflight === 0, TURNS);
  for (let i = 0; i < 3; i++) await turn();
}

/** Ranges [from, to) into a byte mask over guest memory. */
function mask(ranges: readonly (readonly [number, number])[]): Uint8Array {
  const m = new Uint8Array(MEM);
  for (const [from, to] of ranges) m.fill(1, Math.max(0, from), Math.min(MEM, to));
  return m;
}

/** Guest addresses that changed outside `allowed` (first few, for the message). */
function strayWrites(before: Uint8Array, after: Uint8Array, allowed: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < MEM && out.length < 8; i++) if (before[i] !== after[i] && allowed[i] === 0) out.push(i);
  return out;
}

/** A well-formed READ (header, 512-byte data-in, status) still completes OK with the disk's bytes. */
async function followUp(r: Rig): Promise<void> {
  const { rig, follow } = r;
  const want = new Uint8Array(512);
  await r.disk.read(FOLLOW_SECTOR * 512, want);
  putHeader(rig.mem.bytes, follow.hdr, T_IN, BigInt(FOLLOW_SECTOR));
  rig.mem.fill(follow.data, 512, 0xcc);
  rig.mem.fill(follow.status, 1, 0xff);
  const slot = rig.used(0).idx;
  expect(() => {
    rig.forge([
      { index: 0, addr: follow.hdr, len: 16, flags: F_NEXT, next: 1 },
      { index: 1, addr: follow.data, len: 512, flags: F_NEXT | F_WRITE, next: 2 },
      { index: 2, addr: follow.status, len: 1, flags: F_WRITE, next: 0 },
    ], 0);
  }).not.toThrow();
  await settle(r, () => rig.used(0).idx !== slot || needsReset(r));
  expect(needsReset(r), r.rig.dev.needsResetReason).toBe(false);
  expect(rig.used(slot)).toEqual({ idx: (slot + 1) & 0xffff, id: 0, len: 513 });
  expect(rig.mem.readU8(follow.status)).toBe(S_OK);
  expect(Buffer.from(rig.mem.view(follow.data, 512) ?? []).equals(Buffer.from(want))).toBe(true);
}

// ---- the oracle: a chain walk written from §2.7.5 ----

interface RawDesc { readonly addr: bigint; readonly len: number; readonly flags: number; readonly next: number }
interface Buf { readonly addr: bigint; readonly len: number; readonly write: boolean }
type Walk = { readonly reset: string } | { readonly bufs: readonly Buf[]; readonly malformed: string | undefined };

const inside = (addr: bigint, len: number): boolean => addr + BigInt(len) <= BigInt(MEM);

function readDesc(v: DataView, at: number): RawDesc {
  return { addr: v.getBigUint64(at, true), len: v.getUint32(at + 8, true), flags: v.getUint16(at + 12, true), next: v.getUint16(at + 14, true) };
}

/**
 * The spec's chain walk (§2.7.5.3): zero or more direct descriptors, optionally
 * ending in one indirect descriptor whose table continues the chain; the whole
 * chain is at most qsz descriptors long (§2.7.5.3.1), which also bounds loops.
 */
function walk(snap: DataView, r: Rig, head: number): Walk {
  if (head >= r.qsz) return { reset: `head ${head} ≥ qsz` };
  let base = r.rig.addrs.desc, entries = r.qsz, inTable = false;
  let d = readDesc(snap, base + 16 * head);
  const bufs: Buf[] = [];
  let malformed: string | undefined;
  let seenWrite = false;
  for (let steps = 0; ; ) {
    if ((d.flags & F_INDIRECT) !== 0) {
      if (inTable) return { reset: 'nested indirect table' };
      if (!r.indirect) return { reset: 'INDIRECT without VIRTIO_F_INDIRECT_DESC' };
      if ((d.flags & F_NEXT) !== 0) return { reset: 'INDIRECT and NEXT' };
      if (d.len === 0 || d.len % 16 !== 0) return { reset: `indirect table length ${d.len}` };
      // §2.7.5.3: an indirect table may be anywhere in memory (no alignment, unlike the ring's own table).
      if (!inside(d.addr, d.len)) return { reset: 'indirect table outside memory' };
      base = Number(d.addr);
      entries = d.len / 16;
      inTable = true;
      d = readDesc(snap, base);
      continue;
    }
    if (++steps > r.qsz) return { reset: 'chain longer than the queue (a loop)' };
    const write = (d.flags & F_WRITE) !== 0;
    bufs.push({ addr: d.addr, len: d.len, write });
    if (!inside(d.addr, d.len)) malformed ??= 'buffer outside guest memory';
    if (!write && seenWrite) malformed ??= 'device-readable after device-writable';
    seenWrite ||= write;
    if ((d.flags & F_NEXT) === 0) return { bufs, malformed };
    if (d.next >= entries) return { reset: `next ${d.next} ≥ ${entries}` };
    d = readDesc(snap, base + 16 * d.next);
  }
}

type Verdict = 'ok' | 'ioerr' | 'unsupp' | 'error' | 'any';
type Outcome =
  | { readonly reset: string }
  | {
    readonly status: number; readonly wlen: number; readonly verdict: Verdict; readonly okLen: number; readonly why: string;
    readonly writes: readonly Buf[]; readonly readsUsedRing: boolean;
  };

const rangeOk = (sector: bigint, bytes: number): boolean => bytes % 512 === 0 && sector + BigInt(bytes / 512) <= BigInt(SECTORS);

/** What the device must do with the chain at `head`: the device error table of blk-device.ts, from §5.2.6. */
function expected(snapBytes: Uint8Array, r: Rig, head: number): Outcome {
  const w = walk(new DataView(snapBytes.buffer), r, head);
  if ('reset' in w) return w;
  const writes = w.bufs.filter((b) => b.write);
  const last = [...writes].reverse().find((b) => b.len > 0);
  // §5.2.6: the status is the last byte the device may write; without one the chain cannot be answered.
  if (last === undefined || !inside(last.addr + BigInt(last.len - 1), 1)) return { reset: 'no writable status byte in memory' };
  const status = Number(last.addr) + last.len - 1;
  const wlen = writes.reduce((n, b) => n + b.len, 0);
  // The device writes used.flags (NO_NOTIFY) while it works, so a header read from the used ring may change under it.
  const [usedFrom, usedTo] = r.usedArea;
  const readsUsedRing = w.bufs.some((b) => !b.write && b.len > 0 && b.addr < BigInt(usedTo) && b.addr + BigInt(b.len) > BigInt(usedFrom));
  const base = { status, wlen, writes, okLen: 1, readsUsedRing };
  if (w.malformed !== undefined) return { ...base, verdict: 'error', why: w.malformed };
  const readable = w.bufs.filter((b) => !b.write);
  const rlen = readable.reduce((n, b) => n + b.len, 0);
  const hdr: number[] = [];
  for (const b of readable) for (let i = 0; i < b.len && hdr.length < 16; i++) hdr.push(snapBytes[Number(b.addr) + i] ?? 0);
  if (hdr.length < 16) return { ...base, verdict: 'ioerr', why: 'header shorter than 16 bytes' };
  const hv = new DataView(Uint8Array.from(hdr).buffer);
  const type = hv.getUint32(0, true), sector = hv.getBigUint64(8, true);
  const dataIn = wlen - 1, dataOut = rlen - 16;
  const why = `type ${type} sector ${String(sector)} out ${dataOut} in ${dataIn}`;
  switch (type) {
    case T_IN: return { ...base, why, verdict: dataOut === 0 && rangeOk(sector, dataIn) ? 'ok' : 'ioerr', okLen: wlen };
    case T_OUT: return { ...base, why, verdict: dataIn === 0 && rangeOk(sector, dataOut) ? 'ok' : 'ioerr' };
    case T_FLUSH: return { ...base, why, verdict: dataIn === 0 ? 'ok' : 'ioerr' };
    case T_GET_ID: return { ...base, why, verdict: 'ok', okLen: Math.min(20, dataIn) + 1 };
    case T_DISCARD:
    case T_WRITE_ZEROES: return { ...base, why, verdict: dataIn === 0 && dataOut > 0 && dataOut % 16 === 0 ? 'any' : 'error' };
    default: return { ...base, why, verdict: 'unsupp' };
  }
}

const STATUS_OF: Record<Exclude<Verdict, 'any' | 'error'>, number> = { ok: S_OK, ioerr: S_IOERR, unsupp: S_UNSUPP };

/** Outcomes seen, so a property that stopped reaching a path fails instead of passing vacuously. */
interface Tally { ok: number; ioerr: number; unsupp: number; answered: number; reset: number; ringOverlap: number; followUps: number }
const tally = (): Tally => ({ ok: 0, ioerr: 0, unsupp: 0, answered: 0, reset: 0, ringOverlap: 0, followUps: 0 });

/**
 * One chain at `head`, rung once: checks (a) exactly one of used entry / NEEDS_RESET,
 * as the oracle predicts, (b) nothing outside the writable buffers and the used ring
 * changed, (c) the status byte and used length; then the follow-up READ.
 */
async function ringAndCheck(r: Rig, head: number, seen: Tally): Promise<void> {
  const { rig } = r;
  rig.forge([], head, false);
  const before = rig.mem.bytes.slice();
  expect(() => { rig.dev.notify(0); }).not.toThrow();
  await settle(r, () => rig.used(0).idx !== 0 || needsReset(r));
  const after = rig.mem.bytes;
  const want = expected(before, r, head);
  const reset = needsReset(r);
  const answered = rig.used(0).idx !== 0;
  const writes = 'reset' in want ? [] : want.writes.filter((b) => inside(b.addr, b.len));
  if (writes.some((b) => Number(b.addr) < r.ringEnd && b.len > 0) || (!('reset' in want) && want.readsUsedRing)) {
    // The driver aimed a writable buffer at the rings, or a readable one at the used ring the device
    // updates as it goes: anything may follow but a throw or a hang.
    seen.ringOverlap++;
    expect(reset || answered).toBe(true);
    return;
  }
  expect(r.thrown).toEqual([]);
  const stray = strayWrites(before, after, mask([r.usedArea, ...writes.map((b) => [Number(b.addr), Number(b.addr) + b.len] as const)]));
  expect(stray, 'bytes written outside the writable buffers and the used ring').toEqual([]);
  expect(answered && reset, `both a used entry and NEEDS_RESET (${rig.dev.needsResetReason ?? ''})`).toBe(false);
  if ('reset' in want) {
    expect(reset, `oracle: ${want.reset}`).toBe(true);
    seen.reset++;
    return;
  }
  expect(reset, `NEEDS_RESET (${rig.dev.needsResetReason ?? ''}) for an answerable chain: ${want.why}`).toBe(false);
  const u = rig.used(0);
  expect({ idx: u.idx, id: u.id }).toEqual({ idx: 1, id: head });
  const st = after[want.status] ?? -1;
  expect([S_OK, S_IOERR, S_UNSUPP], `status byte ${st}`).toContain(st);
  if (want.verdict === 'error') expect(st, want.why).not.toBe(S_OK);
  else if (want.verdict !== 'any') expect(st, want.why).toBe(STATUS_OF[want.verdict]);
  expect(u.len).toBeGreaterThanOrEqual(1);
  expect(u.len).toBeLessThanOrEqual(want.wlen);
  if (st === S_OK && want.verdict === 'ok') expect(u.len, want.why).toBe(want.okLen);
  if (st === S_OK) seen.ok++;
  else if (st === S_IOERR) seen.ioerr++;
  else seen.unsupp++;
  await followUp(r);
  seen.followUps++;
}

// ---- arbitraries ----

type Role = 'hdr' | 'data' | 'status';
type AddrRef =
  | { readonly at: 'role' | Role | 'free' | 'end' | 'ring'; readonly off: number }
  | { readonly at: 'abs'; readonly addr: bigint };

const hugeArb = fc.oneof(
  fc.constantFrom(BigInt(MEM) + 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, U64_MAX),
  fc.bigInt({ min: BigInt(MEM) + 1n, max: U64_MAX }),
);
const offArb = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 600 }) });
const addrArb: fc.Arbitrary<AddrRef> = fc.oneof(
  { weight: 14, arbitrary: offArb.map((off) => ({ at: 'role' as const, off })) },
  { weight: 2, arbitrary: fc.record({ at: fc.constantFrom<Role>('hdr', 'data', 'status'), off: offArb }) },
  { weight: 2, arbitrary: fc.nat({ max: MEM }).map((off) => ({ at: 'free' as const, off })) },
  { weight: 1, arbitrary: fc.nat({ max: 1100 }).map((off) => ({ at: 'end' as const, off })) },
  { weight: 1, arbitrary: fc.nat({ max: 1023 }).map((off) => ({ at: 'ring' as const, off })) },
  { weight: 1, arbitrary: hugeArb.map((addr) => ({ at: 'abs' as const, addr })) },
);
const lenArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('role' as const) },
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 15, 16, 17, 20, 21, 511, 512, 513, 1024, 1025) },
  { weight: 2, arbitrary: fc.nat({ max: 4096 }) },
  { weight: 1, arbitrary: fc.constantFrom(0x10000, 0x7fffffff, 0xffffffff) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
);
const flagsArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant('auto' as const) },
  { weight: 2, arbitrary: fc.constant('flipWrite' as const) }, // the direction out of place
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 7 }) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffff }) },
);
const nextArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant('auto' as const) },
  { weight: 1, arbitrary: fc.constant('loop' as const) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 17 }) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffff }) },
);
const descArb = fc.record({ addr: addrArb, len: lenArb, flags: flagsArb, next: nextArb });
type DescSpec = typeof descArb extends fc.Arbitrary<infer T> ? T : never;

const rigArb = fc.record({
  qsz: fc.constantFrom(8, 16),
  indirect: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  eventIdx: fc.boolean(),
  noise: fc.integer(),
});
const sectorArb = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: BigInt(SECTORS + 4) }) },
  { weight: 2, arbitrary: fc.constantFrom(0n, BigInt(SECTORS - 1), BigInt(SECTORS), 2n ** 63n, U64_MAX - 1n, U64_MAX) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }) },
);
const reqArb = fc.record({
  type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1, 4, 8, 10, 11, 13, 14) }, { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) }),
  sector: sectorArb,
  // A discard / write-zeroes segment at the start of the data buffer.
  seg: fc.record({
    sector: sectorArb,
    num: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 9 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) }),
    flags: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) }),
  }),
});
type Req = typeof reqArb extends fc.Arbitrary<infer T> ? T : never;

/** The request's buffers: header, data (with a discard segment first) and a status byte preset to 0xff. */
function placeRequest(r: Rig, req: Req): Record<Role, number> {
  const bytes = r.rig.mem.bytes;
  const at = { hdr: r.alloc(16), data: r.alloc(2048), status: r.alloc(1) };
  for (let i = 0; i < 2048; i++) bytes[at.data + i] = (i * 7 + 3) & 0xff;
  putHeader(bytes, at.hdr, req.type, req.sector);
  const v = new DataView(bytes.buffer);
  v.setBigUint64(at.data, req.seg.sector, true);
  v.setUint32(at.data + 8, req.seg.num, true);
  v.setUint32(at.data + 12, req.seg.flags, true);
  bytes[at.status] = 0xff;
  return at;
}

function addrOf(r: Rig, at: Record<Role, number>, a: AddrRef, role: Role): bigint {
  switch (a.at) {
    case 'abs': return a.addr;
    case 'role': return BigInt(at[role] + a.off);
    case 'hdr': case 'data': case 'status': return BigInt(at[a.at] + a.off);
    case 'free': return BigInt(r.ringEnd + (a.off % (MEM - r.ringEnd + 1)));
    case 'end': return BigInt(MEM - a.off);
    case 'ring': return BigInt(a.off % r.ringEnd);
  }
}

/** The descriptor of a well-formed chain at its position. */
const SANE: DescSpec = { addr: { at: 'role', off: 0 }, len: 'role', flags: 'auto', next: 'auto' };

/**
 * How much of a case is left random, so that well-formed requests stay common:
 * level 0 only the request (type, sector, chain length), 1 one descriptor (`pick`), 2 everything.
 */
const chaosArb = fc.record({ level: fc.nat({ max: 2 }), pick: fc.nat() });
type Chaos = typeof chaosArb extends fc.Arbitrary<infer T> ? T : never;
const isRandom = (c: Chaos, i: number, n: number): boolean => c.level === 2 || (c.level === 1 && c.pick % n === i);

/**
 * Turns specs into descriptors: position 0 plays the header, the last the status
 * byte, the rest data; "auto" flags make a well-formed chain for the request's
 * direction and "auto" next links to `indexOf(i + 1)`.
 */
function resolve(r: Rig, at: Record<Role, number>, req: Req, specs: readonly DescSpec[], indexOf: (i: number) => number, wFrom: number | null): RawDesc[] {
  const n = specs.length;
  const discard = req.type === T_DISCARD || req.type === T_WRITE_ZEROES;
  const firstWrite = wFrom ?? (req.type === T_IN || req.type === T_GET_ID ? 1 : n - 1);
  return specs.map((s, i) => {
    const role: Role = i === 0 ? 'hdr' : i === n - 1 ? 'status' : 'data';
    const addr = addrOf(r, at, s.addr, role);
    const roleLen = role === 'hdr' ? 16 : role === 'status' ? 1 : discard ? 16 : 512;
    const auto = (i < n - 1 ? F_NEXT : 0) | (i >= firstWrite ? F_WRITE : 0);
    const flags = s.flags === 'auto' ? auto : s.flags === 'flipWrite' ? auto ^ F_WRITE : s.flags;
    const next = s.next === 'auto' ? indexOf(i + 1) : s.next === 'loop' ? indexOf(0) : s.next;
    return { addr, len: s.len === 'role' ? roleLen : s.len, flags, next };
  });
}

// ---- properties ----

describe('virtio-blk device under random chains', () => {
  test('direct chains: no throw, no stray write, a status or NEEDS_RESET, and the device keeps serving', async () => {
    const seen = tally();
    const directCase = fc.record({
      cfg: rigArb,
      req: reqArb,
      head: fc.nat({ max: 15 }),
      descs: fc.array(descArb, { minLength: 1, maxLength: 6 }),
      wFrom: fc.nat({ max: 6 }),
      chaos: chaosArb,
    });
    await fc.assert(
      fc.asyncProperty(directCase, async (c) => {
        const r = makeRig(c.chaos.level === 2 ? c.cfg : { ...c.cfg, indirect: true });
        const head = c.head % r.qsz;
        const at = placeRequest(r, c.req);
        const n = c.descs.length;
        // Chaos target n is where the writable part starts.
        const specs = c.descs.map((s, i) => (isRandom(c.chaos, i, n + 1) ? s : SANE));
        const descs = resolve(r, at, c.req, specs, (i) => (head + i) % r.qsz, isRandom(c.chaos, n, n + 1) ? c.wFrom : null);
        descs.forEach((d, i) => { putDesc(r.rig.mem.bytes, r.rig.addrs.desc + 16 * ((head + i) % r.qsz), d); });
        await ringAndCheck(r, head, seen);
      }),
      { numRuns: 400 },
    );
    expect(Math.min(seen.ok, seen.ioerr, seen.unsupp, seen.reset, seen.followUps), JSON.stringify(seen)).toBeGreaterThan(0);
  });

  test('indirect chains: the same, with the writable buffers taken from the table', async () => {
    const seen = tally();
    const tableAddrArb: fc.Arbitrary<AddrRef | { readonly at: 'table'; readonly off: number }> = fc.oneof(
      { weight: 10, arbitrary: fc.constant({ at: 'table' as const, off: 0 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 15 }).map((off) => ({ at: 'table' as const, off })) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }).map((k) => ({ at: 'table' as const, off: 16 * k })) },
      { weight: 2, arbitrary: addrArb.filter((a) => a.at !== 'role') },
    );
    const tableHead = fc.record({
      flags: fc.oneof(
        { weight: 10, arbitrary: fc.constant(F_INDIRECT) },
        { weight: 1, arbitrary: fc.constantFrom(F_INDIRECT | F_WRITE, F_INDIRECT | F_NEXT, F_INDIRECT | F_NEXT | F_WRITE) },
        { weight: 1, arbitrary: fc.nat({ max: 0xffff }).map((f) => f | F_INDIRECT) },
      ),
      next: fc.nat({ max: 0xffff }),
      addr: tableAddrArb,
      len: fc.oneof(
        { weight: 8, arbitrary: fc.constant('exact' as const) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 16 }).map((k) => 16 * k) },
        { weight: 1, arbitrary: fc.constantFrom(0, 8, 15, 17, 0xfffffff0, 0xffffffff) },
        { weight: 1, arbitrary: fc.nat({ max: 4096 }) },
      ),
    });
    const SANE_HEAD = { flags: F_INDIRECT, next: 0, addr: { at: 'table' as const, off: 0 }, len: 'exact' as const };
    const indirectCase = fc.record({
      cfg: rigArb,
      req: reqArb,
      head: fc.nat({ max: 15 }),
      tableHead,
      entries: fc.array(descArb, { minLength: 1, maxLength: 8 }),
      wFrom: fc.nat({ max: 8 }),
      chaos: chaosArb,
    });
    await fc.assert(
      fc.asyncProperty(indirectCase, async (c) => {
        const r = makeRig(c.chaos.level === 2 ? c.cfg : { ...c.cfg, indirect: true });
        const head = c.head % r.qsz;
        const at = placeRequest(r, c.req);
        const table = r.alloc(256);
        r.rig.mem.fill(table, 256);
        const n = c.entries.length;
        // Chaos target n is the head descriptor that names the table, n + 1 where the writable part starts.
        const specs = c.entries.map((s, i) => (isRandom(c.chaos, i, n + 2) ? s : SANE));
        resolve(r, at, c.req, specs, (i) => i, isRandom(c.chaos, n + 1, n + 2) ? c.wFrom : null).forEach((d, i) => { putDesc(r.rig.mem.bytes, table + 16 * i, d); });
        const h = isRandom(c.chaos, n, n + 2) ? c.tableHead : SANE_HEAD;
        const addr = h.addr.at === 'table' ? BigInt(table + h.addr.off) : addrOf(r, at, h.addr, 'data');
        const len = h.len === 'exact' ? 16 * n : h.len;
        putDesc(r.rig.mem.bytes, r.rig.addrs.desc + 16 * head, { addr, len, flags: h.flags, next: h.next });
        await ringAndCheck(r, head, seen);
      }),
      { numRuns: 400 },
    );
    expect(Math.min(seen.ok, seen.ioerr, seen.unsupp, seen.reset, seen.followUps), JSON.stringify(seen)).toBeGreaterThan(0);
  });

  test('garbage descriptor table, avail ring and avail.idx: answers or NEEDS_RESET, no stray write', async () => {
    const seen = tally();
    const TABLES = 1024; // indirect tables live here; data buffers never do, so no chain can rewrite another
    // Garbage field by field: data buffers point into the data region or outside memory, tables into the table region.
    const garbageDesc = fc.record({
      flags: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
      data: fc.oneof(
        { weight: 3, arbitrary: fc.nat({ max: 3 }).map((k) => ({ at: 'hdr' as const, off: 16 * k })) },
        { weight: 4, arbitrary: fc.nat({ max: MEM }).map((off) => ({ at: 'free' as const, off })) },
        { weight: 1, arbitrary: fc.nat({ max: 1100 }).map((off) => ({ at: 'end' as const, off })) },
        { weight: 1, arbitrary: hugeArb.map((addr) => ({ at: 'abs' as const, addr })) },
      ),
      len: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(1, 16, 17, 20, 21, 512, 513) },
        { weight: 2, arbitrary: fc.nat({ max: 2048 }) },
        { weight: 1, arbitrary: fc.constantFrom(0, 0x10000, 0xffffffff) },
        { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
      ),
      table: fc.oneof(
        { weight: 4, arbitrary: fc.nat({ max: 48 }).map((k) => ({ off: 16 * k, addr: undefined })) },
        { weight: 1, arbitrary: fc.nat({ max: 880 }).map((off) => ({ off, addr: undefined })) },
        { weight: 1, arbitrary: hugeArb.map((addr) => ({ off: 0, addr })) },
      ),
      tableLen: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 8 }).map((k) => 16 * k) }, { weight: 1, arbitrary: fc.nat({ max: 127 }) }, { weight: 1, arbitrary: fc.constantFrom(0x10000, 0xffffffff) }),
      next: fc.oneof({ weight: 4, arbitrary: fc.constant('seq' as const) }, { weight: 2, arbitrary: fc.nat({ max: 17 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
    });
    const garbageCase = fc.record({
      cfg: rigArb,
      rawDescs: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      descs: fc.array(garbageDesc, { minLength: 16, maxLength: 16 }),
      tables: fc.array(garbageDesc, { minLength: TABLES / 16, maxLength: TABLES / 16 }),
      // A head below qsz (reduced modulo qsz), or any u16.
      heads: fc.array(fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 15 }).map((h) => ({ h, mod: true })) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }).map((h) => ({ h, mod: false })) }), { minLength: 16, maxLength: 16 }),
      availIdx: fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 3 }) }, { weight: 2, arbitrary: fc.nat({ max: 16 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
      availFlags: fc.nat({ max: 0xffff }),
      usedEvent: fc.nat({ max: 0xffff }),
      headers: fc.array(fc.record({ type: reqArb.map((q) => q.type), sector: sectorArb }), { minLength: 4, maxLength: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(garbageCase, async (c) => {
        const r = makeRig(c.cfg);
        const { rig, qsz } = r;
        const bytes = rig.mem.bytes;
        const tables = r.alloc(TABLES);
        const hdrs = r.alloc(64);
        c.headers.forEach((h, i) => { putHeader(bytes, hdrs + 16 * i, h.type, h.sector); });
        const dataStart = tables + TABLES; // everything after the tables; the follow-up buffers sit before them
        // `seq` links to the following slot (of the ring, or of an 8-entry table).
        const toDesc = (g: typeof c.descs[number], seq: number): RawDesc => {
          const next = g.next === 'seq' ? seq : g.next;
          if ((g.flags & F_INDIRECT) !== 0) return { addr: g.table.addr ?? BigInt(tables + g.table.off), len: g.tableLen, flags: g.flags, next };
          const a = g.data;
          const addr = a.at === 'abs' ? a.addr : a.at === 'hdr' ? BigInt(hdrs + a.off) : a.at === 'end' ? BigInt(MEM - a.off) : BigInt(dataStart + (a.off % (MEM - dataStart + 1)));
          return { addr, len: g.len, flags: g.flags, next };
        };
        c.tables.forEach((g, i) => { putDesc(bytes, tables + 16 * i, toDesc(g, (i % 8) + 1)); });
        if (c.rawDescs) {
          for (let i = 0; i < 16 * qsz; i++) bytes[rig.addrs.desc + i] = bytes[dataStart + 4096 + i] ?? 0;
        } else {
          for (let i = 0; i < qsz; i++) putDesc(bytes, rig.addrs.desc + 16 * i, toDesc(c.descs[i] as typeof c.descs[number], (i + 1) % qsz));
        }
        const v = new DataView(bytes.buffer);
        v.setUint16(rig.addrs.avail, c.availFlags, true);
        v.setUint16(rig.addrs.avail + 2, c.availIdx, true);
        const heads = c.heads.slice(0, qsz).map(({ h, mod }) => (mod ? h % qsz : h));
        heads.forEach((h, i) => { v.setUint16(rig.addrs.avail + 4 + 2 * i, h, true); });
        v.setUint16(rig.addrs.avail + 4 + 2 * qsz, c.usedEvent, true);

        const before = bytes.slice();
        expect(() => { rig.dev.notify(0); }).not.toThrow();
        const pending = c.availIdx;
        await settle(r, () => rig.used(0).idx === pending || needsReset(r));
        const reset = needsReset(r);
        const usedIdx = rig.used(0).idx;

        // Allowed writes: the used ring, and every writable non-indirect descriptor of the table or of any
        // table an indirect descriptor names (a superset of what any walk can reach).
        const snap = new DataView(before.buffer);
        const allowed: (readonly [number, number])[] = [r.usedArea];
        const allow = (d: RawDesc): void => {
          if ((d.flags & F_WRITE) !== 0 && (d.flags & F_INDIRECT) === 0 && inside(d.addr, d.len)) allowed.push([Number(d.addr), Number(d.addr) + d.len]);
        };
        for (let i = 0; i < qsz; i++) {
          const d = readDesc(snap, rig.addrs.desc + 16 * i);
          if ((d.flags & F_INDIRECT) === 0) allow(d);
          else if (inside(d.addr, d.len)) for (let k = 0; k < Math.floor(d.len / 16); k++) allow(readDesc(snap, Number(d.addr) + 16 * k));
        }
        expect(r.thrown).toEqual([]);
        expect(strayWrites(before, rig.mem.bytes, mask(allowed)), 'bytes written outside every writable buffer and the used ring').toEqual([]);

        // The chains the device pops, in order, and what the oracle says of each.
        const popped = heads.slice(0, Math.min(pending, qsz));
        const firstBad = popped.findIndex((h) => 'reset' in expected(before, r, h));
        const dup = popped.some((h, i) => popped.indexOf(h) !== i);
        if (pending > qsz) {
          expect(reset, 'avail.idx more than a ring ahead').toBe(true);
          expect(usedIdx).toBe(0);
        } else if (!reset) {
          expect(firstBad, 'an unanswerable chain was answered').toBe(-1);
          expect(usedIdx).toBe(pending);
        } else {
          expect(firstBad >= 0 || dup, `NEEDS_RESET (${rig.dev.needsResetReason ?? ''}) with every chain answerable and no head repeated`).toBe(true);
          expect(usedIdx).toBeLessThanOrEqual(firstBad >= 0 ? firstBad : pending);
        }
        for (let i = 0; i < usedIdx; i++) {
          const u = rig.used(i);
          expect(popped).toContain(u.id);
          const want = expected(before, r, u.id);
          expect('reset' in want, `used entry for unanswerable head ${u.id}`).toBe(false);
          if (!('reset' in want)) {
            expect(u.len).toBeGreaterThanOrEqual(1);
            expect(u.len).toBeLessThanOrEqual(want.wlen);
          }
        }
        if (reset) {
          seen.reset++;
          return;
        }
        seen.answered += usedIdx;
        await followUp(r);
        seen.followUps++;
      }),
      { numRuns: 300 },
    );
    expect(Math.min(seen.answered, seen.reset, seen.followUps), JSON.stringify(seen)).toBeGreaterThan(0);
  });
});

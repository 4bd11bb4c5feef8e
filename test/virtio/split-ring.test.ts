// Split virtqueue, driver and device side. Spec: VIRTIO 1.2 §2.7 (virtio-v1.2-cs01).
// Expected ring bytes come from split-ring.vectors.ts (hand-written from the spec's
// struct layouts) or from its DataView builder at literal offsets, never from the
// layout constants under test.

import { describe, expect, it, vi } from 'vitest';
import { GuestAllocator } from '../../src/virtio/guest-allocator.js';
import { GuestMemory } from '../../src/virtio/guest-memory.js';
import { checkSplitRing, splitRingAreaSizes, type SplitRingAddrs } from '../../src/virtio/split-ring.js';
import { SplitVirtqDevice, type AvailChain, type PopResult } from '../../src/virtio/split-ring-device.js';
import { SplitVirtqDriver, type DriverRingOptions, type VirtqBuffer } from '../../src/virtio/split-ring-driver.js';
import {
  F,
  QSZ4,
  QSZ4_SIZES,
  driverVectors,
  eventVectors,
  getU16,
  hex,
  norm,
  putDesc,
  putU16,
  putUsedElem,
  usedVectors,
} from './split-ring.vectors.js';

type Kind = 'ArrayBuffer' | 'SharedArrayBuffer';
const KINDS: readonly Kind[] = ['ArrayBuffer', 'SharedArrayBuffer'];
const newMem = (size: number, kind: Kind = 'ArrayBuffer'): GuestMemory => GuestMemory.create(size, kind === 'SharedArrayBuffer');
const area = (mem: GuestMemory, at: number, len: number): string => hex(mem.bytes.subarray(at, at + len));

// Field addresses of a ring, by the spec's offsets (§2.7.6, §2.7.8).
const availFlags = (a: SplitRingAddrs): number => a.avail;
const availIdx = (a: SplitRingAddrs): number => a.avail + 2;
const usedEvent = (a: SplitRingAddrs, qsz: number): number => a.avail + 4 + 2 * qsz;
const usedFlags = (a: SplitRingAddrs): number => a.used;
const usedIdx = (a: SplitRingAddrs): number => a.used + 2;
const availEvent = (a: SplitRingAddrs, qsz: number): number => a.used + 4 + 8 * qsz;

/** Contiguous placement worked out by hand: desc 16q at 0, avail 6+2q, used 6+8q rounded to 4. */
function contiguous(qsz: number): SplitRingAddrs & { end: number } {
  const avail = 16 * qsz;
  const used = Math.ceil((avail + 6 + 2 * qsz) / 4) * 4;
  return { desc: 0, avail, used, end: used + 6 + 8 * qsz };
}

function isChain(r: PopResult): r is AvailChain {
  return r !== undefined && 'head' in r;
}
function chainOf(r: PopResult): AvailChain {
  if (!isChain(r)) throw new Error(`expected a chain, got ${JSON.stringify(r)}`);
  return r;
}
function corruptOf(r: PopResult): string {
  if (r === undefined || !('corrupt' in r)) throw new Error(`expected { corrupt }, got ${JSON.stringify(r)}`);
  return r.corrupt;
}
/** A chain's buffers as the driver described them. */
const buffersOf = (c: AvailChain): VirtqBuffer[] => [
  ...c.readable.map((r) => ({ addr: r.addr, len: r.len, write: false })),
  ...c.writable.map((r) => ({ addr: r.addr, len: r.len, write: true })),
];

interface RigOptions {
  readonly kind?: Kind;
  readonly eventIdx?: boolean;
  /** Indirect descriptors, with an allocator of this many bytes at 0x18000. */
  readonly indirectBytes?: number;
  readonly indirectMax?: number;
}
const DATA = 0x10000; // request buffers live in [0x10000, 0x18000)

function rig(qsz: number, o: RigOptions = {}) {
  const mem = newMem(0x20000, o.kind);
  const addrs = contiguous(qsz);
  const alloc = o.indirectBytes === undefined ? undefined : new GuestAllocator(0x18000, o.indirectBytes);
  const opts: DriverRingOptions = {
    eventIdx: o.eventIdx ?? false,
    ...(alloc === undefined ? {} : { indirect: true, allocator: alloc }),
    ...(o.indirectMax === undefined ? {} : { indirectMax: o.indirectMax }),
  };
  const drv = new SplitVirtqDriver<string>(mem, qsz, addrs, opts);
  const dev = new SplitVirtqDevice(mem, qsz, addrs, { indirect: alloc !== undefined, eventIdx: o.eventIdx ?? false });
  return { mem, addrs, alloc, drv, dev };
}

/** n buffers: `reads` device-readable then the rest device-writable, at distinct addresses. */
function bufs(n: number, reads: number, base = DATA): VirtqBuffer[] {
  return Array.from({ length: n }, (_, i) => ({ addr: base + 0x100 * i, len: 0x10 + i, write: i >= reads }));
}

/** Device pops everything pending; throws on anything but a clean chain. */
function popAll(dev: SplitVirtqDevice): AvailChain[] {
  const out: AvailChain[] = [];
  for (let r = dev.pop(); r !== undefined; r = dev.pop()) {
    const c = chainOf(r);
    if (c.fault !== undefined) throw new Error(`unexpected fault ${c.fault.reason}`);
    out.push(c);
  }
  return out;
}

function drain<T>(drv: SplitVirtqDriver<T>): { token: T; len: number }[] {
  const out: { token: T; len: number }[] = [];
  for (let u = drv.getUsed(); u !== undefined; u = drv.getUsed()) out.push(u);
  return out;
}

// ---------------------------------------------------------------------------------------

describe.each(KINDS)('driver ring memory is byte-exact (§2.7.5, §2.7.6) on %s', (kind) => {
  it.each(driverVectors)('$name', (v) => {
    const mem = newMem(v.memSize, kind);
    mem.bytes.fill(0xee); // the driver must zero its areas and write nothing else
    const alloc = v.indirect === undefined ? undefined : new GuestAllocator(v.indirect.base, v.indirect.size);
    const drv = new SplitVirtqDriver<number>(mem, v.qsz, v.addrs, alloc === undefined ? {} : { indirect: true, allocator: alloc });
    expect(v.requests.map((r, i) => drv.add(r, i))).toEqual(v.heads);
    expect(area(mem, v.addrs.avail, v.sizes.avail)).toBe(norm(v.availBefore));
    expect(drv.publish()).toBe(true);

    expect(area(mem, v.addrs.desc, v.sizes.desc)).toBe(norm(v.desc.join(' ')));
    expect(area(mem, v.addrs.avail, v.sizes.avail)).toBe(norm(v.avail));
    expect(area(mem, v.addrs.used, v.sizes.used)).toBe(norm(v.used));
    const written: [number, number][] = [[v.addrs.desc, v.sizes.desc], [v.addrs.avail, v.sizes.avail], [v.addrs.used, v.sizes.used]];
    for (const t of v.tables ?? []) {
      expect(area(mem, t.addr, 16 * t.entries.length)).toBe(norm(t.entries.join(' ')));
      written.push([t.addr, 16 * t.entries.length]);
    }
    const untouched = mem.bytes.filter((_, i) => !written.some(([at, len]) => i >= at && i < at + len));
    expect(untouched.every((b) => b === 0xee)).toBe(true);
    expect(drv.numFree).toBe(v.numFree);
    expect(drv.inFlight).toBe(v.requests.length);

    // The device reads back exactly the buffers that were added.
    const dev = new SplitVirtqDevice(mem, v.qsz, v.addrs, { indirect: alloc !== undefined });
    const chains = popAll(dev);
    expect(chains.map((c) => c.head)).toEqual(v.heads);
    expect(chains.map(buffersOf)).toEqual(v.requests);
  });
});

describe('used ring memory is byte-exact (§2.7.8) and read back by the driver', () => {
  it.each(usedVectors)('$name', (v) => {
    const mem = newMem(0x1000);
    const drv = new SplitVirtqDriver<string>(mem, 4, QSZ4);
    const dev = new SplitVirtqDevice(mem, 4, QSZ4);
    for (let i = 0; i < v.requests; i++) expect(drv.add([{ addr: 0x200 + 0x10 * i, len: 0x10, write: true }], `t${i}`)).toBe(i);
    drv.publish();
    expect(popAll(dev).map((c) => c.head)).toEqual(Array.from({ length: v.requests }, (_, i) => i));
    for (const p of v.pushes) dev.push(p.head, p.len);
    expect(getU16(mem.bytes, usedIdx(QSZ4))).toBe(0); // not visible before publish
    expect(drv.getUsed()).toBeUndefined();
    expect(dev.publish()).toBe(true);
    expect(area(mem, QSZ4.used, QSZ4_SIZES.used)).toBe(norm(v.used));
    expect(drv.usedPending).toBe(v.pushes.length);
    expect(drain(drv)).toEqual(v.pushes.map((p) => ({ token: `t${p.head}`, len: p.len })));
    expect(drv.numFree).toBe(4);
    expect(drv.inFlight).toBe(0);
  });

  it('the used slot wraps at qsz: the fifth completion lands in ring[0]', () => {
    const { mem, drv, dev, addrs } = rig(4);
    for (let i = 0; i < 5; i++) {
      drv.add([{ addr: DATA, len: 8, write: true }], `r${i}`);
      drv.publish();
      dev.push(chainOf(dev.pop()).head, 0x100 + i);
      dev.publish();
      expect(drain(drv)).toEqual([{ token: `r${i}`, len: 0x100 + i }]);
    }
    expect(area(mem, addrs.used + 4, 8)).toBe('00 00 00 00 04 01 00 00'); // id 0, len 0x104
    expect(getU16(mem.bytes, usedIdx(addrs))).toBe(5);
  });
});

describe('notification fields are byte-exact (§2.7.7, §2.7.10)', () => {
  it.each(eventVectors)('$name', (v) => {
    const mem = newMem(0x1000);
    const drv = new SplitVirtqDriver<number>(mem, 4, QSZ4, { eventIdx: v.eventIdx });
    const dev = new SplitVirtqDevice(mem, 4, QSZ4, { eventIdx: v.eventIdx });
    for (let i = 0; i < v.completed; i++) drv.add([{ addr: 0x200, len: 1, write: true }], i);
    drv.publish();
    for (const c of popAll(dev)) dev.push(c.head, 0);
    dev.publish();
    expect(drain(drv)).toHaveLength(v.completed);
    switch (v.action) {
      case 'driver.disableInterrupts': drv.disableInterrupts(); break;
      case 'driver.enableInterrupts': expect(drv.enableInterrupts()).toBe(false); break;
      case 'device.disableNotifications': dev.disableNotifications(); break;
      case 'device.enableNotifications': expect(dev.enableNotifications()).toBe(false); break;
    }
    expect(area(mem, QSZ4.avail, QSZ4_SIZES.avail)).toBe(norm(v.avail));
    expect(area(mem, QSZ4.used, QSZ4_SIZES.used)).toBe(norm(v.used));
  });
});

describe('ring full and descriptor accounting', () => {
  it('qsz descriptors exhausted: add returns undefined and no ring byte changes', () => {
    const { mem, drv, dev, addrs } = rig(4);
    for (let i = 0; i < 4; i++) expect(drv.add(bufs(1, 0), `r${i}`)).toBeDefined();
    expect([drv.numFree, drv.fits(1)]).toEqual([0, 0]);
    const before = area(mem, 0, addrs.end);
    expect(drv.add(bufs(1, 1), 'x')).toBeUndefined();
    expect(drv.add(bufs(2, 1), 'y')).toBeUndefined();
    expect(area(mem, 0, addrs.end)).toBe(before);
    expect([drv.numFree, drv.inFlight]).toEqual([0, 4]);
    drv.publish();
    expect(getU16(mem.bytes, availIdx(addrs))).toBe(4);
    const chains = popAll(dev);
    expect(chains).toHaveLength(4);
    // Still works: one completion makes room for exactly one more.
    dev.push(chains[2]?.head ?? -1, 7);
    dev.publish();
    expect(drain(drv)).toEqual([{ token: 'r2', len: 7 }]);
    expect(drv.add(bufs(1, 0), 'z')).toBe(chains[2]?.head);
    expect(drv.add(bufs(1, 0), 'w')).toBeUndefined();
  });

  it('a chain longer than the free descriptors is refused without side effects', () => {
    const { mem, drv, addrs } = rig(4);
    expect(drv.add(bufs(2, 1), 'a')).toBe(0);
    const before = area(mem, 0, addrs.end);
    expect(drv.fits(3)).toBe(0);
    expect(drv.add(bufs(3, 1), 'b')).toBeUndefined();
    expect(drv.add(bufs(5, 1), 'c')).toBeUndefined(); // longer than the ring: never fits
    expect(area(mem, 0, addrs.end)).toBe(before);
    expect([drv.numFree, drv.inFlight]).toEqual([2, 1]);
    expect(drv.add(bufs(2, 0), 'd')).toBe(2);
    expect(drv.numFree).toBe(0);
  });

  it('direct: descriptorCost is one per buffer and fits divides numFree by it', () => {
    const { drv } = rig(4);
    expect([1, 2, 3, 4, 5].map((n) => drv.descriptorCost(n))).toEqual([1, 2, 3, 4, 5]);
    expect([0, 1, 2, 3, 4, 5].map((n) => drv.fits(n))).toEqual([0, 4, 2, 1, 1, 0]);
    drv.add(bufs(3, 1), 'a');
    expect([drv.numFree, drv.fits(1), drv.fits(2)]).toEqual([1, 1, 0]);
  });

  it('indirect: a multi-buffer request costs one descriptor; a single buffer stays direct', () => {
    const { mem, drv, alloc, addrs } = rig(4, { indirectBytes: 0x1000 });
    expect([1, 2, 3, 4].map((n) => drv.descriptorCost(n))).toEqual([1, 1, 1, 1]);
    expect(drv.descriptorCost(5)).toBe(5); // beyond indirectMax (default qsz): direct
    expect([drv.fits(3), drv.fits(4), drv.fits(5)]).toEqual([4, 4, 0]);
    for (let i = 0; i < 4; i++) {
      const head = drv.add(bufs(3, 1), `r${i}`) as number;
      expect(getU16(mem.bytes, addrs.desc + 16 * head + 12)).toBe(F.INDIRECT);
      expect(drv.numFree).toBe(3 - i);
    }
    expect(alloc?.liveCount).toBe(4);
    const freeBytes = alloc?.freeBytes;
    const before = area(mem, 0, addrs.end);
    expect(drv.add(bufs(3, 1), 'x')).toBeUndefined(); // ring full: the table is given back (to the reuse cache)
    expect([(alloc?.liveCount ?? 0) - drv.cachedIndirectTables, drv.cachedIndirectTables]).toEqual([4, 1]);
    expect(alloc?.freeBytes).toBe((freeBytes ?? 0) - 48); // one cached 3-entry table
    expect(area(mem, 0, addrs.end)).toBe(before);
  });

  it('indirectMax: longer requests go direct and are charged per buffer', () => {
    const { mem, drv, addrs } = rig(8, { indirectBytes: 0x1000, indirectMax: 2 });
    expect([drv.descriptorCost(2), drv.descriptorCost(3)]).toEqual([1, 3]);
    const h3 = drv.add(bufs(3, 1), 'three') as number;
    expect(drv.numFree).toBe(5);
    expect(getU16(mem.bytes, addrs.desc + 16 * h3 + 12)).toBe(F.NEXT);
    const h2 = drv.add(bufs(2, 1), 'two') as number;
    expect(drv.numFree).toBe(4);
    expect(getU16(mem.bytes, addrs.desc + 16 * h2 + 12)).toBe(F.INDIRECT);
  });

  it('allocator exhausted: falls back to a direct chain and uses tables again once freed', () => {
    const { mem, drv, dev, alloc, addrs } = rig(8, { indirectBytes: 48 }); // room for one 3-entry table
    const a = drv.add(bufs(3, 1, DATA), 'a') as number;
    expect([drv.numFree, alloc?.liveCount]).toEqual([7, 1]);
    const b = drv.add(bufs(3, 1, DATA + 0x1000), 'b') as number;
    expect([drv.numFree, alloc?.liveCount]).toEqual([4, 1]);
    expect(getU16(mem.bytes, addrs.desc + 16 * b + 12)).toBe(F.NEXT); // direct, not INDIRECT
    drv.publish();
    const chains = popAll(dev);
    expect(chains.map(buffersOf)).toEqual([bufs(3, 1, DATA), bufs(3, 1, DATA + 0x1000)]);
    dev.push(a, 0);
    dev.push(b, 0);
    dev.publish();
    expect(drain(drv).map((u) => u.token)).toEqual(['a', 'b']);
    // The table went to the reuse cache, not back to the allocator.
    expect([drv.numFree, alloc?.liveCount, drv.cachedIndirectTables]).toEqual([8, 1, 1]);
    const c = drv.add(bufs(3, 1), 'c') as number;
    expect(getU16(mem.bytes, addrs.desc + 16 * c + 12)).toBe(F.INDIRECT);
    expect(drv.numFree).toBe(7);
  });

  it('indirect tables are at most qsz long (§2.7.5.3.1): qsz 2 carries two 2-buffer requests, qsz 1 none', () => {
    const two = rig(2, { indirectBytes: 0x100 });
    expect([two.drv.fits(2), two.drv.fits(3)]).toEqual([2, 0]);
    expect([two.drv.add(bufs(2, 1), 'a'), two.drv.add(bufs(2, 0, DATA + 0x1000), 'b')]).toEqual([0, 1]);
    expect(two.drv.add(bufs(1, 0), 'c')).toBeUndefined();
    two.drv.publish();
    expect(popAll(two.dev).map(buffersOf)).toEqual([bufs(2, 1), bufs(2, 0, DATA + 0x1000)]);
    const one = rig(1, { indirectBytes: 0x100 });
    expect([one.drv.descriptorCost(2), one.drv.fits(2)]).toEqual([2, 0]);
    expect(one.drv.add(bufs(2, 1), 'a')).toBeUndefined();
    expect(one.alloc?.liveCount).toBe(0);
    expect(one.drv.add(bufs(1, 0), 'b')).toBe(0);
  });
});

describe('free-running 16-bit indices (§2.7.6 "idx … starts at 0, and increases")', () => {
  /** One cycle: add `batch` requests, publish once, serve them in reverse, take them back. */
  function cycle(r: ReturnType<typeof rig>, serial: number, batch: number, buffers: number): string | undefined {
    const tokens: string[] = [];
    for (let i = 0; i < batch; i++) {
      const t = `${serial}.${i}`;
      if (r.drv.add(bufs(buffers, 1, DATA + 0x800 * i), t) === undefined) return `add ${t} refused`;
      tokens.push(t);
    }
    r.drv.publish();
    const chains = popAll(r.dev);
    if (chains.length !== batch) return `popped ${chains.length} of ${batch}`;
    for (const c of chains.reverse()) r.dev.push(c.head, c.head + 1);
    r.dev.publish();
    const got = drain(r.drv).map((u) => u.token);
    if (got.join() !== tokens.reverse().join()) return `cycle ${serial}: got ${got.join()}, expected ${tokens.join()}`;
    return r.drv.numFree === r.drv.size && r.drv.inFlight === 0 ? undefined : `cycle ${serial}: descriptors leaked`;
  }

  it('qsz 4: avail.idx and used.idx read 0xffff after 65535 publishes, 3 after 65539, then batches', () => {
    const r = rig(4);
    let failure: string | undefined;
    for (let i = 0; i < 65535 && failure === undefined; i++) failure = cycle(r, i, 1, 1);
    expect(failure).toBeUndefined();
    expect([getU16(r.mem.bytes, availIdx(r.addrs)), getU16(r.mem.bytes, usedIdx(r.addrs))]).toEqual([0xffff, 0xffff]);
    for (let i = 65535; i < 65539 && failure === undefined; i++) failure = cycle(r, i, 1, 1);
    expect([getU16(r.mem.bytes, availIdx(r.addrs)), getU16(r.mem.bytes, usedIdx(r.addrs))]).toEqual([3, 3]);
    // Batches of 1..4 (full ring), 2-buffer chains, across a second wrap.
    let total = 65539;
    for (let i = 0; i < 30000 && failure === undefined; i++) {
      const batch = (i % 4) + 1;
      failure = cycle(r, 65539 + i, batch, batch <= 2 && i % 3 !== 0 ? 2 : 1);
      total += batch;
    }
    expect(failure).toBeUndefined();
    expect(total).toBeGreaterThan(2 * 65536);
    expect(getU16(r.mem.bytes, availIdx(r.addrs))).toBe(total % 65536);
    expect(getU16(r.mem.bytes, usedIdx(r.addrs))).toBe(total % 65536);
    expect(cycle(r, -1, 4, 1)).toBeUndefined();
  });

  it('qsz 1: 70,000 cycles, one slot reused every time', () => {
    const r = rig(1);
    let failure: string | undefined;
    for (let i = 0; i < 70_000 && failure === undefined; i++) failure = cycle(r, i, 1, 1);
    expect(failure).toBeUndefined();
    expect(getU16(r.mem.bytes, availIdx(r.addrs))).toBe(70_000 - 65536);
    expect(getU16(r.mem.bytes, usedIdx(r.addrs))).toBe(70_000 - 65536);
  });

  it('qsz 2 with indirect: 70,000 cycles of 1-2 requests of 1-2 buffers', () => {
    const r = rig(2, { indirectBytes: 0x100 });
    let failure: string | undefined;
    for (let i = 0; i < 70_000 && failure === undefined; i++) failure = cycle(r, i, 1 + (i % 2), 1 + ((i >> 1) % 2));
    expect(failure).toBeUndefined();
    expect(getU16(r.mem.bytes, availIdx(r.addrs))).toBe((35_000 * 3) % 65536);
    expect((r.alloc?.liveCount ?? 0) - r.drv.cachedIndirectTables).toBe(0);
    r.drv.detachAll();
    expect(r.alloc?.liveCount).toBe(0);
  });

  it('EVENT_IDX with event fields left at 0 notifies after the first buffer and again after the 65537th (§2.7.7 note)', () => {
    const r = rig(2, { eventIdx: true });
    const notified: number[] = [];
    const interrupted: number[] = [];
    for (let i = 1; i <= 65540; i++) {
      r.drv.add(bufs(1, 0), 'x');
      if (r.drv.publish()) notified.push(i);
      r.dev.push(chainOf(r.dev.pop()).head, 0);
      if (r.dev.publish()) interrupted.push(i);
      r.drv.getUsed();
    }
    expect(notified).toEqual([1, 65537]);
    expect(interrupted).toEqual([1, 65537]);
    expect(r.drv.notifyStats).toEqual({ notified: 2, suppressed: 65538 });
    expect(r.dev.interruptStats).toEqual({ interrupted: 2, suppressed: 65538 });
  });

  it('EVENT_IDX across the wrap: each side re-arms on some cycles; kicks happen exactly when idx passes the event', () => {
    const r = rig(4, { eventIdx: true });
    // Independent model: an event e is crossed by old → now when e ∈ [old, now) mod 2^16.
    const crosses = (e: number, old: number, now: number): boolean => ((e - old) & 0xffff) < ((now - old) & 0xffff);
    let availEv = 0, usedEv = 0, avail = 0, used = 0, mismatches = 0;
    for (let i = 0; i < 70_000; i++) {
      const batch = (i % 4) + 1;
      for (let j = 0; j < batch; j++) r.drv.add(bufs(1, 0), 'x');
      if (r.drv.publish() !== crosses(availEv, avail, avail + batch)) mismatches++;
      avail = (avail + batch) & 0xffff;
      const chains = popAll(r.dev);
      if (i % 3 === 0) {
        r.dev.enableNotifications();
        availEv = avail;
        if (getU16(r.mem.bytes, availEvent(r.addrs, 4)) !== availEv) mismatches++;
      }
      for (const c of chains) {
        r.dev.push(c.head, 0);
        if (i % 2 === 0) { // the device publishes per entry on even cycles
          if (r.dev.publish() !== crosses(usedEv, used, used + 1)) mismatches++;
          used = (used + 1) & 0xffff;
        }
      }
      if (i % 2 === 1) {
        if (r.dev.publish() !== crosses(usedEv, used, used + batch)) mismatches++;
        used = (used + batch) & 0xffff;
      }
      drain(r.drv);
      if (i % 5 === 0) {
        expect(r.drv.enableInterrupts()).toBe(false);
        usedEv = used;
        if (getU16(r.mem.bytes, usedEvent(r.addrs, 4)) !== usedEv) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
    expect(r.drv.notifyStats.notified).toBeGreaterThan(20_000);
    expect(r.drv.notifyStats.suppressed).toBeGreaterThan(20_000);
  });
});

describe('out-of-order completion (§2.7.8: used entries in any order)', () => {
  it('tokens come back in completion order and the free list recovers fully', () => {
    const { drv, dev } = rig(8);
    const shapes: [string, number][] = [['A', 2], ['B', 1], ['C', 3], ['D', 2]]; // 8 descriptors
    const heads = new Map<string, number>();
    for (const [t, n] of shapes) heads.set(t, drv.add(bufs(n, 1, DATA + 0x1000 * heads.size), t) as number);
    expect(drv.numFree).toBe(0);
    drv.publish();
    const chains = popAll(dev);
    expect(chains.map((c) => buffersOf(c).length)).toEqual([2, 1, 3, 2]);
    for (const t of ['C', 'A', 'D', 'B']) dev.push(heads.get(t) ?? -1, t.charCodeAt(0));
    dev.publish();
    expect(drain(drv)).toEqual(['C', 'A', 'D', 'B'].map((t) => ({ token: t, len: t.charCodeAt(0) })));
    expect([drv.numFree, drv.inFlight]).toEqual([8, 0]);
    // A full-ring batch fits again: 8 singles take 8 distinct heads, then one 8-chain.
    const singles = Array.from({ length: 8 }, (_, i) => drv.add(bufs(1, 0), `s${i}`));
    expect(new Set(singles).size).toBe(8);
    expect(singles.every((h) => h !== undefined && h < 8)).toBe(true);
    drv.publish();
    for (const c of popAll(dev).reverse()) dev.push(c.head, 0);
    dev.publish();
    expect(drain(drv).map((u) => u.token)).toEqual(Array.from({ length: 8 }, (_, i) => `s${7 - i}`));
    expect(drv.fits(8)).toBe(1);
    expect(drv.add(bufs(8, 3), 'long')).toBeDefined();
    drv.publish();
    expect(popAll(dev).map(buffersOf)).toEqual([bufs(8, 3)]);
  });

  it('interleaved adds and scrambled completions on a fragmented free list stay consistent', () => {
    const { drv, dev } = rig(8);
    let seed = 12345;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    const outstanding = new Map<number, { token: string; bufs: VirtqBuffer[] }>();
    const popped: AvailChain[] = [];
    let serial = 0;
    for (let round = 0; round < 2000; round++) {
      const n = 1 + rand(3);
      const b = bufs(n, rand(n + 1), DATA + 0x100 * rand(16));
      const token = `t${serial++}`;
      const head = drv.add(b, token);
      if (head !== undefined) outstanding.set(head, { token, bufs: b });
      if (rand(2) === 0) {
        drv.publish();
        for (const c of popAll(dev)) {
          expect(buffersOf(c)).toEqual(outstanding.get(c.head)?.bufs);
          popped.push(c);
        }
      }
      while (popped.length > 0 && rand(3) !== 0) {
        const [c] = popped.splice(rand(popped.length), 1);
        if (c !== undefined) dev.push(c.head, 0);
      }
      dev.publish();
      for (const u of drain(drv)) {
        const entry = [...outstanding].find(([, o]) => o.token === u.token);
        expect(entry).toBeDefined();
        if (entry) outstanding.delete(entry[0]);
      }
      expect(drv.inFlight).toBe(outstanding.size);
    }
    drv.publish();
    for (const c of [...popped, ...popAll(dev)]) dev.push(c.head, 0);
    dev.publish();
    drain(drv);
    expect([drv.numFree, drv.inFlight, drv.broken]).toEqual([8, 0, undefined]);
  });
});

describe('notification suppression without EVENT_IDX (flags, §2.7.7 / §2.7.10)', () => {
  it('device NO_NOTIFY: driver publish returns false and counts it suppressed; enableNotifications restores', () => {
    const { mem, drv, dev, addrs } = rig(4);
    dev.disableNotifications();
    expect(getU16(mem.bytes, usedFlags(addrs))).toBe(F.NO_NOTIFY);
    drv.add(bufs(1, 0), 'a');
    expect(drv.publish()).toBe(false);
    expect(drv.notifyStats).toEqual({ notified: 0, suppressed: 1 });
    expect(drv.publish()).toBe(false); // nothing new: not counted
    expect(drv.notifyStats).toEqual({ notified: 0, suppressed: 1 });
    expect(dev.enableNotifications()).toBe(true); // 'a' is pending: keep processing
    expect(getU16(mem.bytes, usedFlags(addrs))).toBe(0);
    popAll(dev);
    expect(dev.enableNotifications()).toBe(false);
    drv.add(bufs(1, 0), 'b');
    expect(drv.publish()).toBe(true);
    expect(drv.notifyStats).toEqual({ notified: 1, suppressed: 1 });
  });

  it('driver NO_INTERRUPT: device publish returns false; enableInterrupts reports pending entries', () => {
    const { mem, drv, dev, addrs } = rig(4);
    drv.disableInterrupts();
    expect(getU16(mem.bytes, availFlags(addrs))).toBe(F.NO_INTERRUPT);
    drv.add(bufs(1, 0), 'a');
    drv.add(bufs(1, 0), 'b');
    drv.publish();
    const [a, b] = popAll(dev);
    dev.push(a?.head ?? -1, 1);
    expect(dev.publish()).toBe(false);
    expect(dev.publish()).toBe(false); // nothing new: not counted
    expect(dev.interruptStats).toEqual({ interrupted: 0, suppressed: 1 });
    expect(drv.enableInterrupts()).toBe(true); // 'a' already used: drain before sleeping
    expect(getU16(mem.bytes, availFlags(addrs))).toBe(0);
    expect(drain(drv).map((u) => u.token)).toEqual(['a']);
    expect(drv.enableInterrupts()).toBe(false);
    dev.push(b?.head ?? -1, 1);
    expect(dev.publish()).toBe(true);
    expect(dev.interruptStats).toEqual({ interrupted: 1, suppressed: 1 });
  });

  it('without EVENT_IDX the event fields are ignored', () => {
    const { mem, drv, dev, addrs } = rig(4);
    putU16(mem.bytes, availEvent(addrs, 4), 0x1234);
    putU16(mem.bytes, usedEvent(addrs, 4), 0x1234);
    for (let i = 0; i < 3; i++) {
      drv.add(bufs(1, 0), 'x');
      expect(drv.publish()).toBe(true);
      dev.push(chainOf(dev.pop()).head, 0);
      expect(dev.publish()).toBe(true);
      drv.getUsed();
    }
  });
});

describe('notification suppression with EVENT_IDX (used_event / avail_event, §2.7.7 / §2.7.10)', () => {
  it('a batch of N adds and one publish kicks exactly once; later publishes wait for avail_event', () => {
    const { mem, drv, dev, addrs } = rig(8, { eventIdx: true });
    for (let i = 0; i < 5; i++) drv.add(bufs(1, 0), `a${i}`);
    expect(drv.publish()).toBe(true); // 0 → 5 passes avail_event 0
    expect(drv.notifyStats).toEqual({ notified: 1, suppressed: 0 });
    drv.add(bufs(1, 0), 'b');
    expect(drv.publish()).toBe(false); // device has not re-armed
    expect(dev.enableNotifications()).toBe(true); // six chains pending
    expect(getU16(mem.bytes, availEvent(addrs, 8))).toBe(0);
    expect(popAll(dev)).toHaveLength(6);
    expect(dev.enableNotifications()).toBe(false);
    expect(getU16(mem.bytes, availEvent(addrs, 8))).toBe(6);
    drv.add(bufs(1, 0), 'c');
    expect(drv.publish()).toBe(true);
    expect(drv.notifyStats).toEqual({ notified: 2, suppressed: 1 });
  });

  it('the driver kicks when avail.idx reaches avail_event + 1, in one step or in a batch', () => {
    const { mem, drv, dev, addrs } = rig(8, { eventIdx: true });
    const step = (n: number): boolean => {
      for (let i = 0; i < n; i++) drv.add(bufs(1, 0), 'x');
      const kick = drv.publish();
      for (const c of popAll(dev)) dev.push(c.head, 0);
      dev.publish();
      drain(drv);
      return kick;
    };
    expect(step(3)).toBe(true); // idx 0 → 3
    putU16(mem.bytes, availEvent(addrs, 8), 5);
    expect([step(1), step(1), step(1)]).toEqual([false, false, true]); // 3→4, 4→5, 5→6 writes entry 5
    putU16(mem.bytes, availEvent(addrs, 8), 7);
    expect(step(3)).toBe(true); // 6 → 9 passes 7
    putU16(mem.bytes, availEvent(addrs, 8), 9);
    putU16(mem.bytes, usedFlags(addrs), F.NO_NOTIFY); // "MUST ignore the lower bit of flags"
    expect(step(1)).toBe(true); // 9 → 10
    putU16(mem.bytes, availEvent(addrs, 8), 9);
    expect(step(8)).toBe(false); // 10 → 18: entry 9 was written long ago
  });

  it('the device interrupts when used.idx reaches used_event + 1; disableInterrupts parks it', () => {
    const { mem, drv, dev, addrs } = rig(8, { eventIdx: true });
    for (let i = 0; i < 8; i++) drv.add(bufs(1, 0), `r${i}`);
    drv.publish();
    const chains = popAll(dev);
    const complete = (n: number): boolean => {
      for (let i = 0; i < n; i++) dev.push(chains.shift()?.head ?? -1, 0);
      return dev.publish();
    };
    expect(complete(1)).toBe(true); // used_event 0: first entry interrupts
    expect(complete(1)).toBe(false);
    expect(drv.enableInterrupts()).toBe(true); // two pending: the race enable_cb closes
    expect(getU16(mem.bytes, usedEvent(addrs, 8))).toBe(0);
    expect(drain(drv)).toHaveLength(2);
    expect(drv.enableInterrupts()).toBe(false);
    expect(getU16(mem.bytes, usedEvent(addrs, 8))).toBe(2);
    putU16(mem.bytes, availFlags(addrs), F.NO_INTERRUPT); // ignored with EVENT_IDX
    expect(complete(1)).toBe(true); // 2 → 3 writes entry 2
    putU16(mem.bytes, usedEvent(addrs, 8), 4);
    expect(complete(1)).toBe(false); // 3 → 4
    expect(complete(2)).toBe(true); // 4 → 6 passes 4
    drain(drv);
    putU16(mem.bytes, availFlags(addrs), 0);
    drv.disableInterrupts();
    expect(getU16(mem.bytes, availFlags(addrs))).toBe(0); // "The driver MUST set flags to 0"
    expect(complete(1)).toBe(false);
    expect(complete(1)).toBe(false);
    expect(dev.interruptStats).toEqual({ interrupted: 3, suppressed: 4 });
  });

  it('disableNotifications leaves used.flags 0 ("The device MUST set flags to 0")', () => {
    const { mem, dev, addrs } = rig(4, { eventIdx: true });
    dev.disableNotifications();
    expect(getU16(mem.bytes, usedFlags(addrs))).toBe(0);
  });
});

describe('untrusted device: the driver validates the used ring (§2.7.8; Linux BAD_RING)', () => {
  function setup() {
    const r = rig(4, { indirectBytes: 0x100 });
    r.drv.add(bufs(3, 1), 'a'); // head 0, indirect
    r.drv.add(bufs(1, 0), 'b'); // head 1
    r.drv.add(bufs(1, 0), 'c'); // head 2
    r.drv.publish();
    return r;
  }
  const inject = (r: ReturnType<typeof setup>, slot: number, id: number, idx: number): void => {
    putUsedElem(r.mem.bytes, r.addrs.used, slot, id, 0);
    putU16(r.mem.bytes, usedIdx(r.addrs), idx);
  };
  function expectBroken(r: ReturnType<typeof setup>, reason: RegExp, outstanding: string[]): void {
    expect(r.drv.getUsed()).toBeUndefined();
    expect(r.drv.broken).toMatch(reason);
    expect(r.drv.getUsed()).toBeUndefined();
    expect(r.drv.add(bufs(1, 0), 'late')).toBeUndefined();
    expect(r.drv.fits(1)).toBe(0);
    expect(r.drv.detachAll()).toEqual(outstanding);
    expect([r.drv.numFree, r.drv.inFlight, r.alloc?.liveCount]).toEqual([4, 0, 0]);
  }

  it.each([
    ['id = qsz', 4],
    ['id = 0xffff', 0xffff],
    ['id = 0xffffffff', 0xffffffff],
    ['id of a free descriptor', 3],
  ])('%s → broken', (_, id) => {
    const r = setup();
    inject(r, 0, id, 1);
    expectBroken(r, new RegExp(`used id ${id} `), ['a', 'b', 'c']);
  });

  it('an id completed twice → broken, and the other token is not handed out', () => {
    const r = setup();
    inject(r, 0, 1, 1);
    expect(r.drv.getUsed()).toEqual({ token: 'b', len: 0 });
    inject(r, 1, 1, 2);
    expectBroken(r, /used id 1 /, ['a', 'c']);
  });

  it('used.idx further ahead than the requests in flight → broken', () => {
    const r = setup();
    inject(r, 0, 0, 4);
    expectBroken(r, /ran 4 entries ahead with only 3 in flight/, ['a', 'b', 'c']);
  });

  it('used.idx moving backwards → broken', () => {
    const r = setup();
    inject(r, 0, 2, 1);
    expect(r.drv.getUsed()?.token).toBe('c');
    putU16(r.mem.bytes, usedIdx(r.addrs), 0);
    expectBroken(r, /ran 65535 entries ahead/, ['a', 'b']);
  });

  it('a non-head id inside a direct chain → broken', () => {
    const r = rig(4);
    r.drv.add(bufs(3, 1), 'a'); // descriptors 0, 1, 2
    r.drv.publish();
    putUsedElem(r.mem.bytes, r.addrs.used, 0, 1, 0);
    putU16(r.mem.bytes, usedIdx(r.addrs), 1);
    expect(r.drv.getUsed()).toBeUndefined();
    expect(r.drv.broken).toMatch(/used id 1 is not an outstanding head/);
    expect(r.drv.detachAll()).toEqual(['a']);
    expect(r.drv.numFree).toBe(4);
  });

  it('detachAll on a healthy ring returns every outstanding token in head order and frees tables', () => {
    const r = setup();
    expect([r.drv.numFree, r.alloc?.liveCount]).toEqual([1, 1]);
    expect(r.drv.detachAll()).toEqual(['a', 'b', 'c']);
    expect([r.drv.numFree, r.drv.inFlight, r.alloc?.liveCount, r.drv.broken]).toEqual([4, 0, 0, undefined]);
    expect(r.drv.detachAll()).toEqual([]);
    const heads = [0, 1, 2, 3].map((i) => r.drv.add(bufs(1, 0), `n${i}`));
    expect(new Set(heads)).toEqual(new Set([0, 1, 2, 3]));
  });
});

describe('untrusted driver: pop() validates every descriptor (§2.7.5, §2.7.5.3)', () => {
  const MEM = 0x10000;
  function hand(o: { indirect?: boolean } = {}) {
    const mem = newMem(MEM);
    const dev = new SplitVirtqDevice(mem, 4, QSZ4, { indirect: o.indirect ?? false });
    let idx = 0;
    return {
      mem,
      dev,
      desc(at: number, addr: bigint | number, len: number, flags = 0, next = 0): void {
        putDesc(mem.bytes, at, { addr: BigInt(addr), len, flags, next });
      },
      offer(...heads: number[]): void {
        for (const h of heads) putU16(mem.bytes, QSZ4.avail + 4 + 2 * (idx++ % 4), h);
        putU16(mem.bytes, availIdx(QSZ4), idx & 0xffff);
      },
      /** pop(), asserting that it wrote nothing. */
      pop(): PopResult {
        const before = mem.bytes.slice();
        const r = dev.pop();
        expect(mem.bytes.every((b, i) => b === before[i])).toBe(true);
        return r;
      },
    };
  }
  const D = (i: number): number => QSZ4.desc + 16 * i;

  it('avail.idx up to qsz ahead is fine; qsz + 1 or a backwards jump is corrupt', () => {
    const h = hand();
    for (let i = 0; i < 4; i++) h.desc(D(i), 0x1000 * (i + 1), 8);
    h.offer(3, 2, 1, 0);
    expect([0, 1, 2, 3].map(() => chainOf(h.pop()).head)).toEqual([3, 2, 1, 0]);
    expect(h.pop()).toBeUndefined();
    putU16(h.mem.bytes, availIdx(QSZ4), 9);
    expect(corruptOf(h.pop())).toMatch(/avail\.idx moved 5 entries ahead of a 4-entry ring/);
    putU16(h.mem.bytes, availIdx(QSZ4), 3);
    expect(corruptOf(h.pop())).toMatch(/65535 entries ahead/);
  });

  it.each([[4], [0xffff]])('head %i ≥ qsz is corrupt', (head) => {
    const h = hand();
    h.offer(head);
    expect(corruptOf(h.pop())).toMatch(new RegExp(`head ${head} ≥ queue size 4`));
  });

  it('next = qsz - 1 is followed; next = qsz is corrupt', () => {
    const h = hand();
    h.desc(D(0), 0x1000, 8, F.NEXT, 3);
    h.desc(D(3), 0x2000, 8);
    h.desc(D(1), 0x1000, 8, F.NEXT, 4);
    h.offer(0, 1);
    expect(buffersOf(chainOf(h.pop()))).toEqual([{ addr: 0x1000, len: 8, write: false }, { addr: 0x2000, len: 8, write: false }]);
    expect(corruptOf(h.pop())).toMatch(/links to 4, beyond 4 entries/);
  });

  it('a chain of exactly qsz descriptors is fine; a loop is corrupt, not a hang', () => {
    const h = hand();
    for (let i = 0; i < 4; i++) h.desc(D(i), 0x1000 * (i + 1), 8, i < 3 ? F.NEXT : 0, i + 1);
    h.offer(0);
    expect(buffersOf(chainOf(h.pop()))).toHaveLength(4);
    h.desc(D(3), 0x4000, 8, F.NEXT, 0); // 0 → 1 → 2 → 3 → 0
    h.offer(0);
    expect(corruptOf(h.pop())).toMatch(/loop/);
    h.desc(D(2), 0x3000, 8, F.NEXT, 2); // self loop
    h.offer(2);
    expect(corruptOf(h.pop())).toMatch(/loop/);
  });

  /** Counts DataView reads during `fn`: the work pop() does on behalf of the driver. */
  function countReads(fn: () => void): number {
    const spies = [vi.spyOn(DataView.prototype, 'getUint16'), vi.spyOn(DataView.prototype, 'getUint32'), vi.spyOn(DataView.prototype, 'getBigUint64')];
    try {
      fn();
      return spies.reduce((n, s) => n + s.mock.calls.length, 0);
    } finally {
      for (const s of spies) s.mockRestore();
    }
  }

  it('a loop through the whole table is reported after reading about qsz descriptors', () => {
    const mem = newMem(0x4000);
    const addrs = contiguous(64);
    const dev = new SplitVirtqDevice(mem, 64, addrs);
    for (let i = 0; i < 64; i++) putDesc(mem.bytes, 16 * i, { addr: 0x3000n, len: 1, flags: F.NEXT, next: (i + 1) % 64 });
    putU16(mem.bytes, availIdx(addrs), 1);
    let r: PopResult;
    const reads = countReads(() => { r = dev.pop(); });
    expect(corruptOf(r)).toMatch(/loop/);
    expect(reads).toBeLessThanOrEqual(8 * 65); // at most 8 field reads per descriptor, qsz + 1 descriptors
  });

  // A loop in a huge indirect table must cost work bounded by the queue size
  // (§2.7.5.3.1), not by the table length (a hostile driver could stall the device).
  it('a loop in an indirect table spanning memory is reported within 65536 steps', () => {
    const size = 1 << 22; // 262,000 table entries
    const mem = newMem(size);
    const dev = new SplitVirtqDevice(mem, 4, QSZ4, { indirect: true });
    putDesc(mem.bytes, 0x1000, { addr: 0x100n, len: 1, flags: F.NEXT, next: 1 });
    putDesc(mem.bytes, 0x1010, { addr: 0x100n, len: 1, flags: F.NEXT, next: 0 });
    putDesc(mem.bytes, QSZ4.desc, { addr: 0x1000n, len: size - 0x1000, flags: F.INDIRECT, next: 0 });
    putU16(mem.bytes, availIdx(QSZ4), 1);
    let r: PopResult;
    const reads = countReads(() => { r = dev.pop(); });
    expect(corruptOf(r)).toMatch(/loop/);
    expect(reads).toBeLessThanOrEqual(8 * 65537);
  });

  it('INDIRECT without VIRTIO_F_INDIRECT_DESC is corrupt', () => {
    const h = hand();
    h.desc(0x800, 0x1000, 8);
    h.desc(D(0), 0x800, 16, F.INDIRECT);
    h.offer(0);
    expect(corruptOf(h.pop())).toMatch(/not negotiated/);
  });

  it('an indirect table is walked by its own indices; the WRITE bit of the ring descriptor is ignored', () => {
    const h = hand({ indirect: true });
    h.desc(0x800, 0x1000, 8, F.NEXT, 2);
    h.desc(0x810, 0x3000, 8, F.WRITE); // skipped: entry 1 is not linked
    h.desc(0x820, 0x2000, 4, F.WRITE | F.NEXT, 3);
    h.desc(0x830, 0x4000, 2, F.WRITE);
    h.desc(D(2), 0x800, 64, F.INDIRECT | F.WRITE);
    h.offer(2);
    const c = chainOf(h.pop());
    expect(c.head).toBe(2);
    expect(buffersOf(c)).toEqual([{ addr: 0x1000, len: 8, write: false }, { addr: 0x2000, len: 4, write: true }, { addr: 0x4000, len: 2, write: true }]);
    expect(c.fault).toBeUndefined();
  });

  it.each([
    ['INDIRECT and NEXT together', 0x800, 32, F.INDIRECT | F.NEXT, /both INDIRECT and NEXT/],
    ['table length 0', 0x800, 0, F.INDIRECT, /length 0,/],
    ['table length 8', 0x800, 8, F.INDIRECT, /length 8,/],
    ['table length 17', 0x800, 17, F.INDIRECT, /length 17,/],
    ['table length 24', 0x800, 24, F.INDIRECT, /length 24,/],
    ['table past the end of memory', MEM - 16, 32, F.INDIRECT, /outside guest memory/],
    ['table at 2^32', 2 ** 32, 32, F.INDIRECT, /outside guest memory/],
    ['table at 2^64 - 16', 0xffff_ffff_ffff_fff0n, 32, F.INDIRECT, /outside guest memory/],
  ])('%s is corrupt', (_, addr, len, flags, reason) => {
    const h = hand({ indirect: true });
    h.desc(0x800, 0x1000, 8);
    h.desc(0x810, 0x1000, 8);
    h.desc(D(0), addr, len, flags, 1);
    h.desc(D(1), 0x1000, 8);
    h.offer(0);
    expect(corruptOf(h.pop())).toMatch(reason);
  });

  // §2.7.5.3: the driver "can store a table of indirect descriptors anywhere in memory"; only the
  // queue's own descriptor table is 16-byte aligned (§2.7).
  it.each([0x808, 0x801])('a table at %#x (not 16-byte aligned) is walked like any other', (table) => {
    const h = hand({ indirect: true });
    h.desc(table, 0x1000, 16, F.NEXT, 1);
    h.desc(table + 16, 0x2000, 512, F.WRITE | F.NEXT, 2);
    h.desc(table + 32, 0x3000, 1, F.WRITE);
    h.desc(D(0), table, 48, F.INDIRECT);
    h.offer(0);
    const c = chainOf(h.pop());
    expect(c.fault).toBeUndefined();
    expect(buffersOf(c)).toEqual([
      { addr: 0x1000, len: 16, write: false },
      { addr: 0x2000, len: 512, write: true },
      { addr: 0x3000, len: 1, write: true },
    ]);
  });

  it('a table ending exactly at the end of memory is fine', () => {
    const h = hand({ indirect: true });
    h.desc(MEM - 32, 0x1000, 8, F.NEXT, 1);
    h.desc(MEM - 16, 0x2000, 8, F.WRITE);
    h.desc(D(0), MEM - 32, 32, F.INDIRECT);
    h.offer(0);
    expect(buffersOf(chainOf(h.pop()))).toHaveLength(2);
  });

  it.each([
    ['a nested indirect descriptor', [[0x1000, 8, F.NEXT, 1], [0x900, 16, F.INDIRECT, 0]], /nests another indirect/],
    ['next beyond the table', [[0x1000, 8, F.NEXT, 2], [0x2000, 8, 0, 0]], /links to 2, beyond 2 entries/],
    ['a loop inside the table', [[0x1000, 8, F.NEXT, 1], [0x2000, 8, F.NEXT, 0]], /loop/],
  ] as const)('an indirect table with %s is corrupt', (_, entries, reason) => {
    const h = hand({ indirect: true });
    h.desc(0x900, 0x3000, 8);
    entries.forEach(([addr, len, flags, next], i) => { h.desc(0x800 + 16 * i, addr, len, flags, next); });
    h.desc(D(0), 0x800, 16 * entries.length, F.INDIRECT);
    h.offer(0);
    expect(corruptOf(h.pop())).toMatch(reason);
  });

  it('an INDIRECT descriptor after the head of a direct chain is reported, not followed', () => {
    // INDIRECT together with NEXT is what makes this one corrupt (§2.7.5.3.1).
    const h = hand({ indirect: true });
    h.desc(0x800, 0x2000, 8, F.WRITE);
    h.desc(D(0), 0x1000, 8, F.NEXT, 1);
    h.desc(D(1), 0x800, 16, F.INDIRECT | F.NEXT, 2);
    h.offer(0);
    expect(corruptOf(h.pop())).toMatch(/INDIRECT|indirect/);
  });

  // §2.7.5.3.2: zero or more normal chained descriptors followed by one indirect descriptor is valid.
  it('a direct chain ending in an indirect descriptor is a valid chain (§2.7.5.3.2)', () => {
    const h = hand({ indirect: true });
    h.desc(0x800, 0x2000, 4, F.NEXT, 1);
    h.desc(0x810, 0x3000, 1, F.WRITE);
    h.desc(D(0), 0x1000, 16, F.NEXT, 1);
    h.desc(D(1), 0x800, 32, F.INDIRECT);
    h.offer(0);
    const c = chainOf(h.pop());
    expect(c.fault).toBeUndefined();
    expect(buffersOf(c)).toEqual([
      { addr: 0x1000, len: 16, write: false },
      { addr: 0x2000, len: 4, write: false },
      { addr: 0x3000, len: 1, write: true },
    ]);
  });

  it.each([
    ['a buffer past the end of memory', [[MEM - 4, 8, 0]], /outside guest memory/],
    ['len 0xffffffff at address 0', [[0, 0xffffffff, F.WRITE]], /outside guest memory/],
    ['an address ≥ 2^53', [[2n ** 53n, 8, 0]], /outside guest memory/],
    ['an address of 2^64 - 1', [[0xffff_ffff_ffff_ffffn, 1, F.WRITE]], /outside guest memory/],
    ['an address just below 2^53', [[2 ** 53 - 8, 8, 0]], /outside guest memory/],
    ['a readable buffer after a writable one', [[0x1000, 8, F.WRITE], [0x2000, 8, 0]], /device-readable after a device-writable/],
  ] as const)('%s: the chain comes back with a buffer fault and the ring keeps working', (_, descs, reason) => {
    const h = hand();
    descs.forEach(([addr, len, flags], i) => { h.desc(D(i), addr, len, i + 1 < descs.length ? flags | F.NEXT : flags, i + 1); });
    h.desc(D(3), 0x5000, 8, F.WRITE);
    h.offer(0, 3);
    const c = chainOf(h.pop());
    expect(c.head).toBe(0);
    expect(c.fault?.kind).toBe('buffer');
    expect(c.fault?.reason).toMatch(reason);
    expect(c.readable.length + c.writable.length).toBe(descs.length);
    const next = chainOf(h.pop());
    expect([next.head, next.fault, buffersOf(next)]).toEqual([3, undefined, [{ addr: 0x5000, len: 8, write: true }]]);
  });

  it('buffers touching the last byte, and an empty buffer at the end, are inside memory', () => {
    const h = hand();
    h.desc(D(0), MEM - 8, 8, F.NEXT, 1);
    h.desc(D(1), MEM, 0, F.WRITE);
    h.offer(0);
    const c = chainOf(h.pop());
    expect(c.fault).toBeUndefined();
    expect(buffersOf(c)).toEqual([{ addr: MEM - 8, len: 8, write: false }, { addr: MEM, len: 0, write: true }]);
  });
});

describe('constructor validation', () => {
  const mem = newMem(0x2000);
  it.each([0, 3, 6, 100, 65536, 32769, -4, 1.5, Number.NaN, Infinity])('queue size %s is refused', (qsz) => {
    const addrs = { desc: 0, avail: 0x1000, used: 0x1800 };
    expect(checkSplitRing(mem, qsz, addrs)).toBe(`queue size ${qsz} is not a power of two in 1..32768`);
    expect(() => new SplitVirtqDriver(mem, qsz, addrs)).toThrow(RangeError);
    expect(() => new SplitVirtqDevice(mem, qsz, addrs)).toThrow(/queue size/);
  });

  it.each([
    ['desc misaligned', { desc: 8, avail: 64, used: 80 }, 'desc area at 8 is not 16-byte aligned'],
    ['avail misaligned', { desc: 0, avail: 65, used: 80 }, 'avail area at 65 is not 2-byte aligned'],
    ['used misaligned', { desc: 0, avail: 64, used: 82 }, 'used area at 82 is not 4-byte aligned'],
    ['used two bytes past the end', { desc: 0, avail: 64, used: 0x2000 - 36 }, `used area [${0x2000 - 36}, +38) is outside guest memory (8192 bytes)`],
    ['desc past the end', { desc: 0x2000, avail: 64, used: 80 }, 'desc area [8192, +64) is outside guest memory (8192 bytes)'],
    ['avail negative', { desc: 0, avail: -2, used: 80 }, 'avail area [-2, +14) is outside guest memory (8192 bytes)'],
  ])('%s', (_, addrs, reason) => {
    expect(checkSplitRing(mem, 4, addrs)).toBe(reason);
    expect(() => new SplitVirtqDriver(mem, 4, addrs)).toThrow(new RangeError(reason));
    expect(() => new SplitVirtqDevice(mem, 4, addrs)).toThrow(new RangeError(reason));
  });

  it('accepts areas ending exactly at the end of memory, qsz 1 and qsz 32768', () => {
    expect(checkSplitRing(newMem(0x2002), 4, { desc: 0, avail: 64, used: 0x2002 - 38 })).toBeUndefined();
    expect(checkSplitRing(mem, 4, { desc: 0x2000 - 64, avail: 0x2000 - 14, used: 0 })).toBeUndefined();
    expect(checkSplitRing(mem, 1, { desc: 0x1ff0, avail: 0, used: 4 })).toBeUndefined();
    const big = newMem(1 << 20);
    const addrs = { desc: 0, avail: 0x80000, used: 0x90008 };
    expect(checkSplitRing(big, 32768, addrs)).toBeUndefined();
    expect(new SplitVirtqDriver(big, 32768, addrs).numFree).toBe(32768);
  });

  it('splitRingAreaSizes: desc 16q, avail 6 + 2q, used 6 + 8q', () => {
    expect(splitRingAreaSizes(1)).toEqual({ desc: 16, avail: 8, used: 14 });
    expect(splitRingAreaSizes(4)).toEqual({ desc: 64, avail: 14, used: 38 });
    expect(splitRingAreaSizes(32768)).toEqual({ desc: 524288, avail: 65542, used: 262150 });
  });

  it('indirect without an allocator is refused', () => {
    expect(() => new SplitVirtqDriver(mem, 4, QSZ4, { indirect: true })).toThrow(/allocator/);
  });

  it.each([
    ['no buffers', [], /at least one buffer/],
    ['a buffer past the end of memory', [{ addr: 0x1ff8, len: 9, write: false }], /outside guest memory/],
    ['a negative address', [{ addr: -1, len: 1, write: false }], /outside guest memory/],
    ['a fractional length', [{ addr: 0x100, len: 1.5, write: false }], /outside guest memory/],
    ['readable after writable', [{ addr: 0x100, len: 1, write: true }, { addr: 0x200, len: 1, write: false }], /device-readable buffer after/],
  ] as const)('add() with %s throws and changes nothing', (_, b, reason) => {
    const m = newMem(0x2000);
    const drv = new SplitVirtqDriver<string>(m, 4, QSZ4);
    const before = area(m, 0, 118);
    expect(() => drv.add(b, 'x')).toThrow(reason);
    expect(area(m, 0, 118)).toBe(before);
    expect([drv.numFree, drv.inFlight, drv.publish()]).toEqual([4, 0, false]);
    expect(drv.add([{ addr: 0x100, len: 1, write: false }], 'ok')).toBe(0);
  });

  // undefined marks a free head inside the driver: as a token it would be lost
  // and its completion would break the ring, so it is a caller bug (STYLE §6.1).
  it('an undefined token is refused at add(), nothing enqueued', () => {
    const m = newMem(0x2000);
    const drv = new SplitVirtqDriver<string | undefined>(m, 4, QSZ4);
    expect(() => drv.add([{ addr: 0x100, len: 1, write: true }], undefined)).toThrow(RangeError);
    expect([drv.numFree, drv.inFlight]).toEqual([4, 0]);
  });

  // §2.7.5.3.1: no chain may be longer than the queue size, indirect or not.
  it('indirectMax larger than the queue size, or a chain longer than the queue, is refused', () => {
    const m = newMem(0x4000);
    const alloc = new GuestAllocator(0x2000, 0x1000);
    expect(() => new SplitVirtqDriver<string>(m, 4, QSZ4, { indirect: true, allocator: alloc, indirectMax: 8 })).toThrow(/indirectMax must be 1\.\.4/);
    const drv = new SplitVirtqDriver<string>(m, 4, QSZ4, { indirect: true, allocator: alloc });
    expect(drv.add(bufs(6, 2, 0x100), 'six')).toBeUndefined();
    expect([drv.numFree, alloc.liveCount]).toEqual([4, 0]);
  });
});

describe('shared memory (SharedArrayBuffer, Atomics on idx and event fields)', () => {
  it('driver and device on separate GuestMemory views of one SharedArrayBuffer', () => {
    const sab = new SharedArrayBuffer(0x20000);
    const dmem = new GuestMemory(sab);
    const vmem = new GuestMemory(sab);
    expect([dmem.shared, vmem.shared]).toEqual([true, true]);
    const addrs = contiguous(8);
    const alloc = new GuestAllocator(0x18000, 0x1000);
    const drv = new SplitVirtqDriver<number>(dmem, 8, addrs, { indirect: true, eventIdx: true, allocator: alloc });
    const dev = new SplitVirtqDevice(vmem, 8, addrs, { indirect: true, eventIdx: true });
    let next = 0, seen = 0, back = 0;
    for (let round = 0; round < 1500; round++) {
      while (drv.fits(3) > 0 && next - back < 8) drv.add(bufs(1 + (next % 3), 1, DATA + 0x100 * (next % 16)), next++);
      drv.publish();
      for (const c of popAll(dev)) {
        expect(buffersOf(c)).toEqual(bufs(1 + (seen % 3), 1, DATA + 0x100 * (seen % 16)));
        seen++;
        dev.push(c.head, c.writable.length);
      }
      dev.enableNotifications();
      dev.publish();
      for (const u of drain(drv)) {
        expect(u.token).toBe(back++);
        expect(u.len).toBe(u.token % 3);
      }
      drv.enableInterrupts();
    }
    expect(back).toBe(next);
    expect(next).toBeGreaterThan(5_000);
    expect([drv.numFree, drv.inFlight, alloc.liveCount - drv.cachedIndirectTables, drv.broken]).toEqual([8, 0, 0, undefined]);
    expect(getU16(new Uint8Array(sab), availIdx(addrs))).toBe(next & 0xffff);
  });
});

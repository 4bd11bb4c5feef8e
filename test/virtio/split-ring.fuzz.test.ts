// Property tests for the split virtqueue (VIRTIO 1.2 §2.7): the device side against
// hostile ring memory, the driver side against random operation sequences and a
// hostile used ring. Seeds are printed by fast-check on failure; replay with
// fc.assert(..., { seed, path }).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestAllocator } from '../../src/virtio/guest-allocator.js';
import { GuestMemory } from '../../src/virtio/guest-memory.js';
import { SplitVirtqDevice, type AvailChain, type PopResult } from '../../src/virtio/split-ring-device.js';
import { SplitVirtqDriver, type VirtqBuffer } from '../../src/virtio/split-ring-driver.js';
import { putDesc, putU16, putUsedElem } from './split-ring.vectors.js';

const MEM = 0x4000;
const TABLES = 0x800; // a region of descriptors that indirect addresses are steered to

/** Contiguous placement by hand: desc 16q at 0, avail 6+2q, used 6+8q rounded up to 4. */
function contiguous(qsz: number) {
  const avail = 16 * qsz;
  const used = Math.ceil((avail + 6 + 2 * qsz) / 4) * 4;
  return { desc: 0, avail, used };
}

const isChain = (r: PopResult): r is AvailChain => r !== undefined && 'head' in r;

const descArb = (qsz: number) =>
  fc.record({
    addr: fc.oneof(
      { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: BigInt(MEM + 64) }) },
      fc.integer({ min: 0, max: 127 }).map((k) => BigInt(TABLES + 16 * k)),
      fc.constantFrom(0n, BigInt(MEM - 16), BigInt(MEM), 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    ),
    len: fc.oneof(
      fc.constantFrom(0, 8, 16, 32, 48, 64, 0xffffffff),
      fc.integer({ min: 0, max: 0x1000 }),
      fc.nat({ max: 0xffffffff }),
    ),
    flags: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) }, // NEXT / WRITE
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 7 }) }, // and INDIRECT
      { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }, // and undefined bits
    ),
    next: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: qsz + 1 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
  });

const hostileRing = fc.integer({ min: 0, max: 6 }).chain((log) => {
  const qsz = 1 << log;
  return fc.record({
    qsz: fc.constant(qsz),
    indirect: fc.boolean(),
    eventIdx: fc.boolean(),
    noise: fc.integer(), // seeds the background bytes of all memory
    descs: fc.array(descArb(qsz), { minLength: qsz, maxLength: qsz }),
    tables: fc.array(descArb(qsz), { maxLength: 64 }),
    heads: fc.array(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: qsz - 1 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }), {
      minLength: qsz,
      maxLength: qsz,
    }),
    availIdx: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: qsz }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
    rawDescs: fc.boolean(), // leave the descriptor table as noise instead
  });
});

describe('device pop() on hostile ring memory', () => {
  it('never throws, terminates, never writes, and returns only in-memory ranges unless it reports a fault', () => {
    fc.assert(
      fc.property(hostileRing, (h) => {
        const mem = GuestMemory.create(MEM);
        let x = h.noise | 1;
        for (let i = 0; i < MEM; i++) {
          x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
          mem.bytes[i] = x & 0xff;
        }
        const addrs = contiguous(h.qsz);
        if (!h.rawDescs) h.descs.forEach((d, i) => { putDesc(mem.bytes, addrs.desc + 16 * i, d); });
        h.tables.forEach((d, i) => { putDesc(mem.bytes, TABLES + 16 * i, d); });
        h.heads.forEach((head, i) => { putU16(mem.bytes, addrs.avail + 4 + 2 * i, head); });
        putU16(mem.bytes, addrs.avail + 2, h.availIdx);
        const dev = new SplitVirtqDevice(mem, h.qsz, addrs, { indirect: h.indirect, eventIdx: h.eventIdx });
        expect(dev.availPending).toBe(h.availIdx);
        popUntilDone(mem, dev, h.qsz);
      }),
      { numRuns: 1000 },
    );
  });

  it('the same holds for a valid ring with a few bytes flipped (desc table, avail ring, indirect tables)', () => {
    const request = fc.record({ reads: fc.integer({ min: 0, max: 3 }), writes: fc.integer({ min: 0, max: 3 }), at: fc.nat({ max: 0x3f }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.array(request, { minLength: 1, maxLength: 16 }),
        fc.array(fc.record({ where: fc.nat(), value: fc.nat({ max: 0xff }) }), { minLength: 1, maxLength: 6 }),
        (log, requests, flips) => {
          const qsz = 1 << log;
          const mem = GuestMemory.create(MEM);
          const addrs = contiguous(qsz);
          const alloc = new GuestAllocator(TABLES, 0x400);
          const drv = new SplitVirtqDriver<number>(mem, qsz, addrs, { indirect: true, allocator: alloc });
          requests.forEach((r, i) => {
            const n = Math.max(1, r.reads + r.writes);
            drv.add(Array.from({ length: n }, (_, k) => ({ addr: 0x1000 + 0x80 * ((r.at + k) % 0x3f), len: 1 + k, write: k >= r.reads })), i);
          });
          drv.publish();
          const ringEnd = addrs.used; // desc table and avail ring
          for (const f of flips) {
            const span = ringEnd + 0x400;
            const at = f.where % span;
            mem.bytes[at < ringEnd ? at : TABLES + at - ringEnd] = f.value;
          }
          popUntilDone(mem, new SplitVirtqDevice(mem, qsz, addrs, { indirect: true }), qsz);
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Pops until nothing is pending or the ring is corrupt, checking every result. */
function popUntilDone(mem: GuestMemory, dev: SplitVirtqDevice, qsz: number): void {
  const pending = dev.availPending;
  let chains = 0;
  for (let step = 0; ; step++) {
    expect(step).toBeLessThanOrEqual(qsz + 1); // terminates: at most one pop per published entry
    const before = mem.bytes.slice();
    const r = dev.pop();
    expect(Buffer.compare(before, mem.bytes)).toBe(0); // pop never writes guest memory
    if (r === undefined) {
      expect(chains).toBe(pending);
      return;
    }
    if (!isChain(r)) {
      expect(r.corrupt).toEqual(expect.any(String));
      return;
    }
    chains++;
    expect(chains).toBeLessThanOrEqual(Math.min(pending, qsz));
    expect(r.head).toBeLessThan(qsz);
    const n = r.readable.length + r.writable.length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(Math.max(qsz, MEM / 16));
    if (r.fault === undefined) {
      for (const g of [...r.readable, ...r.writable]) expect(mem.contains(g.addr, g.len)).toBe(true);
    } else {
      expect(r.fault.kind).toBe('buffer');
    }
  }
}

type Op =
  | { readonly op: 'add'; readonly reads: number; readonly writes: number; readonly slot: number }
  | { readonly op: 'publish' }
  | { readonly op: 'pop' }
  | { readonly op: 'push'; readonly pick: number; readonly len: number }
  | { readonly op: 'devPublish' }
  | { readonly op: 'getUsed' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('add' as const), reads: fc.integer({ min: 0, max: 4 }), writes: fc.integer({ min: 0, max: 4 }), slot: fc.nat({ max: 31 }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'publish' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'pop' as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('push' as const), pick: fc.nat(), len: fc.nat({ max: 0xffffffff }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'devPublish' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'getUsed' as const }) },
);

describe('driver under random operation sequences', () => {
  it('keeps numFree + charged = qsz, inFlight = outstanding, and returns every token exactly once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom('none', 'tiny', 'roomy'),
        fc.boolean(),
        fc.array(opArb, { maxLength: 200, size: 'max' }),
        (log, tables, eventIdx, ops) => {
          const qsz = 1 << log;
          const mem = GuestMemory.create(0x10000);
          const addrs = contiguous(qsz);
          // 'tiny' holds one 3-entry table, so requests keep falling back to direct chains.
          const alloc = tables === 'none' ? undefined : new GuestAllocator(0x8000, tables === 'tiny' ? 48 : 0x4000);
          const drv = new SplitVirtqDriver<number>(mem, qsz, addrs, alloc === undefined ? { eventIdx } : { eventIdx, indirect: true, allocator: alloc });
          const dev = new SplitVirtqDevice(mem, qsz, addrs, { indirect: alloc !== undefined, eventIdx });

          const outstanding = new Map<number, { bufs: VirtqBuffer[]; cost: number; head: number; len?: number }>();
          const unpublished: number[] = [];
          const published: number[] = []; // visible to the device, not yet popped
          const popped: number[] = []; // popped, not yet pushed
          const pushed: number[] = []; // pushed, not yet published by the device
          const completed = new Set<number>(); // published used entries
          const returned = new Set<number>();
          const accepted = new Set<number>();
          let serial = 0;

          const check = (): void => {
            let charged = 0, withTable = 0;
            for (const o of outstanding.values()) {
              charged += o.cost;
              if (o.cost === 1 && o.bufs.length > 1) withTable++;
            }
            expect(drv.numFree + charged).toBe(qsz);
            expect(drv.inFlight).toBe(outstanding.size);
            expect(drv.broken).toBeUndefined();
            if (alloc !== undefined) expect(alloc.liveCount - drv.cachedIndirectTables).toBe(withTable);
          };
          const reap = (): void => {
            for (let u = drv.getUsed(); u !== undefined; u = drv.getUsed()) {
              expect(returned.has(u.token)).toBe(false);
              expect(completed.has(u.token)).toBe(true);
              expect(u.len).toBe(outstanding.get(u.token)?.len);
              returned.add(u.token);
              completed.delete(u.token);
              outstanding.delete(u.token);
            }
            expect(completed.size).toBe(0);
          };
          const popAll = (): void => {
            for (let r = dev.pop(); r !== undefined; r = dev.pop()) {
              if (!isChain(r)) throw new Error(`the driver produced a corrupt ring: ${r.corrupt}`);
              const token = published.shift() as number;
              const o = outstanding.get(token);
              expect(r.fault).toBeUndefined();
              expect(r.head).toBe(o?.head);
              expect([...r.readable.map((g) => ({ ...g, write: false })), ...r.writable.map((g) => ({ ...g, write: true }))]).toEqual(o?.bufs);
              popped.push(token);
            }
            expect(published).toHaveLength(0);
          };
          const publish = (): void => {
            drv.publish();
            published.push(...unpublished.splice(0));
          };
          const devPublish = (): void => {
            dev.publish();
            for (const t of pushed.splice(0)) completed.add(t);
          };

          for (const o of ops) {
            switch (o.op) {
              case 'add': {
                const n = o.reads + o.writes;
                if (n === 0) break;
                const b = Array.from({ length: n }, (_, i) => ({ addr: 0x100 * ((o.slot + i) % 64), len: 1 + i, write: i >= o.reads }));
                const free = drv.numFree;
                const token = serial++;
                const head = drv.add(b, token);
                if (head === undefined) {
                  expect(free).toBeLessThan(n); // a direct chain would have fit otherwise
                  expect(drv.numFree).toBe(free);
                } else {
                  const cost = free - drv.numFree;
                  const indirectOk = alloc !== undefined && n > 1 && n <= qsz;
                  expect(cost === n || (indirectOk && cost === 1)).toBe(true);
                  outstanding.set(token, { bufs: b, cost, head });
                  accepted.add(token);
                  unpublished.push(token);
                }
                break;
              }
              case 'publish': publish(); break;
              case 'pop': popAll(); break;
              case 'push': {
                if (popped.length === 0) break;
                const [token] = popped.splice(o.pick % popped.length, 1) as [number];
                const entry = outstanding.get(token);
                if (entry === undefined) throw new Error('popped token is not outstanding');
                entry.len = o.len;
                dev.push(entry.head, o.len);
                pushed.push(token);
                break;
              }
              case 'devPublish': devPublish(); break;
              case 'getUsed': reap(); break;
            }
            check();
          }
          publish();
          popAll();
          for (const t of popped.splice(0)) {
            const entry = outstanding.get(t);
            if (entry === undefined) throw new Error('popped token is not outstanding');
            entry.len = 0;
            dev.push(entry.head, 0);
            pushed.push(t);
          }
          devPublish();
          reap();
          check();
          expect(returned).toEqual(accepted);
          expect([drv.numFree, drv.inFlight, outstanding.size]).toEqual([qsz, 0, 0]);
          if (alloc !== undefined) expect(alloc.liveCount - drv.cachedIndirectTables).toBe(0);
          drv.detachAll();
          if (alloc !== undefined) expect(alloc.liveCount).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('driver getUsed() on a hostile used ring', () => {
  it('never throws, never hands out a token that is not outstanding, never twice, and stays broken', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.record({ id: fc.oneof(fc.nat({ max: 9 }), fc.nat({ max: 0xffffffff })), len: fc.nat({ max: 0xffffffff }) }), { minLength: 8, maxLength: 8 }),
        fc.oneof(fc.nat({ max: 10 }), fc.nat({ max: 0xffff })),
        (log, elems, idx) => {
          const qsz = 1 << log;
          const mem = GuestMemory.create(0x4000);
          const addrs = contiguous(qsz);
          const drv = new SplitVirtqDriver<string>(mem, qsz, addrs);
          const tokens = new Map<number, string>();
          for (let i = 0; i < Math.max(1, qsz - 1); i++) { // leave a free head when qsz > 1
            const head = drv.add([{ addr: 0x1000 + i, len: 1, write: true }], `t${i}`);
            if (head !== undefined) tokens.set(head, `t${i}`);
          }
          drv.publish();
          elems.slice(0, qsz).forEach((e, slot) => { putUsedElem(mem.bytes, addrs.used, slot, e.id, e.len); });
          putU16(mem.bytes, addrs.used + 2, idx);
          const seen = new Set<string>();
          for (let step = 0; step <= qsz + 1; step++) {
            const u = drv.getUsed();
            if (u === undefined) break;
            expect([...tokens.values()]).toContain(u.token);
            expect(seen.has(u.token)).toBe(false);
            seen.add(u.token);
            expect(step).toBeLessThan(tokens.size);
          }
          if (drv.broken !== undefined) expect(drv.getUsed()).toBeUndefined();
          expect(drv.inFlight).toBe(tokens.size - seen.size);
          const rest = drv.detachAll();
          expect(new Set([...rest, ...seen])).toEqual(new Set(tokens.values()));
          expect(drv.numFree).toBe(qsz);
        },
      ),
      { numRuns: 500 },
    );
  });
});

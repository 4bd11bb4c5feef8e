// prepare() and the READ/WRITE fast path: a prepared CDB executes exactly as
// the CDB itself, and READ/WRITE answer the same whichever path serves them.

import { describe, expect, test } from 'vitest';
import { UnitAttention } from '../../../src/scsi/sbc/errors.js';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { ExecuteOptions, SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { MemoryBlockSet } from '../../../src/scsi/sbc/memory-block-set.js';
import type { BlockStatus } from '../../../src/scsi/sbc/block-command-set.js';
import { HARDWARE_ERROR, bytes, hex, unit } from './harness.js';

const strip = (r: SbcResult): unknown => ({ ...r, data: r.data === undefined ? undefined : hex(r.data), sense: r.sense === undefined ? undefined : hex(r.sense) });

describe('prepare()', () => {
  test('dataOutLength as the command asks: READ none, WRITE its blocks, COMPARE AND WRITE twice, a rejected CDB none', async () => {
    const u = await unit();
    const cases: [string, number][] = [
      ['28 00 00 00 00 07 00 00 03 00', 0],
      ['2a 00 00 00 00 07 00 00 03 00', 3 * 512],
      ['8a 00 00 00 00 00 00 00 00 07 00 00 00 02 00 00', 2 * 512],
      ['0a 00 00 07 03 00', 3 * 512],
      ['89 00 00 00 00 00 00 00 00 07 00 00 00 02 00 00', 2 * 2 * 512],
      ['2a 01 00 00 00 07 00 00 03 00', 0],
      ['2a 00 00 00 00 07 00 00 03', 0],
      ['ff 00 00 00 00 00', 0],
    ];
    for (const [c, want] of cases) {
      expect(u.lu.prepare(bytes(c)).dataOutLength, c).toBe(want);
      expect(u.lu.dataOutLength(bytes(c)), c).toBe(want);
    }
  });

  test('a prepared CDB answers as the CDB does: data, faults, and a pending unit attention first', async () => {
    const data = Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff);
    const cases: [string, Uint8Array | undefined][] = [
      ['2a 00 00 00 00 07 00 00 02 00', data],
      ['28 00 00 00 00 07 00 00 02 00', undefined],
      ['88 00 00 00 00 00 00 00 00 07 00 00 00 02 00 00', undefined],
      ['28 00 00 00 03 ff 00 00 02 00', undefined], // past the capacity
      ['28 02 00 00 00 07 00 00 02 00', undefined], // reserved bit
      ['2a 00 00 00 00 07 00 00 02 00', data.subarray(0, 100)], // short Data-Out
      ['12 00 00 00 24 00', undefined],
    ];
    for (const ua of [false, true]) {
      const a = await unit();
      const b = await unit();
      for (const [c, dataOut] of cases) {
        if (ua) for (const u of [a, b]) u.lu.raiseUnitAttention(UnitAttention.POWER_ON_RESET);
        const opts = { nexus: 'n', ...(dataOut === undefined ? {} : { dataOut }) };
        // A unit attention is queued only for a nexus that exists: from the second command on.
        const plain = await a.lu.execute(bytes(c), opts);
        const prepared = await b.lu.execute(b.lu.prepare(bytes(c)), opts);
        expect(strip(prepared), `${c} (unit attention ${ua})`).toEqual(strip(plain));
      }
    }
  });

  test('a CDB prepared before the command table changed is decoded again', async () => {
    const u = await unit({ blocks: 1024 });
    const p = u.lu.prepare(bytes('28 00 00 00 04 00 00 00 01 00')); // LBA 1024: out of range now
    u.disk.resize(2048n);
    u.lu.refreshGeometry(); // no nexus yet, so no unit attention to report first
    const r = await u.lu.execute(p, { nexus: 'n' });
    expect([r.status, r.data?.length]).toEqual([0, 512]);
  });
});

/** A MemoryBlockSet with the callback forms (startRead, startWrite), answering a turn later as their contract says. */
class CallbackBlockSet extends MemoryBlockSet {
  startRead(lba: bigint, into: Uint8Array, done: (s: BlockStatus) => void): void {
    void this.read(lba, into).then(done);
  }

  startWrite(lba: bigint, data: Uint8Array, done: (s: BlockStatus) => void): void {
    void this.write(lba, data).then(done);
  }
}

/** start() as a promise, also recording whether the callback came before start() returned. */
function started(lu: SbcEmulator, cdb: Uint8Array, opts: ExecuteOptions, early: boolean[]): Promise<SbcResult | undefined> {
  return new Promise((resolve) => {
    let returned = false;
    lu.start(cdb, opts, (r) => {
      early.push(!returned);
      resolve(r);
    });
    returned = true;
  });
}

describe('start(): execute() with a callback', () => {
  test('answers as execute() does, over a block set with or without the callback forms, never before it returns', async () => {
    const data = Uint8Array.from({ length: 1024 }, (_, i) => (i * 3) & 0xff);
    const cases: [string, Uint8Array | undefined][] = [
      ['2a 00 00 00 00 07 00 00 02 00', data],
      ['28 00 00 00 00 07 00 00 02 00', undefined],
      ['2a 08 00 00 00 09 00 00 01 00', data.subarray(0, 512)], // FUA: the generic path
      ['28 00 00 00 03 ff 00 00 02 00', undefined], // past the capacity
      ['2a 00 00 00 00 07 00 00 02 00', data.subarray(0, 100)], // short Data-Out
      ['12 00 00 00 24 00', undefined],
    ];
    const plain = await unit();
    const early: boolean[] = [];
    for (const disk of [new MemoryBlockSet({ blocks: 1024 }), new CallbackBlockSet({ blocks: 1024 })]) {
      const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: false });
      for (const [c, dataOut] of cases) {
        const opts = { nexus: 'n', ...(dataOut === undefined ? {} : { dataOut }) };
        const want = await plain.lu.execute(bytes(c), opts);
        const got = await started(lu, bytes(c), opts, early);
        expect(got === undefined ? undefined : strip(got), c).toEqual(strip(want));
      }
    }
    expect(early.length).toBe(2 * cases.length);
    expect(early.every((e) => !e)).toBe(true);
  });

  test('a callback block set that throws is HARDWARE ERROR; where execute() would reject, undefined', async () => {
    const disk = new CallbackBlockSet({ blocks: 1024 });
    disk.startRead = () => {
      throw new Error('bug in the block set');
    };
    const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: false });
    // The fast path serves a nexus the unit knows: one command first.
    expect((await lu.execute(bytes('00 00 00 00 00 00'), { nexus: 'n' })).status).toBe(0);
    const early: boolean[] = [];
    const r = await started(lu, bytes('28 00 00 00 00 00 00 00 01 00'), { nexus: 'n' }, early);
    expect([r?.status, r?.senseData?.key]).toEqual([0x02, HARDWARE_ERROR]);
    // The lock was released: a write to the same block goes through.
    expect((await lu.execute(bytes('2a 00 00 00 00 00 00 00 01 00'), { nexus: 'n', dataOut: new Uint8Array(512) })).status).toBe(0);
    lu.execute = () => Promise.reject(new Error('bug'));
    expect(await started(lu, bytes('00 00 00 00 00 00'), { nexus: 'n' }, early)).toBeUndefined();
    expect(early).toEqual([false, false]);
  });
});

describe('the READ/WRITE fast path', () => {
  test('READ Data-In comes from the pool: small reads share an ArrayBuffer, each sees only its own bytes', async () => {
    const u = await unit();
    const w = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) & 0xff);
    await u.run('2a 00 00 00 00 00 00 00 02 00', { dataOut: w });
    const a = await u.run('28 00 00 00 00 00 00 00 01 00');
    const b = await u.run('28 00 00 00 00 01 00 00 01 00');
    expect(a.data?.buffer).toBe(b.data?.buffer);
    expect([hex(a.data), hex(b.data)]).toEqual([hex(w.subarray(0, 512)), hex(w.subarray(512))]);
  });

  test('a READ overlapping a COMPARE AND WRITE waits for it (the exclusive range lock), then reads what it wrote', async () => {
    const u = await unit();
    const release = u.lu.locks.tryAcquire(0n, 2, true);
    expect(release).toBeDefined();
    let done = false;
    const read = u.run('28 00 00 00 00 01 00 00 01 00').then((r) => {
      done = true;
      return r;
    });
    await new Promise((r) => setImmediate(r));
    expect([done, u.disk.calls.filter((c) => c.op === 'read').length]).toEqual([false, 0]);
    await u.run('2a 00 00 00 00 04 00 00 01 00', { dataOut: new Uint8Array(512) }); // elsewhere: not held up
    release?.();
    expect((await read).status).toBe(0);
  });
});

// The soak's disk model: what a READ may return while writes are in flight,
// after GOOD, after an abort or a dropped connection, and what it must never
// return (a block torn inside, a block meant for another LBA, data a certain
// block cannot hold).

import { describe, expect, test } from 'vitest';
import { decodeBlock, fillBlock, sameData, writeData } from '../../../scripts/soak/pattern.js';
import { ShadowDisk, type Issue } from '../../../scripts/soak/shadow.js';
import type { TaskAttribute } from '../../../scripts/soak/task.js';

const BL = 512;
const zeros = (blocks: number): Buffer => Buffer.alloc(blocks * BL);
/** A command of session `nexus` already given its CmdSN. */
const on = (nexus: string, cmdSN: number, attr: TaskAttribute = 'simple'): Issue => ({ nexus, attr, cmdSN });

/** Checks `data` as a READ of `lba` sent now and answered at once. */
function check(disk: ShadowDisk, lba: number, data: Buffer): string[] {
  return disk.readDone(disk.readSent(lba, data.length / BL), data, BL).map((m) => `${m.lba}: ${m.what}`);
}

describe('block pattern', () => {
  test('a written block reads back as its write and tag; zeros as zeros; one flipped byte as torn', () => {
    const b = writeData(7, 100, 2, BL);
    expect(decodeBlock(b, 0, BL)).toEqual({ kind: 'written', id: 7, tag: 100 });
    expect(decodeBlock(b, BL, BL)).toEqual({ kind: 'written', id: 7, tag: 101 });
    expect(decodeBlock(zeros(1), 0, BL)).toEqual({ kind: 'zeros' });
    b[BL + 300] = (b[BL + 300] ?? 0) ^ 1;
    expect(decodeBlock(b, BL, BL)).toEqual({ kind: 'torn', why: 'write 7 tag 101 differs from byte 300' });
  });
});

describe('ShadowDisk', () => {
  test('a fresh disk is zeros and certain: zeros pass, any written block fails', () => {
    const disk = new ShadowDisk(64);
    expect(check(disk, 0, zeros(4))).toEqual([]);
    expect(check(disk, 3, writeData(1, 3, 1, BL))).toEqual(['3: holds write 1; possible: zeros']);
    expect(disk.uncertainBlocks()).toBe(0);
  });

  test('while a write is in flight its blocks are uncertain: old or new data passes, block by block', () => {
    const disk = new ShadowDisk(64);
    const w = disk.writeSent('write', 10, 4);
    expect(disk.uncertainBlocks()).toBe(4);
    const mixed = Buffer.concat([writeData(w.id, 10, 2, BL), zeros(2)]);
    expect(check(disk, 10, mixed)).toEqual([]);
    expect(check(disk, 10, zeros(4))).toEqual([]);
  });

  test('after GOOD the blocks are certain: the old data fails', () => {
    const disk = new ShadowDisk(64);
    const w = disk.writeSent('write', 10, 4);
    disk.writeGood(w);
    expect(disk.uncertainBlocks()).toBe(0);
    expect(check(disk, 10, writeData(w.id, 10, 4, BL))).toEqual([]);
    expect(check(disk, 11, zeros(1))).toEqual([`11: holds zeros; possible: write ${w.id} (write, good)`]);
  });

  test('a write sent after another was answered GOOD supersedes it once it is GOOD; one in flight beside it does not', () => {
    const disk = new ShadowDisk(64);
    const a = disk.writeSent('write', 0, 1);
    disk.writeGood(a);
    const b = disk.writeSent('write', 0, 1);
    const c = disk.writeSent('same', 0, 1);
    disk.writeGood(b);
    expect(check(disk, 0, writeData(a.id, 0, 1, BL))).toEqual([`0: holds write ${a.id}; possible: write ${b.id} (write, good), write ${c.id} (same, in-flight)`]);
    expect(check(disk, 0, sameData(c.id, BL))).toEqual([]);
    disk.writeGood(c);
    expect(check(disk, 0, writeData(b.id, 0, 1, BL))).toEqual([]);
  });

  test('a block torn inside, mixing two writes that were both possible, fails', () => {
    const disk = new ShadowDisk(64);
    const a = disk.writeSent('write', 5, 1);
    const b = disk.writeSent('write', 5, 1);
    const torn = writeData(a.id, 5, 1, BL);
    writeData(b.id, 5, 1, BL).copy(torn, 256, 256);
    expect(check(disk, 5, torn)).toEqual([`5: torn or foreign block: write ${a.id} tag 5 differs from byte 256`]);
  });

  test("a write's block at another LBA fails as misplaced", () => {
    const disk = new ShadowDisk(64);
    const w = disk.writeSent('write', 5, 2);
    const swapped = Buffer.concat([writeData(w.id, 6, 1, BL), writeData(w.id, 5, 1, BL)]);
    expect(check(disk, 5, swapped)).toEqual([`5: holds write ${w.id}'s block for LBA 6 (misplaced)`, `6: holds write ${w.id}'s block for LBA 5 (misplaced)`]);
  });

  test('an aborted write (unknown) leaves old or new per block until a later write is GOOD', () => {
    const disk = new ShadowDisk(64);
    const w = disk.writeSent('same', 20, 3);
    disk.writeUnknown(w);
    const partial = Buffer.concat([sameData(w.id, BL), zeros(1), sameData(w.id, BL)]);
    expect(check(disk, 20, partial)).toEqual([]);
    const later = disk.writeSent('write', 21, 1);
    disk.writeGood(later);
    expect(check(disk, 21, sameData(w.id, BL))).toEqual([`21: holds write ${w.id}; possible: write ${later.id} (write, good)`]);
    expect(check(disk, 20, zeros(1))).toEqual([]);
  });

  test('a write the target did not execute is not possible; a lost one stays possible after a later GOOD until settled', () => {
    const disk = new ShadowDisk(64);
    const n = disk.writeSent('write', 30, 1);
    disk.writeNotDone(n);
    expect(check(disk, 30, writeData(n.id, 30, 1, BL))).toEqual([`30: holds write ${n.id}; possible: zeros`]);
    const lost = disk.writeSent('write', 31, 1);
    disk.writeLost(lost);
    const good = disk.writeSent('write', 31, 1);
    disk.writeGood(good);
    // The target may still run the lost write, after the GOOD one.
    expect(check(disk, 31, writeData(lost.id, 31, 1, BL))).toEqual([]);
    disk.writeUnknown(lost);
    const after = disk.writeSent('write', 31, 1);
    disk.writeGood(after);
    expect(check(disk, 31, writeData(lost.id, 31, 1, BL))).toEqual([`31: holds write ${lost.id}; possible: write ${after.id} (write, good)`]);
  });

  test('a write sent while a READ is out may land before the READ reads', () => {
    const disk = new ShadowDisk(64);
    const r = disk.readSent(40, 2);
    const w = disk.writeSent('write', 41, 4);
    const data = Buffer.concat([zeros(1), writeData(w.id, 41, 1, BL)]);
    expect(disk.readDone(r, data, BL)).toEqual([]);
  });

  test('a block no write produced fails, and ranges outside the disk throw', () => {
    const disk = new ShadowDisk(8);
    const junk = zeros(1);
    fillBlock(junk, 0, BL, 99, 0);
    expect(check(disk, 0, junk)).toEqual(['0: holds write 99; possible: zeros']);
    junk[0] = 0;
    expect(check(disk, 0, junk)[0]).toMatch(/^0: torn or foreign block: no pattern header/);
    expect(() => disk.writeSent('write', 7, 2)).toThrow(new RangeError('range 7+2 is outside the 8-block disk'));
    expect(() => new ShadowDisk(0)).toThrow(RangeError);
  });
});

describe('ShadowDisk: unmaps (LBPRZ 001b: a deallocated block reads as zeros)', () => {
  test('after UNMAP GOOD its blocks read zeros and the old data fails; in flight or aborted, old or zeros per block', () => {
    const disk = new ShadowDisk(8);
    const w = disk.writeSent('write', 0, 4);
    disk.writeGood(w);
    const u = disk.writeSent('unmap', 1, 2);
    expect(check(disk, 0, Buffer.concat([writeData(w.id, 0, 2, BL), zeros(1), writeData(w.id, 3, 1, BL)]))).toEqual([]);
    disk.writeUnknown(u);
    expect(check(disk, 1, Buffer.concat([zeros(1), writeData(w.id, 2, 1, BL)]))).toEqual([]);
    const again = disk.writeSent('unmap', 1, 2);
    disk.writeGood(again);
    expect(check(disk, 0, zeros(4))).toEqual([
      `0: holds zeros; possible: write ${w.id} (write, good)`,
      `3: holds zeros; possible: write ${w.id} (write, good)`,
    ]);
    expect(check(disk, 1, writeData(w.id, 1, 1, BL))).toEqual([`1: holds write ${w.id}; possible: write ${again.id} (unmap, good)`]);
  });

  test('a deallocation (LBPRZ not 001b) lets its blocks hold anything until a later write is GOOD; the blocks beside it stay checked', () => {
    const disk = new ShadowDisk(8);
    const d = disk.writeSent('deallocate', 1, 1);
    disk.writeGood(d);
    const junk = Buffer.alloc(3 * BL, 0x5a);
    expect(check(disk, 0, junk).map((m) => m.slice(0, 25))).toEqual(['0: torn or foreign block:', '2: torn or foreign block:']);
    const w = disk.writeSent('write', 1, 1);
    disk.writeGood(w);
    expect(check(disk, 1, zeros(1))).toEqual([`1: holds zeros; possible: write ${w.id} (write, good)`]);
  });

  test('a write after an unmap answered GOOD replaces its zeros', () => {
    const disk = new ShadowDisk(8);
    const u = disk.writeSent('unmap', 0, 1);
    disk.writeGood(u);
    const w = disk.writeSent('same', 0, 1);
    disk.writeGood(w);
    expect(check(disk, 0, zeros(1))).toEqual([`0: holds zeros; possible: write ${w.id} (same, good)`]);
  });
});

describe('ShadowDisk: task attributes in one session (SAM-5 §8.6)', () => {
  /** Block 0 certainly holds `old` (answered GOOD, nothing else about). */
  function settled(disk: ShadowDisk): number {
    const old = disk.writeSent('write', 0, 2);
    disk.writeGood(old);
    return old.id;
  }

  test('a READ sent after an ORDERED WRITE, before its GOOD, must see it; without ORDERED, or with another session, the old data passes', () => {
    for (const [attr, readNexus, mustSee] of [['ordered', 'a', true], ['simple', 'a', false], ['ordered', 'b', false]] as const) {
      const disk = new ShadowDisk(8);
      const old = settled(disk);
      const w = disk.writeSent('write', 0, 1, on('a', 10, attr));
      const r = disk.readSent(0, 2, on(readNexus, 11));
      disk.writeGood(w);
      const got = disk.readDone(r, writeData(old, 0, 2, BL), BL).map((m) => `${m.lba}: ${m.what}`);
      expect(got, `${attr} write, read on ${readNexus}`).toEqual(mustSee ? [`0: holds write ${old}; possible: write ${w.id} (write, good)`] : []);
      expect(disk.orderedReads).toBe(mustSee ? 1 : 0);
    }
  });

  test('the ORDERED WRITE\'s new data passes, and so does a write sent after it; a HEAD OF QUEUE READ may run first', () => {
    const disk = new ShadowDisk(8);
    const old = settled(disk);
    const w = disk.writeSent('write', 0, 1, on('a', 10, 'ordered'));
    const r = disk.readSent(0, 1, on('a', 11));
    const head = disk.readSent(0, 1, on('a', 12, 'head'));
    const later = disk.writeSent('same', 0, 1, on('b', 3));
    const r2 = disk.readSent(0, 1, on('a', 13));
    disk.writeGood(w);
    expect(disk.readDone(r, writeData(w.id, 0, 1, BL), BL)).toEqual([]);
    expect(disk.readDone(head, writeData(old, 0, 1, BL), BL)).toEqual([]);
    expect(disk.readDone(r2, sameData(later.id, BL), BL)).toEqual([]);
  });

  test('an ORDERED WRITE also ends an older GOOD write of its session on its blocks', () => {
    const disk = new ShadowDisk(8);
    const older = disk.writeSent('write', 0, 1, on('a', 9));
    const w = disk.writeSent('write', 0, 1, on('a', 10, 'ordered'));
    disk.writeGood(older);
    const r = disk.readSent(0, 1, on('a', 11));
    disk.writeGood(w);
    expect(disk.readDone(r, writeData(older.id, 0, 1, BL), BL).map((m) => m.what)).toEqual([`holds write ${older.id}; possible: write ${w.id} (write, good)`]);
  });

  test('an ORDERED READ sees every older WRITE of its session answered GOOD; one aborted, or not older, stays uncertain', () => {
    const disk = new ShadowDisk(8);
    const old = settled(disk);
    const good = disk.writeSent('write', 0, 1, on('a', 10));
    const aborted = disk.writeSent('write', 1, 1, on('a', 11));
    const r = disk.readSent(0, 2, on('a', 12, 'ordered'));
    const simple = disk.readSent(0, 2, on('a', 13));
    disk.writeGood(good);
    disk.writeUnknown(aborted);
    expect(disk.readDone(r, writeData(old, 0, 2, BL), BL).map((m) => `${m.lba}: ${m.what}`)).toEqual([`0: holds write ${old}; possible: write ${good.id} (write, good)`]);
    expect(disk.readDone(simple, writeData(old, 0, 2, BL), BL)).toEqual([]);
  });

  test('an ORDERED WRITE newer in CmdSN than the READ, or a READ whose CmdSN is not known, gets no ordering rule', () => {
    const disk = new ShadowDisk(8);
    const old = settled(disk);
    const w = disk.writeSent('write', 0, 1, on('a', 10, 'ordered'));
    const older = disk.readSent(0, 1, on('a', 9));
    const unknown = disk.readSent(0, 1, { nexus: 'a', attr: 'ordered', cmdSN: undefined });
    disk.writeGood(w);
    expect(disk.readDone(older, writeData(old, 0, 1, BL), BL)).toEqual([]);
    expect(disk.readDone(unknown, writeData(old, 0, 1, BL), BL)).toEqual([]);
  });
});

describe('ShadowDisk: ORDERED on every command kind (SAM-5 §8.6)', () => {
  /** Block 0 and 1 certainly hold `old` (answered GOOD, nothing else about). */
  function settled(disk: ShadowDisk): number {
    const old = disk.writeSent('write', 0, 2);
    disk.writeGood(old);
    return old.id;
  }
  const lines = (ms: readonly { lba: number; what: string }[]): string[] => ms.map((m) => `${m.lba}: ${m.what}`);

  test('an ORDERED command answered GOOD (a SYNCHRONIZE CACHE) is a fence: a newer READ sees every older GOOD write of its session', () => {
    const disk = new ShadowDisk(8);
    const old = settled(disk);
    const w = disk.writeSent('write', 0, 1, on('a', 10));
    const fence = disk.orderedSent(on('a', 11, 'ordered'));
    const r = disk.readSent(0, 2, on('a', 12));
    const head = disk.readSent(0, 1, on('a', 13, 'head'));
    const other = disk.readSent(0, 1, on('b', 12));
    disk.writeGood(w);
    disk.orderedDone(fence, true);
    expect(lines(disk.readDone(r, writeData(old, 0, 2, BL), BL))).toEqual([`0: holds write ${old}; possible: write ${w.id} (write, good)`]);
    expect(disk.orderedReads).toBe(1);
    expect(disk.readDone(head, writeData(old, 0, 1, BL), BL)).toEqual([]);
    expect(disk.readDone(other, writeData(old, 0, 1, BL), BL)).toEqual([]);
  });

  test('a fence not answered GOOD, one older than the write or newer than the READ, or one sent after the READ orders nothing', () => {
    const cases: readonly [string, number, number, boolean][] = [
      ['not GOOD', 11, 12, false],
      ['older than the write', 9, 12, true],
      ['newer than the READ', 13, 12, true],
    ];
    for (const [why, fenceSN, readSN, good] of cases) {
      const disk = new ShadowDisk(8);
      const old = settled(disk);
      const w = disk.writeSent('write', 0, 1, on('a', 10));
      const fence = disk.orderedSent(on('a', fenceSN, 'ordered'));
      const r = disk.readSent(0, 1, on('a', readSN));
      disk.writeGood(w);
      disk.orderedDone(fence, good);
      expect(disk.readDone(r, writeData(old, 0, 1, BL), BL), why).toEqual([]);
    }
    const disk = new ShadowDisk(8);
    const old = settled(disk);
    const w = disk.writeSent('write', 0, 1, on('a', 10));
    const r = disk.readSent(0, 1, on('a', 12));
    const late = disk.orderedSent(on('a', 11, 'ordered'));
    disk.writeGood(w);
    disk.orderedDone(late, true);
    expect(disk.readDone(r, writeData(old, 0, 1, BL), BL), 'fence sent after the READ').toEqual([]);
  });

  test('an ORDERED COMPARE AND WRITE compares against every older GOOD write of its session; a SIMPLE one may still see the old data', () => {
    for (const [attr, mustSee] of [['ordered', true], ['simple', false], ['head', false]] as const) {
      const disk = new ShadowDisk(8);
      const old = settled(disk);
      const w = disk.writeSent('write', 0, 1, on('a', 10));
      const issue = on('a', 11, attr);
      const compare = disk.readSent(0, 1, issue);
      const caw = disk.writeSent('write', 0, 1, issue);
      disk.writeGood(w);
      // What a MISCOMPARE is judged by, and what a GOOD for the old data as verify data is checked against.
      const allowed = (disk.allowed(compare)[0] ?? []).filter((x) => x !== caw).map((x) => x.id);
      expect(allowed, attr).toEqual(mustSee ? [w.id] : [old, w.id]);
      expect(lines(disk.readDone(compare, writeData(old, 0, 1, BL), BL)), attr).toEqual(mustSee ? [`0: holds write ${old}; possible: write ${w.id} (write, good), write ${caw.id} (write, in-flight)`] : []);
    }
  });

  test('a COMPARE AND WRITE newer than an ORDERED one answered GOOD compares after it', () => {
    const disk = new ShadowDisk(8);
    const old = settled(disk);
    const first = on('a', 10, 'ordered');
    const fence = disk.orderedSent(first);
    const w = disk.writeSent('write', 0, 1, first);
    const second = on('a', 11);
    const compare = disk.readSent(0, 1, second);
    const caw = disk.writeSent('write', 0, 1, second);
    disk.writeGood(w);
    disk.orderedDone(fence, true);
    expect((disk.allowed(compare)[0] ?? []).filter((x) => x !== caw).map((x) => x.id)).toEqual([w.id]);
    expect(old).not.toBe(w.id);
  });

  test('a READ after an ORDERED UNMAP (LBPRZ 001b) or WRITE SAME with UNMAP answered GOOD does not see the data before it, an older GOOD write of the session included', () => {
    for (const kind of ['unmap', 'same'] as const) {
      const disk = new ShadowDisk(8);
      const old = settled(disk);
      const older = disk.writeSent('write', 1, 1, on('a', 9));
      const u = disk.writeSent(kind, 0, 2, on('a', 10, 'ordered'));
      disk.writeGood(older);
      const r = disk.readSent(0, 2, on('a', 11));
      disk.writeGood(u);
      const got = kind === 'unmap' ? zeros(2) : Buffer.concat([sameData(u.id, BL), sameData(u.id, BL)]);
      expect(disk.readDone(r, got, BL), kind).toEqual([]);
      const r2 = disk.readSent(0, 2, on('a', 12));
      const stale = disk.readSent(0, 2, on('a', 12));
      expect(disk.readDone(r2, got, BL)).toEqual([]);
      expect(lines(disk.readDone(stale, Buffer.concat([writeData(old, 0, 1, BL), writeData(older.id, 1, 1, BL)]), BL)), kind).toEqual([
        `0: holds write ${old}; possible: write ${u.id} (${kind}, good)`,
        `1: holds write ${older.id}; possible: write ${u.id} (${kind}, good)`,
      ]);
      // Gone for every session: the medium holds the ORDERED command's data over the older write's.
      expect(check(disk, 1, writeData(older.id, 1, 1, BL)), kind).toEqual([`1: holds write ${older.id}; possible: write ${u.id} (${kind}, good)`]);
    }
  });

  test('a SIMPLE write newer than a fence answered GOOD, once GOOD, ends every older GOOD write of its session on its blocks, the fence\'s own included', () => {
    // older (SN 10) < ORDERED SYNCHRONIZE CACHE (11) < newer (12): the newer WRITE started after the older ended.
    const disk = new ShadowDisk(8);
    settled(disk);
    const older = disk.writeSent('write', 0, 2, on('a', 10));
    const fence = disk.orderedSent(on('a', 11, 'ordered'));
    const newer = disk.writeSent('write', 1, 1, on('a', 12));
    disk.writeGood(older);
    disk.orderedDone(fence, true);
    expect(disk.possible(1).map((w) => w.id)).toEqual([older.id, newer.id]);
    disk.writeGood(newer);
    expect(disk.possible(1).map((w) => w.id)).toEqual([newer.id]);
    expect(disk.possible(0).map((w) => w.id)).toEqual([older.id]);
    expect(check(disk, 1, writeData(older.id, 1, 1, BL))).toEqual([`1: holds write ${older.id}; possible: write ${newer.id} (write, good)`]);
    // An ORDERED write is its own fence: a SIMPLE write newer than it lands after it.
    const ordered = on('a', 13, 'ordered');
    const self = disk.orderedSent(ordered);
    const o = disk.writeSent('write', 2, 1, ordered);
    const after = disk.writeSent('write', 2, 1, on('a', 14));
    disk.orderedDone(self, true);
    disk.writeGood(o);
    disk.writeGood(after);
    expect(disk.possible(2).map((w) => w.id)).toEqual([after.id]);
  });

  test('a fence not GOOD, a HEAD OF QUEUE write, another session\'s write, an older write not GOOD or one newer than the fence stay possible beside the newer write', () => {
    type Case = readonly [why: string, fenceGood: boolean, olderSN: number, olderGood: boolean, newer: Issue];
    const cases: readonly Case[] = [
      ['fence not GOOD', false, 10, true, on('a', 12)],
      ['newer is HEAD OF QUEUE', true, 10, true, on('a', 12, 'head')],
      ['newer is another session\'s', true, 10, true, on('b', 12)],
      ['older aborted (unknown)', true, 10, false, on('a', 12)],
      ['older is newer than the fence', true, 12, true, on('a', 13)],
    ];
    for (const [why, fenceGood, olderSN, olderGood, newerIssue] of cases) {
      const disk = new ShadowDisk(8);
      settled(disk);
      const older = disk.writeSent('write', 0, 1, on('a', olderSN));
      const fence = disk.orderedSent(on('a', 11, 'ordered'));
      const newer = disk.writeSent('write', 0, 1, newerIssue);
      if (olderGood) disk.writeGood(older);
      else disk.writeUnknown(older);
      disk.orderedDone(fence, fenceGood);
      disk.writeGood(newer);
      expect(disk.possible(0).map((w) => w.id), why).toEqual([older.id, newer.id]);
    }
  });

  test('an ORDERED UNMAP with LBPRZ not 001b leaves its blocks unchecked, as a SIMPLE one does', () => {
    const disk = new ShadowDisk(8);
    settled(disk);
    const d = disk.writeSent('deallocate', 0, 1, on('a', 10, 'ordered'));
    const r = disk.readSent(0, 2, on('a', 11));
    disk.writeGood(d);
    expect(lines(disk.readDone(r, Buffer.alloc(2 * BL, 0x5a), BL)).map((l) => l.slice(0, 26))).toEqual(['1: torn or foreign block: ']);
  });
});

describe('ShadowDisk.orderSettled: an answer that overtook what orders it is checked once that is over', () => {
  test('waits for an older write and ORDERED command of the session, then the ORDERED rule applies', async () => {
    const disk = new ShadowDisk(8);
    const old = disk.writeSent('write', 0, 1);
    disk.writeGood(old);
    const w = disk.writeSent('write', 0, 1, on('a', 10));
    const fence = disk.orderedSent(on('a', 11, 'ordered'));
    const r = disk.readSent(0, 1, on('a', 12));
    const events: string[] = [];
    const done = disk.orderSettled(r).then(() => events.push('settled'));
    await Promise.resolve();
    disk.writeGood(w);
    await Promise.resolve();
    expect(events).toEqual([]);
    disk.orderedDone(fence, true);
    await done;
    expect(events).toEqual(['settled']);
    expect(disk.readDone(r, writeData(old.id, 0, 1, BL), BL).map((m) => m.what)).toEqual([`holds write ${old.id}; possible: write ${w.id} (write, good)`]);
  });

  test('at once when no ORDERED rule can apply: a HEAD OF QUEUE READ, a SIMPLE one with nothing ORDERED about, another session\'s write', async () => {
    const disk = new ShadowDisk(8);
    disk.writeSent('write', 0, 1, on('a', 10));
    disk.writeSent('write', 0, 1, on('b', 10, 'ordered'));
    const reads = [disk.readSent(0, 1, on('a', 12, 'head')), disk.readSent(0, 1, on('a', 13))];
    let n = 0;
    await Promise.all(reads.map((r) => disk.orderSettled(r).then(() => n++)));
    expect(n).toBe(2);
  });
});

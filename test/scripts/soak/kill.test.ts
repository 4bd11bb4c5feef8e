// --kill-at's durability rule (kill.ts): after the SIGKILL a block may hold
// what the model allowed when the GOOD SYNCHRONIZE CACHE was sent, or a later
// write's data; a write answered GOOD before that must not be gone. The kill
// comes only after GOOD, and each retry takes its own snapshot.

import { describe, expect, test } from 'vitest';
import { killAfterSync } from '../../../scripts/soak/kill.js';
import { writeData } from '../../../scripts/soak/pattern.js';
import { ShadowDisk } from '../../../scripts/soak/shadow.js';
import type { CommandRequest, CommandResult, Task } from '../../../scripts/soak/task.js';

const BL = 512;
const UNIT_ATTENTION = Buffer.from([0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0]);

/** A session whose commands are answered from `answers` in turn, running `before` first (what happens while it is out). */
function fakeSession(answers: { status: number; sense?: Buffer; before?: () => void }[], sent: string[]) {
  return {
    send: (req: CommandRequest): Promise<{ task: Task; result: Promise<CommandResult> } | undefined> => {
      sent.push(req.cdb.toString('hex'));
      const a = answers.shift();
      if (a === undefined) return Promise.resolve(undefined);
      a.before?.();
      const task: Task = { itt: 1, cmdSN: 1, label: req.label, exposed: false, aborting: false, done: false };
      return Promise.resolve({ task, result: Promise.resolve({ kind: 'status', status: a.status, sense: a.sense, data: undefined }) });
    },
  };
}

describe('killAfterSync', () => {
  test('kills after GOOD; then a write GOOD before the SYNCHRONIZE CACHE must read back, a later one may', async () => {
    const disk = new ShadowDisk(4);
    const durable = disk.writeSent('write', 0, 2);
    disk.writeGood(durable);
    const sent: string[] = [];
    let later = durable;
    const events: string[] = [];
    const k = await killAfterSync(fakeSession([{ status: 0, before: () => { later = disk.writeSent('write', 1, 1); events.push('sync out'); } }], sent), disk, 0, () => { events.push('kill'); });
    if (typeof k === 'string') throw new Error(k);
    expect(sent).toEqual(['35000000000000000000']);
    expect(events).toEqual(['sync out', 'kill']);
    const back = Buffer.concat([writeData(durable.id, 0, 1, BL), writeData(later.id, 1, 1, BL), Buffer.alloc(2 * BL)]);
    expect(disk.readDone(k.snapshot, back, BL)).toEqual([]);
    const lost = Buffer.concat([Buffer.alloc(BL), writeData(durable.id, 1, 1, BL), Buffer.alloc(2 * BL)]);
    expect(disk.readDone(k.snapshot, lost, BL)).toEqual([{ lba: 0, what: `holds zeros; possible: write ${durable.id} (write, good)` }]);
  });

  test('a SYNCHRONIZE CACHE not executed is sent again with a new snapshot, which counts writes GOOD meanwhile', async () => {
    const disk = new ShadowDisk(2);
    const w = disk.writeSent('write', 0, 1);
    const sent: string[] = [];
    const k = await killAfterSync(fakeSession([{ status: 2, sense: UNIT_ATTENTION, before: () => { disk.writeGood(w); } }, { status: 0 }], sent), disk, 0, () => undefined);
    if (typeof k === 'string') throw new Error(k);
    expect(sent).toEqual(['35000000000000000000', '35000000000000000000']);
    expect(disk.readDone(k.snapshot, Buffer.alloc(2 * BL), BL)).toEqual([{ lba: 0, what: `holds zeros; possible: write ${w.id} (write, good)` }]);
  });

  test('any other answer is the reason, and nothing is killed', async () => {
    const disk = new ShadowDisk(2);
    let killed = false;
    const medium = Buffer.from([0x70, 0, 0x03, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0x00, 0, 0, 0, 0]);
    expect(await killAfterSync(fakeSession([{ status: 2, sense: medium }], []), disk, 0, () => { killed = true; })).toBe('SYNCHRONIZE CACHE (10) before the kill: CHECK CONDITION 03h/11h/00h');
    expect(await killAfterSync(fakeSession([], []), disk, 0, () => { killed = true; })).toBe('SYNCHRONIZE CACHE (10) before the kill: not sent');
    expect(killed).toBe(false);
    expect(disk.uncertainBlocks()).toBe(0);
  });
});

// A virtio driver whose enqueue registers a request and then throws (a
// transport whose notify fails on the kick): the command fails HARDWARE ERROR,
// and the request still in the ring may answer later. That late answer must
// reach nobody: not the next command, which reuses the emulator's and the
// SIM's per-command records, and which must complete only with its own data.

import { expect, test } from 'vitest';
import { attachLocalVirtioBlk } from '../../../src/virtio/local-stack.js';
import { MemoryBackend } from '../../../src/virtio/device/backends/memory.js';
import { VirtioBlockCommandSet } from '../../../src/cam/sim/vtblk/translate.js';
import { SbcEmulator, encodeRw } from '../../../src/scsi/index.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { CamStatus } from '../../../src/cam/status.js';
import type { VirtioBlkDriver } from '../../../src/virtio/blk-driver.js';
import { rig, pattern } from './harness.js';

/** The driver's next enqueue registers its request (it is in the ring, its callback kept) and then throws. */
function throwAfterNextEnqueue(driver: VirtioBlkDriver): void {
  const enqueue = driver.enqueue.bind(driver);
  let once = true;
  driver.enqueue = (req, done, q) => {
    enqueue(req, done, q);
    if (once) {
      once = false;
      throw new Error('notify failed after the request was queued');
    }
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a request still in the ring after enqueue threw cannot answer the next command', async () => {
  const disk = new MemoryBackend({ blocks: 1024, blockSize: 512 });
  const s = await attachLocalVirtioBlk({ backend: disk, queueSize: 64, memorySize: 1 << 22, device: { blockSize: 512, serial: 'X' } });
  if (!('driver' in s)) throw new Error(s.reason);
  const bcs = new VirtioBlockCommandSet({ driver: s.driver, memory: s.memory, allocator: s.allocator });
  expect(await bcs.write(100n, new Uint8Array(512).fill(0xbb))).toBe('ok');
  expect(await bcs.write(0n, new Uint8Array(512).fill(0xaa))).toBe('ok');
  const emu = await SbcEmulator.create(bcs, { serial: 'X' });
  // Clear the power-on unit attention so READs take the fast path.
  await emu.execute(new Uint8Array(6), { nexus: 'n' });
  await emu.execute(new Uint8Array(6), { nexus: 'n' });

  throwAfterNextEnqueue(s.driver);

  const first: (SbcResult | undefined)[] = [];
  const second: { status: number | undefined; byte0: number | undefined; snapshot: number[] }[] = [];
  emu.start(encodeRw({ op: 'READ', lba: 0n, blocks: 1 }, { minLength: 10 }), { nexus: 'n' }, (r) => {
    first.push(r);
  });
  await Promise.resolve();
  await Promise.resolve();
  // The first command failed (HARDWARE ERROR) once startRead threw; its fast-path record is spent, not freed.
  expect(first.length).toBe(1);
  expect(first[0]?.status).toBe(0x02);

  // A second READ, of another LBA, into room of its own, while the first's request is still in the ring.
  const room = new Uint8Array(512);
  emu.start(encodeRw({ op: 'READ', lba: 100n, blocks: 1 }, { minLength: 10 }), { nexus: 'n', dataIn: room }, (r) => {
    second.push({ status: r?.status, byte0: r?.data?.[0], snapshot: Array.from(room.subarray(0, 4)) });
  });
  for (let i = 0; i < 20 && second.length === 0; i++) await turn();
  for (let i = 0; i < 5; i++) await turn();

  // Exactly one GOOD answer for the second READ, carrying block 100 (0xBB).
  expect(second.length).toBe(1);
  expect(second[0]).toEqual({ status: 0, byte0: 0xbb, snapshot: [0xbb, 0xbb, 0xbb, 0xbb] });
});

// The same through VtblkSim: a stale answer would come back with the next CCB's entry as start()'s context,
// pass the SIM's stale-answer check and complete that CCB (REQ_CMP) before its data was read.

test('VtblkSim: after an enqueue that threw, the next READ CCB completes only once its own request is answered', async () => {
  const r = await rig();
  const a = pattern(1, 512, 7);
  const b = pattern(1, 512, 9);
  expect((await r.run(`2a 00 00 00 00 00 00 00 01 00`, { dataOut: a })).status).toBe(CamStatus.REQ_CMP);
  expect((await r.run(`2a 00 00 00 00 64 00 00 01 00`, { dataOut: b })).status).toBe(CamStatus.REQ_CMP);
  throwAfterNextEnqueue(r.stack.driver);
  // The device holds what reaches it until released (a slow backend), so the stale request answers after the next READ started.
  r.backend.stall();
  const first = r.ccb(`28 00 00 00 00 00 00 00 01 00`, { dataIn: 512 });
  const firstDone = r.handle.next(first);
  r.sim.action(first);
  await firstDone; // CHECK CONDITION (HARDWARE ERROR): the emulator answered when startRead threw
  expect(first.scsiStatus).toBe(0x02);
  const second = r.ccb(`28 00 00 00 00 64 00 00 01 00`, { dataIn: 512 });
  // What the CCB's consumer sees when the CCB completes (iSCSI sends its Data-In right then).
  let atCompletion: number[] = [];
  const secondDone = r.handle.next(second).then(() => {
    atCompletion = Array.from(second.dataIn ?? []);
  });
  r.sim.action(second);
  for (let i = 0; i < 10; i++) await new Promise((res) => setImmediate(res));
  expect(r.backend.stalledCount).toBe(2); // the stale READ of LBA 0, then the second READ of LBA 100
  // Only the stale request completes: the second READ's own request is still held by the device.
  r.backend.release(1);
  for (let i = 0; i < 10; i++) await new Promise((res) => setImmediate(res));
  expect(r.handle.count(second)).toBe(0); // it cannot have completed: the device has not read its block yet
  r.backend.release();
  await secondDone;
  expect(second.status).toBe(CamStatus.REQ_CMP);
  expect(r.handle.count(second)).toBe(1);
  expect(atCompletion).toEqual(Array.from(b));
});

test('a request the driver kept after enqueue threw is uncharged once, when it throws, not again when it is answered', async () => {
  const disk = new MemoryBackend({ blocks: 1024, blockSize: 512 });
  const s = await attachLocalVirtioBlk({ backend: disk, queueSize: 64, memorySize: 1 << 22, device: { blockSize: 512, serial: 'X' } });
  if (!('driver' in s)) throw new Error(s.reason);
  const bcs = new VirtioBlockCommandSet({ driver: s.driver, memory: s.memory, allocator: s.allocator });
  throwAfterNextEnqueue(s.driver);
  await expect(bcs.write(7n, new Uint8Array(512).fill(0xcc))).rejects.toThrow('notify failed after the request was queued');
  expect(bcs.heldDescriptors).toBe(0);
  // The device still runs the request the driver kept, and the driver answers it.
  for (let i = 0; i < 5; i++) await turn();
  const back = new Uint8Array(512);
  expect(disk.readSync(7 * 512, back, 0, 512)).toBe('ok');
  expect(back[0]).toBe(0xcc);
  expect(bcs.heldDescriptors).toBe(0);
  expect(bcs.queueStats()[0]).toMatchObject({ held: 0, inFlight: 0, requests: 0 });
  // The set still works, and its charges balance.
  expect(await bcs.read(7n, new Uint8Array(512))).toBe('ok');
  expect(bcs.heldDescriptors).toBe(0);
  expect(bcs.queueStats()[0]).toMatchObject({ held: 0, inFlight: 0, requests: 1 });
});

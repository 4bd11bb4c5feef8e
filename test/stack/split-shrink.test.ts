// A split da request across a capacity shrink da has not heard of yet: the
// backend shrinks from 8192 to 4096 blocks and the device signals it, and
// before anything else da is asked for 200 blocks at 4000 in 16-block pieces.
// A request that changes the medium (WRITE, UNMAP, WRITE SAME) fails whole,
// LOGICAL BLOCK ADDRESS OUT OF RANGE (05h/21h/00h), and nothing reaches the
// backend (SBC-4: a command past the capacity is not executed); the CAPACITY
// DATA HAS CHANGED unit attention still reaches the listeners once, and split
// writes and reads inside the new end still work.

import { describe, expect, test } from 'vitest';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../src/virtio/blk-driver.js';
import { VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES, featureMask } from '../../src/virtio/blk-features.js';
import type { DaPeriph } from '../../src/cam/periph/da.js';
import { stamp, until } from './helpers.js';
import { BS, camErrorOf, counter, expectIdle, fill, rig, triple, type Rig } from './fault-rig.js';

const NO_DISCARD = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_BLK_F_DISCARD);
const NEITHER = NO_DISCARD & ~featureMask(VIRTIO_BLK_F_WRITE_ZEROES);
const LBA = 4000;
const BLOCKS = 200;

/**
 * 8192 blocks, [3800, 4096) stamped; 16 blocks per READ/WRITE, WRITE SAME and
 * UNMAP list. shrink() must be called in the same synchronous run as the
 * command meant to meet the unit attention, before the XPT's own READ CAPACITY.
 */
async function setup(features: bigint): Promise<{ r: Rig; da: DaPeriph; uas: [number, number, number][]; shrink: () => void }> {
  const r = await rig(8192, {
    features,
    da: { maxIoBytes: 16 * BS },
    emulator: { maxWriteSameBlocks: 16, maxUnmapLbaCount: 16, maxUnmapBlockDescriptors: 1 },
  });
  const da = r.stack.da(0);
  await fill(r, 3800, 296, 1);
  const uas: [number, number, number][] = [];
  da.onUnitAttention((s) => uas.push([s.key, s.asc, s.ascq]));
  const shrink = (): void => {
    r.disk.resize(4096);
    r.stack.virtio.device.refreshCapacity();
  };
  return { r, da, uas, shrink };
}

describe('a split change across a shrink da has not heard of', () => {
  test.each([
    ['write', 'all', VIRTIO_BLK_DRIVER_FEATURES, (da: DaPeriph) => da.write(BigInt(LBA), new Uint8Array(BLOCKS * BS).fill(0xab))],
    ['discard', 'unmap', VIRTIO_BLK_DRIVER_FEATURES, (da: DaPeriph) => da.discard(BigInt(LBA), BLOCKS)],
    ['discard', 'ws16-unmap', NO_DISCARD, (da: DaPeriph) => da.discard(BigInt(LBA), BLOCKS)],
    ['discard', 'zero', NEITHER, (da: DaPeriph) => da.discard(BigInt(LBA), BLOCKS)],
    ['writeZeroes', 'all', VIRTIO_BLK_DRIVER_FEATURES, (da: DaPeriph) => da.writeZeroes(BigInt(LBA), BLOCKS)],
    ['writeZeroes { unmap }', 'ws16-unmap', NO_DISCARD, (da: DaPeriph) => da.writeZeroes(BigInt(LBA), BLOCKS, { unmap: true })],
  ] as const)('%s (%s): 05h/21h/00h and nothing reaches the backend', async (_op, method, features, change) => {
    const { r, da, uas, shrink } = await setup(features);
    if (method !== 'all') expect(da.deleteMethod).toBe(method);
    const changes = counter(r.probe, (op) => op.kind !== 'read' && op.kind !== 'flush');
    shrink();
    const e = await camErrorOf(change(da));
    expect(triple(e.senseData)).toEqual([0x05, 0x21, 0x00]);
    expect(changes.n).toBe(0);
    expect(uas).toEqual([[0x06, 0x2a, 0x09]]);
    expect(da.capacity.blocks).toBe(4096n);
    expect(r.shadow.mismatch(3800, await da.read(3800n, 296))).toBeUndefined();
    // Inside the new end, split writes and reads work (the last piece first, then the rest).
    await fill(r, 3800, 296, 2);
    expect(r.shadow.mismatch(3800, await da.read(3800n, 296))).toBeUndefined();
    expectIdle(r.stack);
    await r.stack.close();
  });

  test('a split read fails the same way and returns nothing; the capacity and the unit attention follow', async () => {
    const { r, da, uas, shrink } = await setup(VIRTIO_BLK_DRIVER_FEATURES);
    shrink();
    const e = await camErrorOf(da.read(BigInt(LBA), BLOCKS));
    expect(triple(e.senseData)).toEqual([0x05, 0x21, 0x00]);
    expect(uas).toEqual([[0x06, 0x2a, 0x09]]);
    await until(() => da.capacity.blocks === 4096n, 'da.capacity updated');
    const data = stamp(3900, 196, BS, 3);
    await da.write(3900n, data);
    r.shadow.write(3900, data);
    expect(r.shadow.mismatch(3900, await da.read(3900n, 196))).toBeUndefined();
    expectIdle(r.stack);
    await r.stack.close();
  });
});

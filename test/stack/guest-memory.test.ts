// createStack and guest memory: the maximum transfer the unit advertises
// (Block Limits VPD, SBC-4 §6.6.4: MAXIMUM TRANSFER LENGTH at bytes 8..11,
// OPTIMAL TRANSFER LENGTH at 12..15; PATH_INQ maxIoBytes; what da splits by)
// is one guest memory can hold, and a transfer of exactly that size runs.

import { describe, expect, test } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { CamStatus } from '../../src/cam/status.js';
import { CamError } from '../../src/cam/periph/errors.js';
import { ProbeBackend, rw10, senseTriple, watchSimDispatches, type ProbeOpKind } from './helpers.js';

/** INQUIRY, EVPD 1, page B0h (Block Limits), 64 bytes. */
const BLOCK_LIMITS = Uint8Array.of(0x12, 0x01, 0xb0, 0x00, 0x40, 0x00);

async function blockLimits(stack: Stack): Promise<{ max: number; optimal: number }> {
  const r = await stack.pass(0).scsi({ cdb: BLOCK_LIMITS, direction: 'in', length: 64 });
  expect(r.camStatus & 0x3f).toBe(CamStatus.REQ_CMP);
  const data = r.data ?? new Uint8Array(0);
  expect(data[1]).toBe(0xb0);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { max: v.getUint32(8), optimal: v.getUint32(12) };
}

const pattern = (bytes: number): Uint8Array => Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + (i >> 9)) & 0xff);

describe('createStack: the maximum transfer and guest memory', () => {
  test('the default (64 MiB of guest memory) advertises what it always did: 16384 blocks (8 MiB)', async () => {
    const stack = await createStack({ backend: new MemoryBackend({ blocks: 65_536 }) });
    expect(await blockLimits(stack)).toEqual({ max: 16_384, optimal: 0 });
    expect(stack.sim.pathInq().maxIoBytes).toBe(8 << 20);
    expect(stack.da(0).maxTransferBlocks).toBe(16_384);
    await stack.close();
  });

  test('memorySize 1 MiB: the unit advertises what guest memory holds, and a read, a write and a READ (10) of exactly that run', async () => {
    const disk = new ProbeBackend(new MemoryBackend({ blocks: 65_536 }));
    const ops: ProbeOpKind[] = [];
    disk.onStart = (op) => ops.push(op.kind);
    const stack = await createStack({ backend: disk, memorySize: 1 << 20 });
    // Half of what the 128-entry ring leaves of 1 MiB (1,048,576 − 5,584 bytes), in whole 512-byte blocks.
    const max = 1018;
    expect(await blockLimits(stack)).toEqual({ max, optimal: 0 });
    expect(stack.sim.pathInq().maxIoBytes).toBe(max * 512);
    const da = stack.da(0);
    expect(da.maxTransferBlocks).toBe(max);
    const data = pattern(max * 512);
    ops.length = 0;
    await da.write(0n, data);
    expect(Buffer.compare(await da.read(0n, max), data)).toBe(0);
    // One command each (da split nothing, nothing was retried), straight to the backend.
    expect(ops).toEqual(['write', 'read']);
    const r = await stack.pass(0).scsi({ cdb: rw10('read', 0, max), direction: 'in', length: max * 512 });
    expect([r.camStatus & 0x3f, r.scsiStatus, r.resid]).toEqual([CamStatus.REQ_CMP, 0, 0]);
    expect(Buffer.compare(r.data ?? new Uint8Array(0), data)).toBe(0);
    // One block more is beyond MAXIMUM TRANSFER LENGTH: ILLEGAL REQUEST, INVALID FIELD IN CDB (TRANSFER LENGTH, byte 7).
    const over = await stack.pass(0).scsi({ cdb: rw10('read', 0, max + 1), direction: 'in', length: (max + 1) * 512 });
    expect(over.scsiStatus).toBe(0x02);
    expect(senseTriple(over.sense)).toEqual([0x05, 0x24, 0x00]);
    // SKSV, C/D 1: the field pointer names CDB byte 7.
    expect(Array.from((over.sense ?? new Uint8Array(0)).subarray(15, 18))).toEqual([0xc0, 0x00, 0x07]);
    // A 1 MiB da.read is split at the maximum and runs.
    expect(Buffer.compare((await da.read(0n, 2048)).subarray(0, max * 512), data)).toBe(0);
    await stack.close();
  });

  test('memorySize 1 MiB: transfers that together need more than guest memory wait for it, and all complete', async () => {
    const stack = await createStack({ backend: new MemoryBackend({ blocks: 65_536 }), memorySize: 1 << 20 });
    const da = stack.da(0);
    const reads = await Promise.all(Array.from({ length: 64 }, (_, i) => da.read(BigInt(i * 256), 256)));
    expect(reads.map((b) => b.length)).toEqual(Array.from({ length: 64 }, () => 256 * 512));
    await stack.close();
  });

  test('a transfer guest memory can never hold (others took it) ends ILLEGAL REQUEST, INSUFFICIENT RESOURCES, not MEDIUM ERROR, and da does not retry it', async () => {
    const disk = new ProbeBackend(new MemoryBackend({ blocks: 65_536 }));
    const stack = await createStack({ backend: disk, memorySize: 1 << 20 });
    const da = stack.da(0);
    const started = disk.started;
    // Someone besides the SIM holds all of guest memory but 1 KiB: a 16-block transfer can never get its 8 KiB.
    const { allocator } = stack.virtio;
    for (let n = 1 << 20; n >= 1; n >>= 1) while (allocator.freeBytes - n >= 1024 && allocator.alloc(n, 1) !== undefined);
    expect(allocator.freeBytes).toBe(1024);
    const dispatches = watchSimDispatches(stack);
    const failed = await da.read(0n, 16).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(CamError);
    const e = failed as CamError;
    expect([e.camStatus, e.scsiStatus, e.retries]).toEqual([CamStatus.SCSI_STATUS_ERROR, 0x02, 0]);
    expect(senseTriple(e.sense)).toEqual([0x05, 0x55, 0x03]);
    expect(e.lba).toBeUndefined();
    expect(dispatches.dispatches).toBe(1);
    const w = await stack.pass(0).scsi({ cdb: rw10('write', 0, 16), direction: 'out', data: new Uint8Array(16 * 512) });
    expect([w.scsiStatus, senseTriple(w.sense)]).toEqual([0x02, [0x05, 0x55, 0x03]]);
    expect(disk.started).toBe(started);
    await stack.close();
  });
});

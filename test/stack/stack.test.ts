// createStack end to end: scan, devlist, da and pass on a memory disk, close.

import { describe, expect, test, vi } from 'vitest';
import { createStack, type StackOptions } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { SharedMemoryBackend } from '../../src/virtio/device/backends/shared-memory.js';
import { CamStatus } from '../../src/cam/status.js';
import { unitIdentity } from './identity.js';

/** What createStack(opts) rejects with; a stack it makes instead is closed and stands as 'a stack' (a Stack is too big to print). */
async function refusal(opts: StackOptions): Promise<unknown> {
  try {
    await (await createStack(opts)).close();
    return 'a stack';
  } catch (e) {
    return e;
  }
}

describe('createStack', () => {
  test('a memory disk: devlist, da write/read, pass INQUIRY, stats, close', async () => {
    const stack = await createStack({ backend: new MemoryBackend({ blocks: 8192 }), queueSize: 64 });
    const [dev, ...more] = stack.devices();
    expect(more).toEqual([]);
    expect(dev).toMatchObject({ index: 0, path: { bus: 0, target: 0, lun: 0 }, da: 'da0', pass: 'pass0', sim: 'vtblk0', vendor: 'VTCAM', product: 'VIRTIO-BLK', blocks: 8192n, blockSize: 512 });
    const da = stack.da(0);
    const data = Uint8Array.from({ length: 8 * 512 }, (_, i) => (i * 31) & 0xff);
    await da.write(100n, data);
    expect(await da.read(100n, 8)).toEqual(data);
    // INQUIRY, 36 bytes, through pass: exactly what the unit says.
    const r = await stack.pass(0).scsi({ cdb: Uint8Array.of(0x12, 0, 0, 0, 36, 0), direction: 'in', length: 36 });
    expect(r.camStatus & 0x3f).toBe(CamStatus.REQ_CMP);
    expect(r.data?.length).toBe(36);
    expect(new TextDecoder().decode(r.data?.subarray(8, 16))).toBe('VTCAM   ');
    const s = stack.stats(0);
    expect(s.frozen).toBe(0);
    expect(s.active).toBe(0);
    expect(s.maxCharged).toBeLessThanOrEqual(s.capacity);
    await stack.close();
    await stack.close();
  });
});

describe('createStack: the block size', () => {
  test('a backend made for 4096-byte blocks gives a 4096-byte unit without device.blockSize', async () => {
    const stack = await createStack({ backend: new MemoryBackend({ blocks: 256, blockSize: 4096 }), queueSize: 16 });
    expect(stack.devices()[0]).toMatchObject({ blocks: 256n, blockSize: 4096 });
    const data = new Uint8Array(4096).fill(0x4b);
    await stack.da(0).write(255n, data);
    expect(await stack.da(0).read(255n, 1)).toEqual(data);
    await stack.close();
  });

  test('a device block size the backend cannot take, or not 512/4096, is a RangeError naming what to use', async () => {
    await expect(createStack({ backend: new MemoryBackend({ blocks: 256, blockSize: 4096 }), device: { blockSize: 512 } })).rejects.toThrow(
      /blockSize 512 is smaller than the backend's 4096-byte blocks: use 4096/,
    );
    await expect(createStack({ backend: new MemoryBackend({ blocks: 256 }), device: { blockSize: 1024 as 512 } })).rejects.toThrow(/blockSize must be 512 or 4096, got 1024/);
    // A larger device block over a 512-byte backend is fine (its requests stay aligned).
    const stack = await createStack({ backend: new MemoryBackend({ blocks: 256 }), device: { blockSize: 4096 } });
    expect(stack.devices()[0]).toMatchObject({ blocks: 32n, blockSize: 4096 });
    await stack.close();
  });
});

describe("createStack: the unit's identity", () => {
  test('two devices made without a serial answer different serial numbers (80h) and NAA designators (83h)', async () => {
    const a = await createStack({ backend: new MemoryBackend({ blocks: 64 }) });
    const b = await createStack({ backend: new MemoryBackend({ blocks: 64 }) });
    const ia = await unitIdentity(a.pass(0));
    const ib = await unitIdentity(b.pass(0));
    // All of GET_ID's 20 bytes: the prefix and 56 random bits.
    expect(ia.serial).toMatch(/^vtcam-[0-9a-f]{14}$/);
    expect(ib.serial).toMatch(/^vtcam-[0-9a-f]{14}$/);
    expect(ib.serial).not.toBe(ia.serial);
    expect(ib.naa).not.toBe(ia.naa);
    expect(ia.naa).toMatch(/^3/); // NAA 3h, locally assigned
    expect(ia.t10).toBe(`VTCAM   ${ia.serial}`);
    expect(a.devices()[0]?.serial).toBe(ia.serial);
    await a.close();
    await b.close();
  });

  test('a serial given is the one answered', async () => {
    const stack = await createStack({ backend: new MemoryBackend({ blocks: 64 }), device: { serial: 'DISK-0001' } });
    expect(await unitIdentity(stack.pass(0))).toMatchObject({ serial: 'DISK-0001', t10: 'VTCAM   DISK-0001' });
    await stack.close();
  });
});

describe('createStack: the queue size', () => {
  test.each([0, 3, 100, 65536, 1.5])('queueSize %s is a RangeError naming queueSize, not an internal option', async (queueSize) => {
    await expect(createStack({ backend: new MemoryBackend({ blocks: 64 }), queueSize })).rejects.toThrow(`queueSize must be a power of two in 1..32768, got ${queueSize}`);
  });
});

describe('createStack: closeGraceMs', () => {
  test.each([-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])('closeGraceMs %s is a RangeError', async (closeGraceMs) => {
    expect(await refusal({ backend: new MemoryBackend({ blocks: 64 }), closeGraceMs })).toEqual(new RangeError(`closeGraceMs must be 0..2147483647 milliseconds, got ${closeGraceMs}`));
  });
});

describe('createStack: resetTimeoutMs', () => {
  test.each(['local', 'worker'] as const)('past Node\'s longest timer it is a RangeError (transport %s), not a 1 ms timeout', async (transport) => {
    expect(await refusal({ backend: new SharedMemoryBackend({ blocks: 64 }), transport, resetTimeoutMs: 2 ** 31 })).toEqual(
      new RangeError('resetTimeoutMs must be a positive number of milliseconds up to 2147483647, got 2147483648'),
    );
  });

  test('the longest timer, for both waits, is taken', async () => {
    const stack = await createStack({ backend: new MemoryBackend({ blocks: 64 }), resetTimeoutMs: 2 ** 31 - 1, closeGraceMs: 2 ** 31 - 1 });
    await stack.da(0).write(0n, new Uint8Array(512).fill(1));
    await stack.close();
  });
});

describe('createStack: options of the wrong shape', () => {
  const backend = (): MemoryBackend => new MemoryBackend({ blocks: 64 });
  test.each<[string, unknown, string]>([
    ['no options', undefined, 'createStack needs options: { backend, … }'],
    ['no backend', {}, 'backend is required: a BlockBackend such as MemoryBackend or FileBackend'],
    ['a null backend', { backend: null }, 'backend is required: a BlockBackend such as MemoryBackend or FileBackend'],
    ['emulator null', { backend: backend(), emulator: null }, 'emulator must be an object of options, got null'],
    ['xpt null', { backend: backend(), xpt: null }, 'xpt must be an object of options, got null'],
    ['da a number', { backend: backend(), da: 4 }, 'da must be an object of options, got number'],
    ['device a string', { backend: backend(), device: 'x' }, 'device must be an object of options, got string'],
    ['features a number', { backend: backend(), features: 0 }, 'features must be a bigint of feature bits, got number'],
  ])('%s is a TypeError naming the option', async (_, opts, message) => {
    expect(await refusal(opts as StackOptions)).toEqual(new TypeError(message));
  });
});

describe('createStack: a da option that fails', () => {
  /** The message ports open now: a device worker holds one for as long as it runs. */
  const ports = (): number => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;

  test('a bad da option is a RangeError before the device starts', async () => {
    const backend = new SharedMemoryBackend({ blocks: 64 });
    const share = vi.spyOn(backend, 'share');
    const before = ports();
    await expect(createStack({ backend, transport: 'worker', da: { retries: -1 } })).rejects.toThrow(new RangeError('da: retries must be a non-negative number, got -1'));
    // No device worker was given the backend, and none runs.
    expect(share).not.toHaveBeenCalled();
    expect(ports()).toBe(before);
  });

  test('a da refusing its unit after the scan stops the device and its workers', async () => {
    const backend = new SharedMemoryBackend({ blocks: 64 });
    const before = ports();
    await expect(createStack({ backend, transport: 'worker', da: { maxIoBytes: 100 } })).rejects.toThrow(
      new RangeError('da: maxIoBytes must be 0 or at least one block (512), got 100'),
    );
    expect(ports()).toBe(before);
    // The backend is free for a stack that starts.
    const stack = await createStack({ backend, transport: 'worker' });
    expect(stack.devices()).toHaveLength(1);
    await stack.close();
  });
});

describe('the ARCHITECTURE.md example, through the package entry', () => {
  test('createStack, devices, da, pass.scsi, close', async () => {
    const { createStack: create, MemoryBackend: Mem, CamStatus: Cs } = await import('../../src/index.js');
    const stack = await create({ backend: new Mem({ blocks: 2_097_152, blockSize: 512 }), queueSize: 128 });
    expect(stack.devices().map((d) => [d.da, d.pass, d.blocks])).toEqual([['da0', 'pass0', 2_097_152n]]);
    const da = stack.da(0);
    await da.write(2_097_151n, new Uint8Array(512).fill(7));
    expect((await da.read(2_097_151n, 1))[511]).toBe(7);
    const cdb = Uint8Array.of(0x12, 0, 0, 0, 36, 0);
    const r = await stack.pass(0).scsi({ cdb, direction: 'in', length: 36 });
    expect({ cam: r.camStatus & 0x3f, scsi: r.scsiStatus, len: r.data?.length, resid: r.resid }).toEqual({ cam: Cs.REQ_CMP, scsi: 0, len: 36, resid: 0 });
    await stack.close();
  });

  test('an unknown transport is refused with a clear message', async () => {
    const { createStack: create, MemoryBackend: Mem } = await import('../../src/index.js');
    await expect(create({ backend: new Mem({ blocks: 8 }), transport: 'vhost-user' as 'local' })).rejects.toThrow("transport must be 'local' or 'worker', got 'vhost-user'");
    // A MemoryBackend lives in this thread's heap: no worker can open it.
    await expect(create({ backend: new Mem({ blocks: 8 }), transport: 'worker' })).rejects.toThrow(/use SharedMemoryBackend or FileBackend/);
  });
});

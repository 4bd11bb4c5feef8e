// da: the block API's CDBs (bytes from the SBC-4 READ/WRITE (10)/(16) and
// SYNCHRONIZE CACHE (10) tables), the (10)/(16) choice at the 2^32 LBA and
// 65536-block boundaries, splitting at the maximum I/O with data kept in
// order, and data checked against the in-memory disk.

import { describe, expect, test } from 'vitest';
import { DaPeriph, type DaOptions } from '../../../src/cam/periph/da.js';
import { CamError } from '../../../src/cam/periph/errors.js';
import type { CamDeviceInfo } from '../../../src/cam/xpt/periph-api.js';
import type { SbcEmulatorOptions } from '../../../src/scsi/sbc/unit-description.js';
import type { MemoryBlockSetOptions } from '../../../src/scsi/sbc/memory-block-set.js';
import { FakeXpt, PATH, hex, tick } from './fake-xpt.js';

const BS = 512;

async function setup(
  opts: DaOptions = {},
  disk: Partial<MemoryBlockSetOptions> = {},
  emu: SbcEmulatorOptions = {},
  device: Partial<CamDeviceInfo> = {},
): Promise<{ xpt: FakeXpt; da: DaPeriph }> {
  const xpt = await FakeXpt.create(disk, emu, device);
  return { xpt, da: new DaPeriph(xpt, PATH, opts) };
}

/** `n` blocks, each byte a function of its LBA and offset. */
function pattern(lba: number, n: number): Uint8Array {
  const out = new Uint8Array(n * BS);
  for (let i = 0; i < out.length; i++) out[i] = (lba * 31 + Math.floor(i / BS) * 31 + i * 7 + 1) & 0xff;
  return out;
}

/** The 10-byte READ/WRITE CDB from the SBC-4 table: op, flags, LBA (4), group, TRANSFER LENGTH (2), control. */
function rw10(op: number, lba: number, n: number): string {
  const c = new Uint8Array(10);
  const v = new DataView(c.buffer);
  v.setUint8(0, op);
  v.setUint32(2, lba);
  v.setUint16(7, n);
  return hex(c);
}

/** The 16-byte READ/WRITE CDB: op, flags, LBA (8), TRANSFER LENGTH (4), group, control. */
function rw16(op: number, lba: bigint, n: number): string {
  const c = new Uint8Array(16);
  const v = new DataView(c.buffer);
  v.setUint8(0, op);
  v.setBigUint64(2, lba);
  v.setUint32(10, n);
  return hex(c);
}

describe('da: READ/WRITE CDB choice', () => {
  test.each([
    ['READ lba 0x10, 8 blocks', 0x10n, 8, '28 00 00 00 00 10 00 00 08 00'],
    ['READ lba 0xffffffff, 1 block (last LBA READ(10) reaches)', 0xffff_ffffn, 1, '28 00 ff ff ff ff 00 00 01 00'],
    ['READ lba 2^32, 1 block', 0x1_0000_0000n, 1, '88 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00'],
    ['READ lba 0, 65535 blocks', 0n, 65535, '28 00 00 00 00 00 00 ff ff 00'],
    ['READ lba 0, 65536 blocks', 0n, 65536, '88 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00'],
  ])('%s', async (_, lba, blocks, want) => {
    const { xpt, da } = await setup({}, { blocks: 1n << 33n }, { maxTransferBytes: 65536 * BS });
    const data = await da.read(lba, blocks);
    expect(data.length).toBe(blocks * BS);
    expect(xpt.cdbs()).toEqual([want]);
    await xpt.settle();
  });

  test('WRITE(10) and WRITE(16) at the 2^32 boundary', async () => {
    const { xpt, da } = await setup({}, { blocks: 1n << 33n });
    await da.write(0xffff_ffffn, pattern(1, 1));
    await da.write(0x1_0000_0000n, pattern(2, 1));
    expect(xpt.cdbs()).toEqual(['2a 00 ff ff ff ff 00 00 01 00', '8a 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00']);
    expect(hex(xpt.disk.peek(0xffff_ffffn))).toBe(hex(pattern(1, 1)));
    expect(hex(xpt.disk.peek(0x1_0000_0000n))).toBe(hex(pattern(2, 1)));
    await xpt.settle();
  });

  test('flush is SYNCHRONIZE CACHE (10) over the whole medium', async () => {
    const { xpt, da } = await setup();
    await da.flush();
    expect(xpt.cdbs()).toEqual(['35 00 00 00 00 00 00 00 00 00']);
    expect(xpt.disk.calls.map((c) => c.op)).toEqual(['flush']);
    await xpt.settle();
  });

  test('0 blocks issue nothing', async () => {
    const { xpt, da } = await setup();
    expect((await da.read(5n, 0)).length).toBe(0);
    await da.write(5n, new Uint8Array(0));
    await da.discard(5n, 0);
    await da.writeZeroes(5n, 0);
    expect(xpt.issued).toHaveLength(0);
  });
});

describe('da: data', () => {
  test('write then read back, verified on the disk', async () => {
    const { xpt, da } = await setup();
    const data = pattern(100, 16);
    await da.write(100n, data);
    for (let i = 0; i < 16; i++) expect(hex(xpt.disk.peek(100n + BigInt(i)))).toBe(hex(data.subarray(i * BS, (i + 1) * BS)));
    expect(hex(await da.read(100n, 16))).toBe(hex(data));
    expect(hex(await da.read(99n, 1))).toBe(hex(new Uint8Array(BS)));
    await xpt.settle();
  });

  test('random writes and reads against a shadow copy', async () => {
    const { xpt, da } = await setup({ maxIoBytes: 8 * BS }, { blocks: 256 });
    const shadow = new Uint8Array(256 * BS);
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const ops: Promise<void>[] = [];
    for (let k = 0; k < 200; k++) {
      const lba = rand(250);
      const n = 1 + rand(Math.min(20, 256 - lba));
      if (rand(2) === 0) {
        const d = pattern(k, n);
        shadow.set(d, lba * BS);
        // Writes are awaited one by one so the shadow's order is the disk's.
        await da.write(BigInt(lba), d);
      } else {
        const want = hex(shadow.subarray(lba * BS, (lba + n) * BS));
        ops.push(
          da.read(BigInt(lba), n).then((got) => {
            expect(hex(got)).toBe(want);
          }),
        );
      }
    }
    await Promise.all(ops);
    await xpt.settle();
  });
});

describe('da: splitting at the maximum I/O', () => {
  test('maxIoBytes: pieces issued at once, data assembled in order when they complete in reverse', async () => {
    const { xpt, da } = await setup({ maxIoBytes: 4 * BS });
    const data = pattern(3, 10);
    await xpt.disk.write(3n, data);
    xpt.hold = true;
    const p = da.read(3n, 10);
    await tick();
    expect(xpt.cdbs()).toEqual([rw10(0x28, 3, 4), rw10(0x28, 7, 4), rw10(0x28, 11, 2)]);
    expect(xpt.active).toBe(3);
    expect(da.maxTransferBlocks).toBe(4);
    xpt.runHeld(true);
    expect(hex(await p)).toBe(hex(data));
    await xpt.settle();
  });

  test('Block Limits MAXIMUM TRANSFER LENGTH bounds writes; the last piece goes first and alone, then the rest at once; every piece lands', async () => {
    const { xpt, da } = await setup({ maxIoBytes: 64 * BS }, { maxTransferBlocks: 3 });
    expect(da.maxTransferBlocks).toBe(3);
    const data = pattern(7, 8);
    xpt.hold = true;
    const p = da.write(50n, data);
    await tick();
    expect(xpt.cdbs()).toEqual([rw10(0x2a, 56, 2)]);
    xpt.runHeld();
    xpt.hold = true;
    await tick();
    expect(xpt.cdbs()).toEqual([rw10(0x2a, 56, 2), rw10(0x2a, 50, 3), rw10(0x2a, 53, 3)]);
    expect(xpt.active).toBe(2);
    xpt.runHeld();
    await p;
    expect(xpt.issued.map((c) => c.dxferLen)).toEqual([2 * BS, 3 * BS, 3 * BS]);
    for (let i = 0; i < 8; i++) expect(hex(xpt.disk.peek(50n + BigInt(i)))).toBe(hex(data.subarray(i * BS, (i + 1) * BS)));
    await xpt.settle();
  });

  test('a piece crossing 2^32 switches to READ(16) for that piece only', async () => {
    const { xpt, da } = await setup({ maxIoBytes: 2 * BS }, { blocks: 1n << 33n });
    await da.read(0xffff_fffen, 4);
    expect(xpt.cdbs()).toEqual([rw10(0x28, 0xffff_fffe, 2), rw16(0x88, 0x1_0000_0000n, 2)]);
    await xpt.settle();
  });

  test('a failing piece fails the request with its error; the others still complete', async () => {
    const { xpt, da } = await setup({ maxIoBytes: 2 * BS, retries: 0 }, { fault: (op, lba) => (op === 'read' && lba === 4n ? 'io-error' : undefined) });
    const err: unknown = await da.read(0n, 8).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CamError);
    // A two-block piece: the unit cannot say which of its blocks failed, so the error names none.
    expect((err as CamError).lba).toBeUndefined();
    expect((err as CamError).senseData?.key).toBe(0x3);
    expect(xpt.issued).toHaveLength(4);
    await xpt.settle();
  });
});

describe('da: raw SCSI with recovery', () => {
  test('scsi() returns the result and retries a UNIT ATTENTION', async () => {
    const { xpt, da } = await setup();
    await da.flush();
    xpt.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x01 });
    const r = await da.scsi({ cdb: new Uint8Array([0x12, 0, 0, 0, 36, 0]), direction: 'in', length: 36 });
    expect(r.camStatus).toBe(0x01);
    expect(r.data?.length).toBe(36);
    // INQUIRY is exempt from unit attentions (SAM-5): it ran once; TEST UNIT READY meets the UA and is retried.
    const t = await da.scsi({ cdb: new Uint8Array(6), direction: 'none' });
    expect(t.scsiStatus).toBe(0);
    expect(xpt.cdbs().slice(1)).toEqual(['12 00 00 00 24 00', '00 00 00 00 00 00', '00 00 00 00 00 00']);
    await xpt.settle();
  });

  test('scsi() rejects with CamError when recovery gives up', async () => {
    const { xpt, da } = await setup();
    await expect(da.scsi({ cdb: new Uint8Array([0xff, 0, 0, 0, 0, 0]), direction: 'none' })).rejects.toThrow(
      'opcode 0xff failed (not retryable): CAM_SCSI_STATUS_ERROR|CAM_DEV_QFRZN|CAM_AUTOSNS_VALID, CHECK CONDITION, ILLEGAL REQUEST: INVALID COMMAND OPERATION CODE (20h/00h), CDB byte 0',
    );
    await xpt.settle();
  });
});

describe('da: caller bugs throw RangeError at the call', () => {
  test.each([
    ['negative lba', (da: DaPeriph) => da.read(-1n, 1), /da\.read: lba must be a non-negative bigint, got -1/],
    ['number lba', (da: DaPeriph) => da.read(1 as unknown as bigint, 1), /lba must be a non-negative bigint, got 1/],
    ['fractional blocks', (da: DaPeriph) => da.read(0n, 1.5), /blocks must be a non-negative integer, got 1\.5/],
    ['negative blocks', (da: DaPeriph) => da.discard(0n, -1), /da\.discard: blocks must be a non-negative integer, got -1/],
    ['past 2^64', (da: DaPeriph) => da.writeZeroes(0xffff_ffff_ffff_ffffn, 2), /passes 2\^64/],
    ['partial block', (da: DaPeriph) => da.write(0n, new Uint8Array(100)), /da\.write: data must be whole 512-byte blocks, got 100 bytes/],
    ['bad scsi request', (da: DaPeriph) => da.scsi({ cdb: new Uint8Array(0), direction: 'none' }), /da\.scsi: cdb must be/],
  ])('%s', async (_, call, message) => {
    const { xpt, da } = await setup();
    expect(() => call(da)).toThrow(RangeError);
    expect(() => call(da)).toThrow(message);
    expect(xpt.issued).toHaveLength(0);
    await da.read(0n, 1);
  });

  test('options', async () => {
    const xpt = await FakeXpt.create();
    expect(() => new DaPeriph(xpt, PATH, { maxIoBytes: 100 })).toThrow(/maxIoBytes must be 0 or at least one block \(512\), got 100/);
    expect(() => new DaPeriph(xpt, PATH, { retries: -1 })).toThrow(/retries must be a non-negative number, got -1/);
    expect(() => new DaPeriph(xpt, PATH, { retries: 1.5 })).toThrow(/retries and requeueLimit must be integers/);
    expect(() => new DaPeriph(xpt, PATH, { delays: { busy: Number.NaN } })).toThrow(/busy must be a non-negative number, got NaN/);
    expect(() => new DaPeriph(xpt, { bus: 1, target: 0, lun: 0 })).toThrow(/da: no device at 1:0:0/);
  });
});

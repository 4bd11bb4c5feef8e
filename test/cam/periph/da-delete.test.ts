// da discard and writeZeroes: the delete method per provisioning (UNMAP,
// WRITE SAME (16) with UNMAP, zeroing, refusal), UNMAP lists within the Block
// Limits, WRITE SAME within MAXIMUM WRITE SAME LENGTH, NDOB and its fallback.
// CDBs and parameter lists are written from the SBC-4 tables.

import { describe, expect, test } from 'vitest';
import { DaPeriph } from '../../../src/cam/periph/da.js';
import { deleteMethods, planUnmap, splitRuns } from '../../../src/cam/periph/da-plan.js';
import { CamError } from '../../../src/cam/periph/errors.js';
import type { CamDeviceInfo } from '../../../src/cam/xpt/periph-api.js';
import type { SbcEmulatorOptions } from '../../../src/scsi/sbc/unit-description.js';
import type { MemoryBlockSetOptions } from '../../../src/scsi/sbc/memory-block-set.js';
import { Asc, senseIllegalRequest, type AscAscq } from '../../../src/scsi/sense.js';
import { FakeXpt, PATH, hex, type Injection } from './fake-xpt.js';

const BS = 512;
const CAM_SCSI_STATUS_ERROR = 0x0c;
const CAM_FUNC_NOTAVAIL = 0x3a;

async function setup(disk: Partial<MemoryBlockSetOptions> = {}, emu: SbcEmulatorOptions = {}, device: Partial<CamDeviceInfo> = {}): Promise<{ xpt: FakeXpt; da: DaPeriph }> {
  const xpt = await FakeXpt.create(disk, emu, device);
  // Every block written with 0xee, so zeroing and unmapping show.
  await xpt.disk.write(0n, new Uint8Array(64 * BS).fill(0xee));
  return { xpt, da: new DaPeriph(xpt, PATH) };
}

const rejects = (opcode: number, asc: AscAscq, field: { byte: number; bit?: number }, times = 100): Injection => ({
  status: CAM_SCSI_STATUS_ERROR,
  scsiStatus: 0x02,
  sense: senseIllegalRequest(asc, field),
  match: (c) => c.cdb[0] === opcode,
  times,
});

/** WRITE SAME (16): 93h, byte 1 flags, LBA (8), NUMBER OF LOGICAL BLOCKS (4), group, control. */
function ws16(flags: number, lba: number, n: number): string {
  const c = new Uint8Array(16);
  const v = new DataView(c.buffer);
  v.setUint8(0, 0x93);
  v.setUint8(1, flags);
  v.setBigUint64(2, BigInt(lba));
  v.setUint32(10, n);
  return hex(c);
}

function expectBlocks(xpt: FakeXpt, from: number, to: number, fill: number): void {
  for (let lba = from; lba < to; lba++) expect(xpt.disk.peek(BigInt(lba)).every((b) => b === fill), `block ${lba}`).toBe(true);
}

describe('delete method per provisioning', () => {
  test('LBPU: UNMAP with one descriptor', async () => {
    const { xpt, da } = await setup();
    expect(da.deleteMethod).toBe('unmap');
    const before = xpt.disk.mappedBlocks;
    await da.discard(10n, 20);
    expect(xpt.cdbs()).toEqual(['42 00 00 00 00 00 00 00 18 00']);
    // UNMAP DATA LENGTH 22, BLOCK DESCRIPTOR DATA LENGTH 16, reserved; LBA 10, 20 blocks, reserved.
    expect(hex(xpt.issued[0]?.dataOut)).toBe('00 16 00 10 00 00 00 00 00 00 00 00 00 00 00 0a 00 00 00 14 00 00 00 00');
    expect(xpt.disk.mappedBlocks).toBe(before - 20);
    expectBlocks(xpt, 10, 30, 0);
    expectBlocks(xpt, 30, 31, 0xee);
    await xpt.settle();
  });

  test('UNMAP within MAXIMUM UNMAP LBA COUNT and BLOCK DESCRIPTOR COUNT', async () => {
    const { xpt, da } = await setup({}, { maxUnmapLbaCount: 8, maxUnmapBlockDescriptors: 2 });
    await da.discard(0n, 20);
    // The last list first (da-pieces.ts), then the rest.
    expect(xpt.issued.map((c) => hex(c.dataOut?.subarray(8)))).toEqual([
      '00 00 00 00 00 00 00 10 00 00 00 04 00 00 00 00',
      '00 00 00 00 00 00 00 00 00 00 00 08 00 00 00 00',
      '00 00 00 00 00 00 00 08 00 00 00 08 00 00 00 00',
    ]);
    expectBlocks(xpt, 0, 20, 0);
    await xpt.settle();
  });

  test('LBPWS without LBPU: WRITE SAME (16) with UNMAP and NDOB', async () => {
    const { xpt, da } = await setup({ discard: false, writeZeroes: { maxBlocks: 65536, mayUnmap: true } });
    expect(da.deleteMethod).toBe('ws16-unmap');
    await da.discard(10n, 20);
    expect(xpt.cdbs()).toEqual([ws16(0x09, 10, 20)]);
    expect(xpt.issued[0]?.dataOut).toBeUndefined();
    expect(xpt.disk.calls.filter((c) => c.op === 'write-zeroes')).toEqual([{ op: 'write-zeroes', lba: 10n, blocks: 20, unmap: true }]);
    expectBlocks(xpt, 10, 30, 0);
    await xpt.settle();
  });

  test('no provisioning: zeroing with WRITE SAME (16) NDOB', async () => {
    const { xpt, da } = await setup({ discard: false, writeZeroes: false });
    expect(deleteMethods(da.info)).toEqual(['zero']);
    expect(da.capacity.lbpme).toBe(false);
    await da.discard(10n, 20);
    expect(xpt.cdbs()).toEqual([ws16(0x01, 10, 20)]);
    expectBlocks(xpt, 10, 30, 0);
    expectBlocks(xpt, 30, 31, 0xee);
    await xpt.settle();
  });

  test('zeroing without NDOB: WRITE SAME (10) with one zero block, and NDOB is not tried again', async () => {
    const { xpt, da } = await setup({ discard: false, writeZeroes: false });
    xpt.inject(rejects(0x93, Asc.INVALID_FIELD_IN_CDB, { byte: 1, bit: 0 }));
    await da.discard(10n, 20);
    await da.discard(40n, 2);
    expect(xpt.cdbs()).toEqual([ws16(0x01, 10, 20), '41 00 00 00 00 0a 00 00 14 00', '41 00 00 00 00 28 00 00 02 00']);
    expect(hex(xpt.issued[1]?.dataOut)).toBe(hex(new Uint8Array(BS)));
    expectBlocks(xpt, 10, 30, 0);
    expectBlocks(xpt, 40, 42, 0);
    await xpt.settle();
  });

  test('a method the unit rejects as unknown is dropped for the next: UNMAP → WRITE SAME (16) UNMAP', async () => {
    const { xpt, da } = await setup();
    xpt.inject(rejects(0x42, Asc.INVALID_COMMAND_OPERATION_CODE, { byte: 0 }));
    await da.discard(5n, 3);
    expect(da.deleteMethod).toBe('ws16-unmap');
    expect(xpt.cdbs()).toEqual(['42 00 00 00 00 00 00 00 18 00', ws16(0x09, 5, 3)]);
    expectBlocks(xpt, 5, 8, 0);
    await xpt.settle();
  });

  test('refusal: no method left → CamError CAM_FUNC_NOTAVAIL, and later discards issue nothing', async () => {
    const { xpt, da } = await setup({ discard: false, writeZeroes: false });
    xpt.inject(rejects(0x93, Asc.INVALID_COMMAND_OPERATION_CODE, { byte: 0 }));
    xpt.inject(rejects(0x41, Asc.INVALID_COMMAND_OPERATION_CODE, { byte: 0 }));
    const e: unknown = await da.discard(0n, 4).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CamError);
    expect((e as CamError).camStatus).toBe(CAM_FUNC_NOTAVAIL);
    expect(da.deleteMethod).toBeUndefined();
    expect(xpt.cdbs()).toEqual([ws16(0x01, 0, 4), '41 00 00 00 00 00 00 00 04 00']);
    await expect(da.discard(0n, 4)).rejects.toThrow(/no delete method/);
    expect(xpt.issued).toHaveLength(2);
    expectBlocks(xpt, 0, 4, 0xee);
    await xpt.settle();
  });

  test('other errors are not a reason to change method', async () => {
    const { xpt, da } = await setup({}, { maxUnmapLbaCount: 8 });
    xpt.inject(rejects(0x42, Asc.INVALID_FIELD_IN_PARAMETER_LIST, { byte: 8 }));
    await expect(da.discard(0n, 4)).rejects.toThrow(/INVALID FIELD IN PARAMETER LIST/);
    expect(da.deleteMethod).toBe('unmap');
    await xpt.settle();
  });
});

describe('writeZeroes', () => {
  test('WRITE SAME (16) NDOB; UNMAP only when asked and the unit has LBPWS', async () => {
    const { xpt, da } = await setup();
    await da.writeZeroes(3n, 4);
    await da.writeZeroes(8n, 2, { unmap: true });
    expect(xpt.cdbs()).toEqual([ws16(0x01, 3, 4), ws16(0x09, 8, 2)]);
    expectBlocks(xpt, 3, 7, 0);
    expectBlocks(xpt, 8, 10, 0);
    expectBlocks(xpt, 7, 8, 0xee);
    await xpt.settle();
  });

  test('unmap is dropped on a unit without LBPWS', async () => {
    const { xpt, da } = await setup({ discard: false, writeZeroes: false });
    await da.writeZeroes(3n, 4, { unmap: true });
    expect(xpt.cdbs()).toEqual([ws16(0x01, 3, 4)]);
    await xpt.settle();
  });

  test('split at MAXIMUM WRITE SAME LENGTH', async () => {
    const { xpt, da } = await setup({}, { maxWriteSameBlocks: 8 });
    await da.writeZeroes(0n, 20);
    // The last piece first (da-pieces.ts), then the rest.
    expect(xpt.cdbs()).toEqual([ws16(0x01, 16, 4), ws16(0x01, 0, 8), ws16(0x01, 8, 8)]);
    expectBlocks(xpt, 0, 20, 0);
    await xpt.settle();
  });

  test('without WRITE SAME (16): WRITE SAME (10), or (16) when the range needs it', async () => {
    const { xpt, da } = await setup({ blocks: 1n << 33n, discard: false, writeZeroes: false });
    xpt.inject(rejects(0x93, Asc.INVALID_COMMAND_OPERATION_CODE, { byte: 0 }, 1));
    await da.writeZeroes(1n, 2);
    await da.writeZeroes(0x1_0000_0000n, 1);
    expect(xpt.cdbs()).toEqual([
      ws16(0x01, 1, 2),
      '41 00 00 00 00 01 00 00 02 00',
      '93 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00',
    ]);
    await xpt.settle();
  });
});

describe('a split delete past the capacity', () => {
  // 64 blocks, every one 0xee; pieces of 8 blocks: [52, 60) lies inside the disk, [60, 68) crosses its end.
  // da knows the capacity, or still believes 128 blocks (a shrink it has not heard of): either way the unit
  // is asked about the last piece alone first, and refuses it.
  const deletes = [
    ['writeZeroes (WRITE SAME pieces)', {}, (da: DaPeriph) => da.writeZeroes(52n, 16), [ws16(0x01, 60, 8)]],
    ['writeZeroes with UNMAP', { writeZeroes: { maxBlocks: 8, mayUnmap: true } }, (da: DaPeriph) => da.writeZeroes(52n, 16, { unmap: true }), [ws16(0x09, 60, 8)]],
    ['discard by UNMAP (one list per piece)', {}, (da: DaPeriph) => da.discard(52n, 16), ['UNMAP 00 00 00 00 00 00 00 3c 00 00 00 08']],
    ['discard by WRITE SAME with UNMAP', { discard: false, writeZeroes: { maxBlocks: 8, mayUnmap: true } }, (da: DaPeriph) => da.discard(52n, 16), [ws16(0x09, 60, 8)]],
    ['discard by zeroing', { discard: false, writeZeroes: false }, (da: DaPeriph) => da.discard(52n, 16), [ws16(0x01, 60, 8)]],
  ] as const;
  test.each(deletes.flatMap(([name, disk, del, sent]) => [64, 128].map((believed) => [name, believed, disk, del, sent] as const)))(
    '%s, da believing %i blocks: fails whole, LBA OUT OF RANGE, and changes nothing (the last piece alone goes first)',
    async (_name, believed, disk, del, sent) => {
      const unit = await FakeXpt.create({ blocks: 64n });
      const { xpt, da } = await setup({ blocks: 64n, ...disk }, { maxWriteSameBlocks: 8, maxUnmapLbaCount: 8, maxUnmapBlockDescriptors: 1 }, {
        capacity: { ...unit.info.capacity, blocks: BigInt(believed) },
      });
      const mapped = xpt.disk.mappedBlocks;
      const e: unknown = await del(da).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CamError);
      const s = (e as CamError).senseData;
      expect([s?.key, s?.asc, s?.ascq]).toEqual([0x05, 0x21, 0x00]);
      // An UNMAP by its one block descriptor: LBA, NUMBER OF LOGICAL BLOCKS.
      expect(xpt.issued.map((c) => (c.cdb[0] === 0x42 ? `UNMAP ${hex(c.dataOut?.subarray(8, 20))}` : hex(c.cdb)))).toEqual(sent);
      expectBlocks(xpt, 52, 64, 0xee);
      expect(xpt.disk.mappedBlocks).toBe(mapped);
      await xpt.settle();
    },
  );

  test('a last piece the unit takes (the capacity grew since da read it) goes first, then the rest', async () => {
    const unit = await FakeXpt.create({ blocks: 64n }, { maxWriteSameBlocks: 8 });
    // da believes 56 blocks: the piece [56, 64) crosses that end.
    const { xpt, da } = await setup({ blocks: 64n }, { maxWriteSameBlocks: 8 }, { capacity: { ...unit.info.capacity, blocks: 56n } });
    await da.writeZeroes(40n, 24);
    expect(xpt.cdbs()).toEqual([ws16(0x01, 56, 8), ws16(0x01, 40, 8), ws16(0x01, 48, 8)]);
    expectBlocks(xpt, 40, 64, 0);
    expectBlocks(xpt, 39, 40, 0xee);
    await xpt.settle();
  });
});

describe('plans', () => {
  const limits = (maxUnmapLbaCount: number, maxUnmapBlockDescriptors: number): CamDeviceInfo['blockLimits'] => ({
    maxTransferBlocks: 0,
    optimalTransferBlocks: 0,
    maxUnmapLbaCount,
    maxUnmapBlockDescriptors,
    maxWriteSameBlocks: 0,
    maxCompareAndWriteBlocks: 0,
    wsnz: false,
  });
  const U32 = 0xffff_ffff;

  test('planUnmap: no LBA limit, 2 descriptors per list, ranges past 2^32 blocks', () => {
    expect(planUnmap(0n, 2 ** 33, limits(U32, 2))).toEqual([
      [
        { lba: 0n, blocks: U32 },
        { lba: BigInt(U32), blocks: U32 },
      ],
      [{ lba: 2n * BigInt(U32), blocks: 2 }],
    ]);
  });

  test('planUnmap: the LBA count bounds a list and a descriptor; 4095 descriptors at most', () => {
    expect(planUnmap(100n, 10, limits(4, U32))).toEqual([[{ lba: 100n, blocks: 4 }], [{ lba: 104n, blocks: 4 }], [{ lba: 108n, blocks: 2 }]]);
    expect(planUnmap(0n, 4, limits(U32, U32))).toEqual([[{ lba: 0n, blocks: 4 }]]);
    expect(planUnmap(0n, 3, undefined)).toEqual([[{ lba: 0n, blocks: 3 }]]);
    expect(planUnmap(0n, 0, limits(U32, U32))).toEqual([]);
  });

  test('splitRuns', () => {
    expect(splitRuns(5n, 7, 3)).toEqual([
      { lba: 5n, blocks: 3 },
      { lba: 8n, blocks: 3 },
      { lba: 11n, blocks: 1 },
    ]);
    expect(splitRuns(5n, 0, 3)).toEqual([]);
    expect(() => splitRuns(0n, 1, 0)).toThrow(/max must be a positive integer, got 0/);
  });

  test('deleteMethods: UNMAP needs LBPME, LBPU and non-zero Block Limits counts', () => {
    const cap = { blocks: 1n, blockSize: 512, physicalBlockExp: 0, lbpme: true, lbprz: false };
    const prov = { lbpu: true, lbpws: true, lbpws10: true, lbprz: false };
    expect(deleteMethods({ capacity: cap, blockLimits: limits(U32, U32), provisioning: prov })).toEqual(['unmap', 'ws16-unmap', 'zero']);
    expect(deleteMethods({ capacity: cap, blockLimits: limits(0, U32), provisioning: prov })).toEqual(['ws16-unmap', 'zero']);
    expect(deleteMethods({ capacity: cap, blockLimits: undefined, provisioning: prov })).toEqual(['unmap', 'ws16-unmap', 'zero']);
    expect(deleteMethods({ capacity: { ...cap, lbpme: false }, blockLimits: limits(U32, U32), provisioning: prov })).toEqual(['zero']);
    expect(deleteMethods({ capacity: cap, blockLimits: undefined, provisioning: undefined })).toEqual(['zero']);
  });
});

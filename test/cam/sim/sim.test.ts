// The vtblk SIM on the real local virtio stack: every CDB family round trip
// (what reaches the backend is asserted per virtio request type), virtio
// errors as CAM status and autosense, descriptor costs direct and indirect,
// XPT_PATH_INQ, and how data lengths map onto dataIn / resid / status.
// CDBs are written as bytes from the SBC-4 / SPC-5 tables.

import { describe, expect, test } from 'vitest';
import { CamStatus, CAM_AUTOSNS_VALID } from '../../../src/cam/status.js';
import { CamPriority, XptFunc, newCcb, type PathInqCcb } from '../../../src/cam/ccb.js';
import { VIRTIO_BLK_DRIVER_FEATURES } from '../../../src/virtio/blk-driver.js';
import { VIRTIO_F_INDIRECT_DESC, featureMask } from '../../../src/virtio/blk-features.js';
import { bytes, hex, pattern, rig, senseInformation, senseOf } from './harness.js';

const DIRECT = VIRTIO_BLK_DRIVER_FEATURES & ~featureMask(VIRTIO_F_INDIRECT_DESC);
const TUR = '00 00 00 00 00 00';
const SYNC_CACHE_10 = '35 00 00 00 00 00 00 00 00 00';
const INQUIRY = '12 00 00 00 ff 00'; // ALLOCATION LENGTH 255
const read10 = (lba: number, blocks: number, byte1 = '00'): string =>
  hex(Uint8Array.of(0x28, parseInt(byte1, 16), lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, blocks >> 8, blocks & 0xff, 0));
const write10 = (lba: number, blocks: number, byte1 = '00'): string => `2a${read10(lba, blocks, byte1).slice(2)}`;

describe('CDB families, end to end', () => {
  test('WRITE(10) then READ(10), 512-byte blocks: data through guest memory, one virtio request each', async () => {
    const r = await rig();
    const data = pattern(4, 512);
    const w = await r.run(write10(16, 4), { dataOut: data });
    expect(w.status).toBe(CamStatus.REQ_CMP);
    expect(w.scsiStatus).toBe(0);
    expect(w.resid).toBe(0);
    const rd = await r.run(read10(16, 4), { dataIn: 2048 });
    expect(rd.status).toBe(CamStatus.REQ_CMP);
    expect(rd.dataIn).toEqual(data);
    expect(rd.resid).toBe(0);
    expect(r.backend.stats).toMatchObject({ write: 1, read: 1, flush: 0 });
    const direct = new Uint8Array(2048);
    await r.disk.read(16 * 512, direct);
    expect(direct).toEqual(data);
  });

  test('WRITE(16) then READ(16), 4096-byte blocks: LBA 5 is byte 20480', async () => {
    const r = await rig({ blockSize: 4096, blocks: 256 });
    const data = pattern(2, 4096, 5);
    const w = await r.run('8a 00 00 00 00 00 00 00 00 05 00 00 00 02 00 00', { dataOut: data });
    expect(w.status).toBe(CamStatus.REQ_CMP);
    const rd = await r.run('88 00 00 00 00 00 00 00 00 05 00 00 00 02 00 00', { dataIn: 8192 });
    expect(rd.dataIn).toEqual(data);
    const direct = new Uint8Array(8192);
    await r.disk.read(5 * 4096, direct);
    expect(direct).toEqual(data);
    const cap = await r.run('9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00', { dataIn: 32 });
    // RETURNED LOGICAL BLOCK ADDRESS 255, LOGICAL BLOCK LENGTH 4096.
    expect(hex(cap.dataIn?.subarray(0, 12))).toBe('00 00 00 00 00 00 00 ff 00 00 10 00');
  });

  test('WRITE(10) FUA: the write, then a FLUSH (virtio-blk has no FUA)', async () => {
    const r = await rig();
    const w = await r.run(write10(0, 1, '08'), { dataOut: pattern(1, 512) });
    expect(w.status).toBe(CamStatus.REQ_CMP);
    expect(r.backend.stats).toMatchObject({ write: 1, flush: 1 });
  });

  test('SYNCHRONIZE CACHE(10) → FLUSH', async () => {
    const r = await rig();
    expect((await r.run(SYNC_CACHE_10)).status).toBe(CamStatus.REQ_CMP);
    expect(r.backend.stats.flush).toBe(1);
  });

  test('UNMAP → DISCARD of the listed range', async () => {
    const r = await rig();
    await r.disk.write(0, new Uint8Array(64 * 512).fill(0xaa));
    // Header: UNMAP DATA LENGTH 22, BLOCK DESCRIPTOR DATA LENGTH 16; descriptor: LBA 32, 8 blocks.
    const list = bytes('00 16 00 10 00 00 00 00  00 00 00 00 00 00 00 20  00 00 00 08 00 00 00 00');
    const u = await r.run('42 00 00 00 00 00 00 00 18 00', { dataOut: list });
    expect(u.status).toBe(CamStatus.REQ_CMP);
    expect(r.backend.stats.discard).toBe(1);
    const rd = await r.run(read10(31, 10), { dataIn: 5120 });
    const blocks = Array.from({ length: 10 }, (_, i) => rd.dataIn?.[i * 512]);
    expect(blocks).toEqual([0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa]);
  });

  test('WRITE SAME(16) NDOB → WRITE_ZEROES; WRITE SAME(10) with a pattern → writes', async () => {
    const r = await rig();
    await r.disk.write(0, new Uint8Array(128 * 512).fill(0xaa));
    const z = await r.run('93 01 00 00 00 00 00 00 00 40 00 00 00 10 00 00');
    expect(z.status).toBe(CamStatus.REQ_CMP);
    expect(r.backend.stats).toMatchObject({ writeZeroes: 1, write: 0 });
    const block = pattern(1, 512, 7);
    const p = await r.run('41 00 00 00 00 10 00 00 04 00', { dataOut: block });
    expect(p.status).toBe(CamStatus.REQ_CMP);
    expect(r.backend.stats.write).toBe(1);
    const rd = await r.run(read10(0x10, 4), { dataIn: 2048 });
    for (let i = 0; i < 4; i++) expect(rd.dataIn?.subarray(i * 512, (i + 1) * 512)).toEqual(block);
    const zr = await r.run(read10(0x40, 16), { dataIn: 8192 });
    expect(zr.dataIn?.every((b) => b === 0)).toBe(true);
  });

  test('INQUIRY: unit serial number (VPD 80h) is the device GET_ID', async () => {
    const r = await rig();
    const c = await r.run('12 01 80 00 ff 00', { dataIn: 255 });
    expect(c.status).toBe(CamStatus.REQ_CMP);
    const serial = 'VT-SERIAL-0001';
    expect(hex(c.dataIn?.subarray(0, 4))).toBe(`00 80 00 ${serial.length.toString(16).padStart(2, '0')}`);
    expect(new TextDecoder().decode(c.dataIn?.subarray(4))).toBe(serial);
    expect(c.resid).toBe(255 - 4 - serial.length);
  });

  test('COMPARE AND WRITE and VERIFY (BYTCHK 01b) read through the device', async () => {
    const r = await rig();
    const old = pattern(1, 512, 1);
    const next = pattern(1, 512, 2);
    await r.disk.write(9 * 512, old);
    const caw = await r.run('89 00 00 00 00 00 00 00 00 09 00 00 00 01 00 00', { dataOut: new Uint8Array([...old, ...next]) });
    expect(caw.status).toBe(CamStatus.REQ_CMP);
    const v = await r.run('2f 02 00 00 00 09 00 00 01 00', { dataOut: next });
    expect(v.status).toBe(CamStatus.REQ_CMP);
    const miss = await r.run('2f 02 00 00 00 09 00 00 01 00', { dataOut: old });
    expect(senseOf(miss)).toEqual({ key: 0x0e, asc: 0x1d, ascq: 0x00 });
  });

  test('MODE SELECT WCE off → FLUSH, then `writeback` 0 on the device', async () => {
    const r = await rig();
    // Header (4 bytes) + Caching page 08h, length 12h, WCE 0.
    const params = bytes(`00 00 00 00 08 12 ${Array(18).fill('00').join(' ')}`);
    const c = await r.run('15 10 00 00 18 00', { dataOut: params });
    expect(c.status).toBe(CamStatus.REQ_CMP);
    expect(r.stack.device.writeback).toBe(false);
    expect(r.backend.stats.flush).toBe(1);
  });
});

describe('virtio errors as CAM status and sense', () => {
  test('IOERR on a read → MEDIUM ERROR 11h/00h, INFORMATION the LBA; on a write → 03h/0Ch/00h', async () => {
    const r = await rig();
    r.backend.failRange({ offset: 100 * 512, length: 512, ops: ['read', 'write'] });
    const rd = await r.run(read10(100, 1), { dataIn: 512 });
    expect(rd.status).toBe(CamStatus.SCSI_STATUS_ERROR | CAM_AUTOSNS_VALID);
    expect(senseOf(rd)).toEqual({ key: 0x03, asc: 0x11, ascq: 0x00 });
    expect(senseInformation(rd)).toBe(100);
    expect(rd.senseData).toMatchObject({ key: 0x03, asc: 0x11, ascq: 0x00 });
    expect(rd.dataIn).toBeUndefined();
    expect(rd.resid).toBe(512);
    const w = await r.run(write10(100, 1), { dataOut: pattern(1, 512) });
    expect(senseOf(w)).toEqual({ key: 0x03, asc: 0x0c, ascq: 0x00 });
    // The unit still works.
    expect((await r.run(read10(0, 1), { dataIn: 512 })).status).toBe(CamStatus.REQ_CMP);
  });

  test('LBA past the capacity → ILLEGAL REQUEST 21h/00h before anything reaches the device', async () => {
    const r = await rig({ blocks: 64 });
    const c = await r.run(read10(64, 1), { dataIn: 512 });
    expect(senseOf(c)).toEqual({ key: 0x05, asc: 0x21, ascq: 0x00 });
    expect(r.backend.stats.read).toBe(0);
  });
});

describe('descriptor cost', () => {
  test('direct descriptors: 2 + data segments; capacity is the ring minus two flushes', async () => {
    const r = await rig({ queueSize: 64, features: DIRECT, device: { sizeMax: 4096 } });
    const cost = (cdb: string, dataOut?: Uint8Array): number => r.sim.cost(r.ccb(cdb, dataOut === undefined ? {} : { dataOut }));
    expect(r.sim.capacity()).toBe(64 - 2 * 2);
    expect(cost(read10(0, 8))).toBe(3); // 4 KiB: one segment
    expect(cost(read10(0, 9))).toBe(4);
    expect(cost(read10(0, 128))).toBe(2 + 16); // 64 KiB: sixteen 4 KiB segments
    expect(cost(write10(0, 1, '08'))).toBe(3); // FUA: the flush after it costs 2
    expect(cost(read10(0, 0))).toBe(0);
    expect(cost('88 00 00 00 00 00 00 00 00 00 00 00 00 80 00 00')).toBe(2 + 16); // READ(16), 128 blocks
    expect(cost('8a 00 00 00 00 00 00 00 00 00 00 00 00 08 00 00')).toBe(3); // WRITE(16), 8 blocks
    expect(cost('88 00 00 00 00 00 00 00 00 00 00 01 00 08 00 00')).toBe(0); // READ(16), 65544 blocks: past the maximum
    expect(cost('28 00 00 00 00 00 00 00 08')).toBe(0); // 9 bytes: not a READ(10), refused before the ring
    expect(cost(SYNC_CACHE_10)).toBe(2);
    expect(cost('42 00 00 00 00 00 00 00 18 00')).toBe(3);
    expect(cost('93 01 00 00 00 00 00 00 00 40 00 00 00 10 00 00')).toBe(3); // NDOB: WRITE_ZEROES
    expect(cost('41 00 00 00 00 10 00 00 10 00', pattern(1, 512))).toBe(2 + 2); // pattern: 16 blocks written, 8 KiB
    expect(cost('41 00 00 00 00 10 00 00 10 00', new Uint8Array(512))).toBe(3); // zero block: WRITE_ZEROES
    expect(cost(INQUIRY)).toBe(0);
    expect(cost(TUR)).toBe(0);
    expect(cost('ff 00 00 00 00 00')).toBe(0); // unknown operation code
  });

  test('SEND DIAGNOSTIC: the self-tests that read (LBA 0, then the last LBA, one at a time) cost a one-block READ; the other forms 0', async () => {
    for (const [features, read] of [[DIRECT, 3], [undefined, 1]] as const) {
      const r = await rig({ queueSize: 64, device: { sizeMax: 4096 }, ...(features === undefined ? {} : { features }) });
      const cost = (cdb: string): number => r.sim.cost(r.ccb(cdb));
      // Byte 1: SELF-TEST CODE bits 7..5, PF bit 4, SELFTEST bit 2.
      expect(cost('1d 04 00 00 00 00')).toBe(read); // SELFTEST 1: the default self-test
      expect(cost('1d a0 00 00 00 00')).toBe(read); // 101b: foreground short self-test
      expect(cost('1d 00 00 00 00 00')).toBe(0); // SELFTEST 0, no parameter list: nothing to do
      expect(cost('1d 10 00 00 04 00')).toBe(0); // a diagnostic page: refused, nothing read
      expect(cost('1d 20 00 00 00 00')).toBe(0); // 001b: background short self-test, refused
      // What the emulator does: two 1-block reads, one after the other.
      const before = r.backend.stats.read;
      expect((await r.run('1d 04 00 00 00 00')).status).toBe(CamStatus.REQ_CMP);
      expect(r.backend.stats.read - before).toBe(2);
    }
  });

  test('indirect descriptors: every request costs 1', async () => {
    const r = await rig({ queueSize: 64, device: { sizeMax: 4096 } });
    const cost = (cdb: string): number => r.sim.cost(r.ccb(cdb));
    expect(r.sim.capacity()).toBe(64 - 2);
    expect(cost(read10(0, 128))).toBe(1);
    expect(cost(SYNC_CACHE_10)).toBe(1);
    expect(cost('93 01 00 00 00 00 00 00 00 40 00 00 00 10 00 00')).toBe(1);
    expect(cost(INQUIRY)).toBe(0);
  });

  test('the largest transfer fits the budget exactly; one block more is refused before the ring and costs 0', async () => {
    const r = await rig({ queueSize: 16, features: DIRECT, device: { sizeMax: 4096, segMax: 126 } });
    // 16 - 4 = 12 descriptors: 10 data segments of 4 KiB = 80 blocks.
    expect(r.sim.capacity()).toBe(12);
    expect(r.sim.emulator.maxTransferBlocks).toBe(80);
    expect(r.sim.cost(r.ccb(read10(0, 80)))).toBe(12);
    expect(r.sim.cost(r.ccb(read10(0, 81)))).toBe(0);
    const big = await r.run(read10(0, 80), { dataIn: 80 * 512 });
    expect(big.status).toBe(CamStatus.REQ_CMP);
    const over = await r.run(read10(0, 81), { dataIn: 81 * 512 });
    expect(senseOf(over)).toEqual({ key: 0x05, asc: 0x24, ascq: 0x00 });
    expect(r.backend.stats.read).toBe(10);
  });

  test('a reserve that leaves no room for a one-segment request is refused', async () => {
    await expect(rig({ queueSize: 8, features: DIRECT, sim: { reserve: 6 } })).rejects.toThrow(/reserve 6 leaves 2 of the 8-descriptor ring; a one-segment request needs 3/);
    await expect(rig({ sim: { reserve: -1 } })).rejects.toThrow(RangeError);
  });
});

describe('XPT_PATH_INQ and routing', () => {
  test('one target, one LUN, max I/O from seg_max × size_max (capped by the unit), openings = capacity', async () => {
    const r = await rig({ queueSize: 32, device: { sizeMax: 65536, segMax: 4 }, sim: { unit: 3 } });
    const want = { simName: 'vtblk', unit: 3, bus: 0, maxTarget: 0, maxLun: 0, maxIoBytes: 4 * 65536, openings: 30, simVendor: 'vtcam', hbaVendor: 'VirtIO', tagAble: true };
    expect(r.sim.pathInq()).toEqual(want);
    const ccb: PathInqCcb = { ...newCcb(XptFunc.GDEV_TYPE, { bus: 0, target: 0, lun: 0 }), func: XptFunc.PATH_INQ, result: undefined };
    const done = r.handle.next(ccb);
    r.sim.action(ccb);
    await done;
    expect(ccb.status).toBe(CamStatus.REQ_CMP);
    expect(ccb.result).toEqual(want);
    // The unit's own 8 MiB cap applies when the device and guest memory allow more (64 MiB, createStack's default).
    const big = await rig({ memorySize: 64 << 20, device: { sizeMax: 1 << 20 } });
    expect(big.sim.pathInq().maxIoBytes).toBe(8 << 20);
    // Guest memory bounds it below that: half of what the ring leaves of 4 MiB, in whole blocks.
    const small = await rig({ device: { sizeMax: 1 << 20 } });
    const dataBytes = small.sim.bcs.maxDataBytes;
    expect(dataBytes).toBeLessThan(2 << 20);
    expect(small.sim.pathInq().maxIoBytes).toBe(Math.floor(dataBytes / 512) * 512);
    expect(small.sim.emulator.maxTransferBlocks).toBe(Math.floor(dataBytes / 512));
  });

  test('an emulator that rejects (a bug below the SIM) still completes the CCB once: CAM_REQ_CMP_ERR', async () => {
    const r = await rig();
    r.sim.emulator.execute = () => Promise.reject(new Error('bug'));
    const c = await r.run(TUR);
    expect([c.status, r.handle.count(c)]).toEqual([CamStatus.REQ_CMP_ERR, 1]);
  });

  test('other targets and LUNs, and function codes the SIM does not serve', async () => {
    const r = await rig();
    const t1 = r.ccb(TUR);
    t1.path = { bus: 0, target: 1, lun: 0 };
    expect((await r.start(t1)).status).toBe(CamStatus.SEL_TIMEOUT);
    const l1 = r.ccb(TUR);
    l1.path = { bus: 0, target: 0, lun: 1 };
    expect((await r.start(l1)).status).toBe(CamStatus.DEV_NOT_THERE);
    const g = newCcb(XptFunc.GDEV_TYPE, { bus: 0, target: 0, lun: 0 }, undefined, CamPriority.NORMAL);
    const done = r.handle.next(g);
    r.sim.action(g);
    await done;
    expect(g.status).toBe(CamStatus.REQ_INVALID);
  });
});

describe('data lengths', () => {
  test('Data-In shorter than the buffer: resid counts the rest (INQUIRY returns 96 of 255)', async () => {
    const r = await rig();
    const c = await r.run(INQUIRY, { dataIn: 255 });
    expect(c.status).toBe(CamStatus.REQ_CMP);
    expect(c.dataIn?.length).toBe(96);
    expect(c.resid).toBe(255 - 96);
  });

  test('Data-In longer than the buffer: CAM_DATA_RUN_ERR, the bytes that fit, resid 0', async () => {
    const r = await rig();
    const inq = await r.run(INQUIRY, { dataIn: 36 });
    expect(inq.status).toBe(CamStatus.DATA_RUN_ERR);
    expect(inq.scsiStatus).toBe(0);
    expect(inq.dataIn?.length).toBe(36);
    expect(inq.resid).toBe(0);
    await r.disk.write(0, pattern(2, 512));
    const rd = await r.run(read10(0, 2), { dataIn: 512 });
    expect(rd.status).toBe(CamStatus.DATA_RUN_ERR);
    expect(rd.dataIn).toEqual(pattern(2, 512).subarray(0, 512));
    // Data-In with no Data-In buffer at all.
    const none = await r.run(INQUIRY);
    expect(none.status).toBe(CamStatus.DATA_RUN_ERR);
    expect(none.dataIn).toBeUndefined();
  });

  test('Data-Out shorter than the command needs → 05h/0Eh/03h, nothing written', async () => {
    const r = await rig();
    const c = await r.run(write10(0, 2), { dataOut: pattern(1, 512) });
    expect(senseOf(c)).toEqual({ key: 0x05, asc: 0x0e, ascq: 0x03 });
    expect(c.resid).toBe(512);
    expect(r.backend.stats.write).toBe(0);
  });

  test('Data-Out longer than the command takes: the rest is not transferred (resid)', async () => {
    const r = await rig();
    const c = await r.run(write10(0, 1), { dataOut: pattern(2, 512) });
    expect(c.status).toBe(CamStatus.REQ_CMP);
    expect(c.resid).toBe(512);
    const back = new Uint8Array(1024);
    await r.disk.read(0, back);
    expect(back.subarray(0, 512)).toEqual(pattern(2, 512).subarray(0, 512));
    expect(back.subarray(512).every((b) => b === 0)).toBe(true);
  });

  test('no data: resid 0', async () => {
    const r = await rig();
    const c = await r.run(TUR);
    expect({ status: c.status, resid: c.resid, dataIn: c.dataIn, sense: c.sense }).toEqual({ status: CamStatus.REQ_CMP, resid: 0, dataIn: undefined, sense: undefined });
  });
});

// The bus scan's probe: end to end against the SBC emulator (what it learns,
// which commands it sends), units that lack pages or fail commands, and the
// response parsers against bytes written out from the SPC-5 / SBC-4 tables.

import { describe, expect, test } from 'vitest';
import { CamPriority, CcbFlag, type ScsiIoCcb } from '../../../src/cam/ccb.js';
import { AsyncCode } from '../../../src/cam/async.js';
import { CAM_AUTOSNS_VALID, CamStatus } from '../../../src/cam/status.js';
import type { CamDeviceInfo } from '../../../src/cam/xpt/periph-api.js';
import {
  parseBlockLimits,
  parseInquiry,
  parseNaa,
  parseProvisioning,
  parseReadCapacity16,
  parseReportLuns,
  parseSerial,
} from '../../../src/cam/xpt/probe.js';
import { Asc, ScsiStatus, encodeSense, senseHardwareError, senseIllegalRequest, senseNotReady, senseUnitAttention } from '../../../src/scsi/index.js';
import { answerFromEmulator, drive, rig, settle, type Rig } from './harness.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));
const opcodes = (ccbs: readonly ScsiIoCcb[]): string[] =>
  ccbs.map((c) => {
    const op = c.cdb[0] ?? 0;
    if (op === 0x12) return (c.cdb[1] ?? 0) & 1 ? `VPD ${(c.cdb[2] ?? 0).toString(16)}` : 'INQUIRY';
    return ({ 0x00: 'TUR', 0x25: 'RC10', 0x9e: 'RC16', 0xa0: 'REPORT LUNS' } as Record<number, string>)[op] ?? op.toString(16);
  });

function checkCondition(ccb: ScsiIoCcb, sense: Parameters<typeof encodeSense>[0]): void {
  ccb.scsiStatus = ScsiStatus.CHECK_CONDITION;
  ccb.status = CamStatus.SCSI_STATUS_ERROR | CAM_AUTOSNS_VALID;
  ccb.sense = encodeSense(sense, 'fixed');
}

/** Answers from the emulator unless `hook` answered (returned true). */
function intercept(r: Rig, hook: (ccb: ScsiIoCcb) => boolean | Promise<boolean>): void {
  r.sim.answer = async (ccb) => {
    if (!(await hook(ccb))) await answerFromEmulator(r.emu, ccb);
  };
}

async function scan(r: Rig): Promise<readonly CamDeviceInfo[]> {
  return drive(r.clock, r.xpt.scan(r.sim.handle.bus));
}

describe('probe end to end (SbcEmulator)', () => {
  test('learns INQUIRY, VPD pages, serial, NAA, capacity, limits and provisioning; posts AC_FOUND_DEVICE', async () => {
    const r = await rig({ blocks: 123_456n });
    const found: unknown[] = [];
    r.xpt.onAsync(AsyncCode.FOUND_DEVICE, undefined, (_c, _p, arg) => found.push(arg));
    const devices = await scan(r);
    expect(devices).toHaveLength(1);
    const info = devices[0] as CamDeviceInfo;
    const lu = r.emu.info;
    expect(info).toMatchObject({
      path: { bus: 0, target: 0, lun: 0 },
      sim: 'fake0',
      inquiry: { deviceType: 0, vendor: 'VTCAM', product: 'VIRTIO-BLK', revision: '0001' },
      vpdPages: [0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2],
      serial: lu.serial,
      naa: lu.naa,
      capacity: { blocks: 123_456n, blockSize: 512, physicalBlockExp: 0, lbpme: true, lbprz: true },
      blockLimits: {
        wsnz: false, // the emulator takes WRITE SAME with 0 blocks (to the end of the medium)
        maxCompareAndWriteBlocks: lu.limits.maxCompareAndWriteBlocks,
        maxTransferBlocks: lu.limits.maxTransferBlocks,
        optimalTransferBlocks: lu.limits.optimalTransferBlocks,
        maxUnmapLbaCount: lu.limits.maxUnmapLbaCount,
        maxUnmapBlockDescriptors: lu.limits.maxUnmapBlockDescriptors,
        maxWriteSameBlocks: lu.limits.maxWriteSameBlocks,
      },
      provisioning: { lbpu: true, lbpws: true, lbpws10: true, lbprz: true },
    });
    expect(info.inquiry.data).toHaveLength(96);
    // The power-on UNIT ATTENTION is taken by the first TUR and retried.
    expect(opcodes(r.sim.started)).toEqual(['TUR', 'TUR', 'INQUIRY', 'VPD 0', 'VPD 80', 'VPD 83', 'RC10', 'RC16', 'VPD b0', 'VPD b2']);
    expect(r.sim.started.every((c) => c.priority === CamPriority.DEV && (c.flags & CcbFlag.DEV_QFRZDIS) !== 0)).toBe(true);
    expect(r.xpt.stats(info.path)).toMatchObject({ frozen: 0, active: 0, queued: 0 });
    await settle();
    expect(found).toEqual([info]);
    expect(r.xpt.devices()).toEqual([info]);
    expect(r.xpt.device(info.path)).toBe(info);
  });

  test('more than 2^32 blocks: READ CAPACITY (10) says FFFFFFFFh and (16) gives the capacity', async () => {
    const r = await rig({ blocks: 1n << 33n });
    intercept(r, (ccb) => {
      if (ccb.cdb[0] === 0x12 && ccb.cdb[1] === 0) {
        // An SPC-2 unit: READ CAPACITY (16) only because (10) overflowed.
        void answerFromEmulator(r.emu, ccb).then(() => {
          if (ccb.dataIn !== undefined) ccb.dataIn[2] = 0x04;
        });
      }
      return false;
    });
    const [info] = await scan(r);
    expect(info?.capacity.blocks).toBe(1n << 33n);
    expect(opcodes(r.sim.started)).toContain('RC16');
  });

  test('an SPC-2 unit whose capacity fits READ CAPACITY (10) gets no READ CAPACITY (16)', async () => {
    const r = await rig({ blocks: 1000n });
    intercept(r, async (ccb) => {
      if (ccb.cdb[0] !== 0x12 || ccb.cdb[1] !== 0) return false;
      await answerFromEmulator(r.emu, ccb);
      if (ccb.dataIn !== undefined) ccb.dataIn[2] = 0x04; // VERSION: SPC-2
      return true;
    });
    const [info] = await scan(r);
    expect(info?.capacity).toEqual({ blocks: 1000n, blockSize: 512, physicalBlockExp: 0, lbpme: false, lbprz: false });
    expect(opcodes(r.sim.started)).not.toContain('RC16');
  });

  test('a unit without B0h and B2h: no blockLimits, no provisioning, and those pages are not asked for', async () => {
    const r = await rig();
    intercept(r, (ccb) => {
      if (ccb.cdb[0] !== 0x12 || ccb.cdb[1] !== 1 || ccb.cdb[2] !== 0x00) return false;
      ccb.dataIn = hex('00 00 00 03 00 80 83');
      ccb.status = CamStatus.REQ_CMP;
      return true;
    });
    const [info] = await scan(r);
    expect(info?.vpdPages).toEqual([0x00, 0x80, 0x83]);
    expect(info?.blockLimits).toBeUndefined();
    expect(info?.provisioning).toBeUndefined();
    expect(opcodes(r.sim.started).filter((o) => o.startsWith('VPD'))).toEqual(['VPD 0', 'VPD 80', 'VPD 83']);
  });

  test('a unit that rejects EVPD: found, with no VPD data', async () => {
    const r = await rig();
    intercept(r, (ccb) => {
      if (ccb.cdb[0] !== 0x12 || ccb.cdb[1] !== 1) return false;
      checkCondition(ccb, senseIllegalRequest(Asc.INVALID_FIELD_IN_CDB, { byte: 1, bit: 0 }));
      return true;
    });
    const [info] = await scan(r);
    expect(info).toMatchObject({ vpdPages: [], serial: '', naa: undefined, blockLimits: undefined, provisioning: undefined });
    expect(info?.capacity.blocks).toBe(2048n);
  });

  test('a stopped unit (NOT READY, initializing command required): TUR waited out a bounded number of times, found with unknown capacity', async () => {
    const r = await rig({ xpt: { probe: { notReadyRetries: 3, notReadyDelayMs: 100 } } });
    r.emu.stopped = true;
    const [info] = await scan(r);
    expect(info?.capacity).toEqual({ blocks: 0n, blockSize: 0, physicalBlockExp: 0, lbpme: false, lbprz: false });
    expect(opcodes(r.sim.started).filter((o) => o === 'TUR')).toHaveLength(1 + 1 + 3); // UA, then NOT READY + 3 waits
    expect(r.clock.now()).toBeGreaterThanOrEqual(300);
  });

  test('a unit becoming ready is waited for', async () => {
    const r = await rig();
    let notReady = 3;
    intercept(r, (ccb) => {
      if (ccb.cdb[0] !== 0x25 || notReady-- <= 0) return false;
      checkCondition(ccb, senseNotReady(Asc.LOGICAL_UNIT_IS_IN_PROCESS_OF_BECOMING_READY));
      return true;
    });
    const [info] = await scan(r);
    expect(info?.capacity.blocks).toBe(2048n);
    expect(opcodes(r.sim.started).filter((o) => o === 'RC10')).toHaveLength(4);
  });

  test('UNIT ATTENTION retries are bounded; a unit that keeps raising them on TUR is still probed', async () => {
    const r = await rig({ xpt: { probe: { retries: 2 } } });
    intercept(r, (ccb) => {
      if (ccb.cdb[0] !== 0x00) return false;
      checkCondition(ccb, senseUnitAttention(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED));
      return true;
    });
    const [info] = await scan(r);
    expect(info).toBeDefined();
    expect(opcodes(r.sim.started).filter((o) => o === 'TUR')).toHaveLength(3);
  });
});

describe('probe failures', () => {
  test.each([
    ['INQUIRY fails', (ccb: ScsiIoCcb) => ccb.cdb[0] === 0x12 && ccb.cdb[1] === 0 && (checkCondition(ccb, senseHardwareError(Asc.INTERNAL_TARGET_FAILURE)), true)],
    ['PERIPHERAL QUALIFIER 011b', (ccb: ScsiIoCcb) => {
      if (ccb.cdb[0] !== 0x12 || ccb.cdb[1] !== 0) return false;
      ccb.dataIn = hex('7f 00 07 02 1f' + '00'.repeat(31));
      ccb.status = CamStatus.REQ_CMP;
      return true;
    }],
    ['selection timeout', (ccb: ScsiIoCcb) => ((ccb.status = CamStatus.SEL_TIMEOUT), true)],
    ['short INQUIRY data', (ccb: ScsiIoCcb) => {
      if (ccb.cdb[0] !== 0x12) return false;
      ccb.dataIn = hex('00 00 07');
      ccb.status = CamStatus.REQ_CMP;
      return true;
    }],
  ])('%s: no device, no event, nothing left behind', async (_name, hook) => {
    const r = await rig();
    const events: number[] = [];
    r.xpt.onAsync(0x7fff, undefined, (code) => events.push(code));
    await settle();
    events.length = 0;
    intercept(r, hook);
    expect(await scan(r)).toEqual([]);
    await settle();
    expect(events).toEqual([]);
    expect(r.xpt.stats({ bus: 0, target: 0, lun: 0 })).toBeUndefined();
  });

  test('selection timeout stops at TEST UNIT READY', async () => {
    const r = await rig();
    intercept(r, (ccb) => ((ccb.status = CamStatus.SEL_TIMEOUT), true));
    await scan(r);
    expect(opcodes(r.sim.started)).toEqual(['TUR']);
  });
});

describe('rescans and LUNs', () => {
  test('a rescan with nothing changed is silent; a changed capacity is AC_GETDEV_CHANGED; a vanished unit is AC_LOST_DEVICE', async () => {
    const r = await rig();
    await scan(r);
    const events: [number, unknown][] = [];
    r.xpt.onAsync(0x7fff, undefined, (code, _p, arg) => events.push([code, arg]));
    await scan(r);
    await settle();
    expect(events).toEqual([]);
    r.bcs.resize(4096n);
    r.emu.refreshGeometry();
    const [info] = await scan(r);
    await settle();
    expect(info?.capacity.blocks).toBe(4096n);
    expect(events.map((e) => e[0])).toEqual([AsyncCode.UNIT_ATTENTION, AsyncCode.GETDEV_CHANGED]);
    expect(events[1]?.[1]).toBe(info);
    events.length = 0;
    intercept(r, (ccb) => ((ccb.status = CamStatus.SEL_TIMEOUT), true));
    expect(await scan(r)).toEqual([]);
    await settle();
    expect(events.map((e) => e[0])).toEqual([AsyncCode.LOST_DEVICE]);
    expect(r.xpt.devices()).toEqual([]);
  });

  test('REPORT LUNS adds the LUNs it lists (up to the SIM’s maxLun) and a rescan drops those gone', async () => {
    const r = await rig({ luns: [0, 1, 3, 9] });
    r.sim.maxLun = 3;
    const devices = await scan(r);
    expect(devices.map((d) => d.path.lun)).toEqual([0, 1, 3]);
    expect(opcodes(r.sim.started)).toContain('REPORT LUNS');
    r.emu.setLuns([0, 1]);
    const lost: number[] = [];
    r.xpt.onAsync(AsyncCode.LOST_DEVICE, undefined, (_c, path) => lost.push(path.lun));
    expect((await scan(r)).map((d) => d.path.lun)).toEqual([0, 1]);
    await settle();
    expect(lost).toEqual([3]);
  });

  test('with maxLun 0 there is no REPORT LUNS', async () => {
    const r = await rig({ luns: [0, 1] });
    await scan(r);
    expect(opcodes(r.sim.started)).not.toContain('REPORT LUNS');
  });

  test('concurrent scans run one at a time', async () => {
    const r = await rig();
    const [a, b] = await Promise.all([drive(r.clock, r.xpt.scan(0)), drive(r.clock, r.xpt.scan(0))]);
    expect(a).toHaveLength(1);
    expect(b).toEqual(a);
    expect(r.sim.maxCharged).toBe(1);
  });
});

describe('parsers (bytes from the SPC-5 / SBC-4 tables)', () => {
  test('standard INQUIRY: qualifier, device type, version, trimmed strings; ADDITIONAL LENGTH bounds the data', () => {
    const data = hex('00 00 06 12 1f 00 00 02' + '41 42 43 20 20 20 20 20' + '50 52 4f 44 20 20 20 20 20 20 20 20 20 20 20 20' + '31 2e 30 00' + 'ee ee');
    const p = parseInquiry(data);
    expect(p).toEqual({ qualifier: 0, version: 6, inquiry: { deviceType: 0, vendor: 'ABC', product: 'PROD', revision: '1.0', data: data.slice(0, 36) } });
    expect(parseInquiry(hex('65 00 05 02 00'))).toMatchObject({ qualifier: 3, inquiry: { deviceType: 5, vendor: '', product: '' } });
    expect(parseInquiry(hex('00 00 05 02'))).toBeUndefined();
  });

  test('unit serial number is trimmed', () => {
    expect(parseSerial(hex('00 80 00 08 20 53 4e 31 32 20 20 00'))).toBe('SN12');
  });

  test('device identification: first logical-unit NAA designator, 8 or 16 bytes; others skipped', () => {
    const t10 = '02 01 00 08 41 42 43 44 45 46 47 48'; // ASCII, T10 vendor ID
    const portNaa = '01 13 00 08 50 00 00 00 00 00 00 01'; // NAA, ASSOCIATION target port
    const naa16 = '01 03 00 10 60 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f';
    const body = `${t10} ${portNaa} ${naa16}`;
    const page = hex(`00 83 00 ${(hex(body).length).toString(16).padStart(2, '0')} ${body}`);
    expect(parseNaa(page)).toBe(0x6001020304050607_08090a0b0c0d0e0fn);
    expect(parseNaa(hex('00 83 00 0c 01 03 00 08 53 33 44 55 66 77 88 99'))).toBe(0x5333445566778899n);
    expect(parseNaa(hex('00 83 00 06 01 03 00 08 53 33'))).toBeUndefined(); // truncated designator
    expect(parseNaa(hex(`00 83 00 0c ${t10}`))).toBeUndefined();
  });

  test('READ CAPACITY (16): last LBA + 1, block length, exponent, LBPME, LBPRZ', () => {
    const d = hex('00 00 00 01 00 00 00 00  00 00 10 00  10 03 c0 00' + '00'.repeat(16));
    expect(parseReadCapacity16(d)).toEqual({ blocks: 0x1_0000_0001n, blockSize: 4096, physicalBlockExp: 3, lbpme: true, lbprz: true });
    expect(parseReadCapacity16(hex('00 00 00 00 00 00 00 07  00 00 02 00  00 00 80 00'))).toEqual({ blocks: 8n, blockSize: 512, physicalBlockExp: 0, lbpme: true, lbprz: false });
    expect(parseReadCapacity16(hex('00 00'))).toBeUndefined();
  });

  test('block limits: every field; a short (SBC-2, PAGE LENGTH 0Ch) page reads the rest as 0', () => {
    const full = hex(
      '00 b0 00 3c  01 ff 00 08  00 01 00 00  00 00 01 00  00 00 00 00  00 40 00 00  00 00 00 10  00 00 00 00  00 00 00 00  00 00 00 00 00 00 20 00' +
        '00'.repeat(20),
    );
    expect(parseBlockLimits(full)).toEqual({
      wsnz: true,
      maxCompareAndWriteBlocks: 255,
      maxTransferBlocks: 0x10000,
      optimalTransferBlocks: 0x100,
      maxUnmapLbaCount: 0x400000,
      maxUnmapBlockDescriptors: 16,
      maxWriteSameBlocks: 0x2000,
    });
    expect(parseBlockLimits(hex('00 b0 00 0c  00 00 00 08  00 00 80 00  00 00 00 40'))).toEqual({
      wsnz: false,
      maxCompareAndWriteBlocks: 0,
      maxTransferBlocks: 0x8000,
      optimalTransferBlocks: 0x40,
      maxUnmapLbaCount: 0,
      maxUnmapBlockDescriptors: 0,
      maxWriteSameBlocks: 0,
    });
  });

  test('logical block provisioning: LBPU, LBPWS, LBPWS10, LBPRZ (3 bits)', () => {
    expect(parseProvisioning(hex('00 b2 00 04 00 e4 02 00'))).toEqual({ lbpu: true, lbpws: true, lbpws10: true, lbprz: true });
    expect(parseProvisioning(hex('00 b2 00 04 00 40 00 00'))).toEqual({ lbpu: false, lbpws: true, lbpws10: false, lbprz: false });
    expect(parseProvisioning(hex('00 b2 00 00 00'))).toBeUndefined();
  });

  test('REPORT LUNS: peripheral and flat-space LUNs, unsupported formats and duplicates skipped, LUN LIST LENGTH honoured', () => {
    const d = hex('00 00 00 20 00 00 00 00' + '00 00 00 00 00 00 00 00' + '40 05 00 00 00 00 00 00' + 'c1 00 00 00 00 00 00 00' + '00 05 00 00 00 00 00 00' + '00 07 00 00 00 00 00 00');
    expect(parseReportLuns(d)).toEqual([0, 5]);
  });
});

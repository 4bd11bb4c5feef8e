// The bus scan's probe (FreeBSD scsi_xpt.c probestart/probedone, and the
// READ CAPACITY part of da's probe): what a logical unit is, learned through
// its own device queue at CamPriority.DEV. Spec: SPC-5 (TEST UNIT READY,
// standard INQUIRY data, Supported VPD Pages, Unit Serial Number, Device
// Identification, REPORT LUNS), SBC-4 (READ CAPACITY (10)/(16) parameter
// data, Block Limits and Logical Block Provisioning VPD pages).
//
// Steps: TEST UNIT READY (clears the power-on unit attention; NOT READY is
// waited out a bounded number of times, then ignored as FreeBSD's probe does),
// standard INQUIRY (a failure, or a PERIPHERAL QUALIFIER other than 000b,
// means no logical unit), VPD 00h, then 80h, 83h, B0h and B2h when listed,
// READ CAPACITY (10), and (16) when (10) overflows or the unit claims SPC-3 or
// later. Probe CCBs carry CAM_DEV_QFRZDIS: their errors freeze nothing, so the
// probe owns no freezes.

import { CamDir, CamPriority, CcbFlag, newScsiIo, type CamPath, type Ccb, type ScsiIoCcb } from '../ccb.js';
import { CamStatus, camStatus, camStatusName } from '../status.js';
import type { CamDeviceInfo } from './periph-api.js';
import { encodeInquiry } from '../../scsi/cdb/inquiry.js';
import { encodeReadCapacity10, encodeReadCapacity16 } from '../../scsi/cdb/capacity.js';
import { encodeTestUnitReady } from '../../scsi/cdb/misc.js';
import { encodeReportLuns } from '../../scsi/cdb/report-luns.js';
import { decodeLun } from '../../scsi/report-luns.js';
import { decodeSense } from '../../scsi/sense-codec.js';
import { SenseKey, type SenseData } from '../../scsi/sense.js';
import { ScsiStatus } from '../../scsi/status.js';
import { VpdPage } from '../../scsi/vpd.js';

/** What the probe needs of the XPT. */
export interface ProbeIo {
  action(ccb: Ccb): void;
  sleep(ms: number): Promise<void>;
}

export interface ProbeOptions {
  /** Timeout of each probe CCB. */
  readonly timeoutMs: number;
  /** Retries per command for UNIT ATTENTION and transport hiccups (timeout, reset, BUSY). */
  readonly retries: number;
  /** Waits per command for a unit that is NOT READY (becoming ready), and how long each is. */
  readonly notReadyRetries: number;
  readonly notReadyDelayMs: number;
}

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = { timeoutMs: 10_000, retries: 5, notReadyRetries: 10, notReadyDelayMs: 100 };

export type ProbeResult = { readonly found: true; readonly info: CamDeviceInfo } | { readonly found: false; readonly reason: string };

export type Capacity = CamDeviceInfo['capacity'];

/** Capacity of a unit that could not report one (not ready, or not a direct-access device). */
export const UNKNOWN_CAPACITY: Capacity = { blocks: 0n, blockSize: 0, physicalBlockExp: 0, lbpme: false, lbprz: false };

const PDT_DIRECT_ACCESS = 0x00;
const VERSION_SPC_3 = 0x05;
const INQUIRY_ALLOCATION = 255;
const VPD_HEADER = 4;
const RC10_LENGTH = 8;
const RC16_LENGTH = 32;
const RC10_USE_RC16 = 0xffff_ffff;
const REPORT_LUNS_HEADER = 8;
const REPORT_LUNS_FIRST_ALLOCATION = REPORT_LUNS_HEADER + 8 * 256;
const ASC_NOT_READY = 0x04;
const ASCQ_BECOMING_READY = 0x01;
const DESIGNATOR_TYPE_NAA = 0x3;
const ASSOCIATION_LOGICAL_UNIT = 0x0;

/** CAM statuses worth another try: the command may well work the next time. */
const TRANSIENT: ReadonlySet<number> = new Set([
  CamStatus.CMD_TIMEOUT,
  CamStatus.SCSI_BUS_RESET,
  CamStatus.BDR_SENT,
  CamStatus.UNEXP_BUSFREE,
  CamStatus.REQ_TERMIO,
  CamStatus.REQ_ABORTED,
  CamStatus.RESRC_UNAVAIL,
  CamStatus.BUSY,
]);

type Verdict = 'ok' | 'retry' | 'wait' | 'fail';

/** Sense of a CHECK CONDITION completion, decoded from the bytes when the SIM gave none. */
export function ccbSense(ccb: ScsiIoCcb): SenseData | undefined {
  if (camStatus(ccb.status) !== CamStatus.SCSI_STATUS_ERROR || ccb.scsiStatus !== ScsiStatus.CHECK_CONDITION) return undefined;
  return ccb.senseData ?? (ccb.sense === undefined ? undefined : decodeSense(ccb.sense));
}

function classify(ccb: ScsiIoCcb, anyNotReady: boolean): Verdict {
  const code = camStatus(ccb.status);
  if (code === CamStatus.REQ_CMP) return 'ok';
  if (TRANSIENT.has(code)) return 'retry';
  if (code !== CamStatus.SCSI_STATUS_ERROR) return 'fail';
  if (ccb.scsiStatus === ScsiStatus.BUSY || ccb.scsiStatus === ScsiStatus.TASK_SET_FULL) return 'wait';
  const s = ccbSense(ccb);
  if (s === undefined) return 'fail';
  if (s.key === SenseKey.UNIT_ATTENTION) return 'retry';
  if (s.key === SenseKey.NOT_READY && (anyNotReady || (s.asc === ASC_NOT_READY && s.ascq === ASCQ_BECOMING_READY))) return 'wait';
  return 'fail';
}

function describe(ccb: ScsiIoCcb): string {
  const s = ccbSense(ccb);
  const sense = s === undefined ? '' : `, sense ${s.key.toString(16)}h/${s.asc.toString(16).padStart(2, '0')}h/${s.ascq.toString(16).padStart(2, '0')}h`;
  return `${camStatusName(ccb.status)}, SCSI status ${ccb.scsiStatus.toString(16).padStart(2, '0')}h${sense}`;
}

/** One probe command with its bounded retries; the last completion is returned either way. */
export class ProbeCommands {
  readonly #io: ProbeIo;
  readonly #path: CamPath;
  readonly #opts: ProbeOptions;

  constructor(io: ProbeIo, path: CamPath, opts: ProbeOptions) {
    this.#io = io;
    this.#path = path;
    this.#opts = opts;
  }

  /** Sends `cdb` (Data-In of `length` bytes) until it succeeds or the retries run out; `anyNotReady` waits out every NOT READY. */
  async run(cdb: Uint8Array, length: number, anyNotReady = false): Promise<{ ok: boolean; ccb: ScsiIoCcb }> {
    let retries = this.#opts.retries;
    let waits = this.#opts.notReadyRetries;
    for (;;) {
      const ccb = await this.#issue(cdb, length);
      const v = classify(ccb, anyNotReady);
      if (v === 'ok') return { ok: true, ccb };
      if (v === 'retry' && retries-- > 0) continue;
      if (v === 'wait' && waits-- > 0) {
        await this.#io.sleep(this.#opts.notReadyDelayMs);
        continue;
      }
      return { ok: false, ccb };
    }
  }

  /** Data-In of a successful command, or undefined. */
  async data(cdb: Uint8Array, length: number): Promise<Uint8Array | undefined> {
    const r = await this.run(cdb, length);
    return r.ok ? (r.ccb.dataIn ?? new Uint8Array(0)) : undefined;
  }

  /** A VPD page, re-read in full when the first read was truncated; undefined when it fails or is another page. */
  async vpd(page: number): Promise<Uint8Array | undefined> {
    let data = await this.data(encodeInquiry({ evpd: true, pageCode: page, allocationLength: INQUIRY_ALLOCATION }), INQUIRY_ALLOCATION);
    if (data === undefined || data.length < VPD_HEADER) return undefined;
    const full = VPD_HEADER + view(data).getUint16(2); // PAGE LENGTH
    if (full > data.length && data.length >= INQUIRY_ALLOCATION) {
      data = await this.data(encodeInquiry({ evpd: true, pageCode: page, allocationLength: full }), full);
      if (data === undefined || data.length < VPD_HEADER) return undefined;
    }
    return data[1] === page ? data.subarray(0, Math.min(data.length, VPD_HEADER + view(data).getUint16(2))) : undefined;
  }

  #issue(cdb: Uint8Array, length: number): Promise<ScsiIoCcb> {
    return new Promise((resolve) => {
      const ccb = newScsiIo({
        path: this.#path,
        cdb,
        dir: length > 0 ? CamDir.IN : CamDir.NONE,
        dataInLength: length,
        priority: CamPriority.DEV,
        timeoutMs: this.#opts.timeoutMs,
        flags: CcbFlag.DEV_QFRZDIS,
        done: (c) => {
          resolve(c as ScsiIoCcb);
        },
      });
      this.#io.action(ccb);
    });
  }
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** ASCII bytes as a string with surrounding spaces and NULs removed. */
function ascii(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s.replace(/^[\s\0]+|[\s\0]+$/g, '');
}

/** Standard INQUIRY data (SPC-5): PERIPHERAL QUALIFIER/DEVICE TYPE, VERSION and the identification fields. */
export function parseInquiry(data: Uint8Array): { qualifier: number; inquiry: CamDeviceInfo['inquiry']; version: number } | undefined {
  if (data.length < 5) return undefined;
  const v = view(data);
  const b0 = v.getUint8(0);
  const length = Math.min(data.length, v.getUint8(4) + 5); // ADDITIONAL LENGTH (n - 4)
  const bytes = data.slice(0, length);
  const field = (from: number, to: number): string => ascii(bytes.subarray(Math.min(from, length), Math.min(to, length)));
  return {
    qualifier: b0 >> 5,
    version: v.getUint8(2),
    inquiry: { deviceType: b0 & 0x1f, vendor: field(8, 16), product: field(16, 32), revision: field(32, 36), data: bytes },
  };
}

/** Supported VPD Pages (00h): the SUPPORTED VPD PAGE LIST. */
export function parseVpdList(page: Uint8Array): number[] {
  return [...page.subarray(VPD_HEADER)];
}

/** Unit Serial Number (80h): PRODUCT SERIAL NUMBER, trimmed. */
export function parseSerial(page: Uint8Array): string {
  return ascii(page.subarray(VPD_HEADER));
}

/** Device Identification (83h): the first NAA designator (8 or 16 bytes) associated with the logical unit. */
export function parseNaa(page: Uint8Array): bigint | undefined {
  const v = view(page);
  for (let o = VPD_HEADER; o + 4 <= page.length; ) {
    const type = v.getUint8(o + 1) & 0x0f; // DESIGNATOR TYPE
    const association = (v.getUint8(o + 1) >> 4) & 0x03; // ASSOCIATION
    const length = v.getUint8(o + 3); // DESIGNATOR LENGTH
    if (o + 4 + length > page.length) return undefined;
    if (type === DESIGNATOR_TYPE_NAA && association === ASSOCIATION_LOGICAL_UNIT && (length === 8 || length === 16)) {
      let naa = 0n;
      for (const b of page.subarray(o + 4, o + 4 + length)) naa = (naa << 8n) | BigInt(b);
      return naa;
    }
    o += 4 + length;
  }
  return undefined;
}

/** READ CAPACITY (10) parameter data: RETURNED LOGICAL BLOCK ADDRESS and BLOCK LENGTH IN BYTES. */
export function parseReadCapacity10(data: Uint8Array): { lastLba: number; blockSize: number } | undefined {
  if (data.length < RC10_LENGTH) return undefined;
  const v = view(data);
  return { lastLba: v.getUint32(0), blockSize: v.getUint32(4) };
}

/** READ CAPACITY (16) parameter data (first 16 bytes). */
export function parseReadCapacity16(data: Uint8Array): Capacity | undefined {
  if (data.length < 16) return undefined;
  const v = view(data);
  const b14 = v.getUint8(14);
  return {
    blocks: v.getBigUint64(0) + 1n, // RETURNED LOGICAL BLOCK ADDRESS is the last LBA
    blockSize: v.getUint32(8), // LOGICAL BLOCK LENGTH IN BYTES
    physicalBlockExp: v.getUint8(13) & 0x0f, // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT
    lbpme: (b14 & 0x80) !== 0, // byte 14 bit 7
    lbprz: (b14 & 0x40) !== 0, // byte 14 bit 6
  };
}

/** Block Limits (B0h). Fields past a short PAGE LENGTH (older units) read as 0. */
export function parseBlockLimits(page: Uint8Array): NonNullable<CamDeviceInfo['blockLimits']> {
  const v = view(page);
  const u8 = (o: number): number => (o < page.length ? v.getUint8(o) : 0);
  const u32 = (o: number): number => (o + 4 <= page.length ? v.getUint32(o) : 0);
  const u64 = (o: number): number => (o + 8 <= page.length ? Number(v.getBigUint64(o)) : 0);
  return {
    wsnz: (u8(4) & 0x01) !== 0, // WSNZ, byte 4 bit 0
    maxCompareAndWriteBlocks: u8(5), // MAXIMUM COMPARE AND WRITE LENGTH
    maxTransferBlocks: u32(8), // MAXIMUM TRANSFER LENGTH
    optimalTransferBlocks: u32(12), // OPTIMAL TRANSFER LENGTH
    maxUnmapLbaCount: u32(20), // MAXIMUM UNMAP LBA COUNT
    maxUnmapBlockDescriptors: u32(24), // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
    maxWriteSameBlocks: u64(36), // MAXIMUM WRITE SAME LENGTH
  };
}

/** Logical Block Provisioning (B2h): LBPU, LBPWS, LBPWS10 and LBPRZ (byte 5). */
export function parseProvisioning(page: Uint8Array): CamDeviceInfo['provisioning'] {
  if (page.length < 6) return undefined;
  const b5 = view(page).getUint8(5);
  return { lbpu: (b5 & 0x80) !== 0, lbpws: (b5 & 0x40) !== 0, lbpws10: (b5 & 0x20) !== 0, lbprz: (b5 & 0x1c) !== 0 };
}

/** REPORT LUNS parameter data: the LUNs vtcam can address (others are skipped). */
export function parseReportLuns(data: Uint8Array): number[] {
  if (data.length < REPORT_LUNS_HEADER) return [];
  const end = Math.min(data.length, REPORT_LUNS_HEADER + view(data).getUint32(0)); // LUN LIST LENGTH
  const luns: number[] = [];
  for (let o = REPORT_LUNS_HEADER; o + 8 <= end; o += 8) {
    const d = decodeLun(data.subarray(o, o + 8));
    if (d.ok && !luns.includes(d.value)) luns.push(d.value);
  }
  return luns;
}

/**
 * READ CAPACITY (10), then (16) when (10) says the capacity does not fit, or
 * fails, or the unit claims SPC-3 or later (READ CAPACITY (16) also carries
 * the physical block exponent and LBPME/LBPRZ). Undefined when neither works.
 */
export async function readCapacity(cmds: ProbeCommands, version: number): Promise<Capacity | undefined> {
  const rc10Data = await cmds.data(encodeReadCapacity10(), RC10_LENGTH);
  const rc10 = rc10Data === undefined ? undefined : parseReadCapacity10(rc10Data);
  if (rc10 === undefined || rc10.lastLba === RC10_USE_RC16 || version >= VERSION_SPC_3) {
    const rc16Data = await cmds.data(encodeReadCapacity16({ allocationLength: RC16_LENGTH }), RC16_LENGTH);
    const rc16 = rc16Data === undefined ? undefined : parseReadCapacity16(rc16Data);
    if (rc16 !== undefined) return rc16;
  }
  if (rc10 === undefined || rc10.lastLba === RC10_USE_RC16) return undefined;
  return { blocks: BigInt(rc10.lastLba) + 1n, blockSize: rc10.blockSize, physicalBlockExp: 0, lbpme: false, lbprz: false };
}

/** Probes one logical unit. */
export async function probeLun(io: ProbeIo, path: CamPath, sim: string, opts: ProbeOptions): Promise<ProbeResult> {
  const cmds = new ProbeCommands(io, path, opts);
  const tur = await cmds.run(encodeTestUnitReady(), 0, true);
  // A unit that answers with any SCSI status exists; no answer at all means nothing is there.
  if (!tur.ok && camStatus(tur.ccb.status) !== CamStatus.SCSI_STATUS_ERROR) {
    return { found: false, reason: `TEST UNIT READY: ${describe(tur.ccb)}` };
  }
  const inq = await cmds.run(encodeInquiry({ allocationLength: INQUIRY_ALLOCATION }), INQUIRY_ALLOCATION);
  if (!inq.ok) return { found: false, reason: `INQUIRY: ${describe(inq.ccb)}` };
  const parsed = parseInquiry(inq.ccb.dataIn ?? new Uint8Array(0));
  if (parsed === undefined) return { found: false, reason: 'INQUIRY: short data' };
  if (parsed.qualifier !== 0) return { found: false, reason: `INQUIRY: PERIPHERAL QUALIFIER ${parsed.qualifier.toString(2).padStart(3, '0')}b, no logical unit` };

  const list = await cmds.vpd(VpdPage.SUPPORTED_VPD_PAGES);
  const vpdPages = list === undefined ? [] : parseVpdList(list);
  const has = (p: number): boolean => vpdPages.includes(p);
  const serialPage = has(VpdPage.UNIT_SERIAL_NUMBER) ? await cmds.vpd(VpdPage.UNIT_SERIAL_NUMBER) : undefined;
  const idPage = has(VpdPage.DEVICE_IDENTIFICATION) ? await cmds.vpd(VpdPage.DEVICE_IDENTIFICATION) : undefined;

  const direct = parsed.inquiry.deviceType === PDT_DIRECT_ACCESS;
  const capacity = direct ? ((await readCapacity(cmds, parsed.version)) ?? UNKNOWN_CAPACITY) : UNKNOWN_CAPACITY;
  const limitsPage = direct && has(VpdPage.BLOCK_LIMITS) ? await cmds.vpd(VpdPage.BLOCK_LIMITS) : undefined;
  const provPage = direct && has(VpdPage.LOGICAL_BLOCK_PROVISIONING) ? await cmds.vpd(VpdPage.LOGICAL_BLOCK_PROVISIONING) : undefined;
  return {
    found: true,
    info: {
      path,
      sim,
      inquiry: parsed.inquiry,
      vpdPages,
      serial: serialPage === undefined ? '' : parseSerial(serialPage),
      naa: idPage === undefined ? undefined : parseNaa(idPage),
      capacity,
      blockLimits: limitsPage === undefined ? undefined : parseBlockLimits(limitsPage),
      provisioning: provPage === undefined ? undefined : parseProvisioning(provPage),
    },
  };
}

/** REPORT LUNS (SELECT REPORT 00h), re-read in full when truncated; undefined when the unit does not support it. */
export async function reportLuns(io: ProbeIo, path: CamPath, opts: ProbeOptions): Promise<number[] | undefined> {
  const cmds = new ProbeCommands(io, path, opts);
  let data = await cmds.data(encodeReportLuns({ allocationLength: REPORT_LUNS_FIRST_ALLOCATION }), REPORT_LUNS_FIRST_ALLOCATION);
  if (data === undefined || data.length < REPORT_LUNS_HEADER) return undefined;
  const full = REPORT_LUNS_HEADER + view(data).getUint32(0);
  if (full > data.length && data.length >= REPORT_LUNS_FIRST_ALLOCATION) {
    data = await cmds.data(encodeReportLuns({ allocationLength: full }), full);
    if (data === undefined) return undefined;
  }
  return parseReportLuns(data);
}

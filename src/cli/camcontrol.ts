// The camcontrol-style commands: build a stack over an image or a memory disk,
// run one command through `pass` (what a device says, unretouched), print it
// in words or as JSON, close the stack. Exit status 0 when the device answered
// GOOD, 1 when the command failed (with the decoded sense), 2 for bad usage
// (handled by the caller). A failure says why on stderr and, with --json, as one
// object on stdout whose `error` is that message, so a script can parse stdout
// whatever the exit status 1 came from.

import { FileBackend } from '../virtio/device/backends/file.js';
import { MemoryBackend } from '../virtio/device/backends/memory.js';
import type { BlockBackend } from '../virtio/device/backend.js';
import { createStack, type Stack, type StackDevice } from '../stack.js';
import { camStatus, camStatusName, CamStatus } from '../cam/status.js';
import { describeSense } from '../scsi/sense-text.js';
import { decodeRw, RW_OPCODES } from '../scsi/cdb/rw.js';
import { dataInLimit } from '../scsi/cdb/registry.js';
import { MODE_PAGE_LAYOUTS, type ModeField } from '../scsi/mode-pages.js';
import type { ScsiResult } from '../cam/periph/request.js';
import type { CamArgs, StackArgs } from './cam-args.js';
import type { CliIo } from './io.js';
import { formatBytes } from './demo.js';
import { imageFailure } from './image-error.js';
import { imageSerial } from './unit-serial.js';

const SCSI_STATUS_NAMES: Readonly<Record<number, string>> = {
  0x00: 'GOOD', 0x02: 'CHECK CONDITION', 0x04: 'CONDITION MET', 0x08: 'BUSY', 0x18: 'RESERVATION CONFLICT', 0x28: 'TASK SET FULL', 0x30: 'ACA ACTIVE', 0x40: 'TASK ABORTED',
};

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Array.from(x, hex2).join('') : x), 2);

/** A hex dump, 16 bytes a line: offset, bytes, printable ASCII. */
export function hexDump(b: Uint8Array): string[] {
  const lines: string[] = [];
  for (let o = 0; o < b.length; o += 16) {
    const row = b.subarray(o, o + 16);
    const bytes = Array.from(row, hex2).join(' ').padEnd(47);
    const ascii = Array.from(row, (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
    lines.push(`${o.toString(16).padStart(4, '0')}  ${bytes}  ${ascii}`);
  }
  return lines;
}

/**
 * The disk and its serial (--serial, else an image file's own; undefined for a memory disk: the device's
 * random one), or why the image cannot be one: the message and, for --json, the FileBackendError code.
 */
async function openBackend(
  s: StackArgs,
): Promise<{ readonly ok: true; readonly backend: BlockBackend; readonly serial: string | undefined } | { readonly ok: false; readonly message: string; readonly code: string }> {
  if (s.image === undefined) return { ok: true, backend: new MemoryBackend({ blocks: s.memory / s.blockSize, blockSize: s.blockSize, readOnly: s.readOnly }), serial: s.serial };
  const b = await FileBackend.open(s.image, { readOnly: s.readOnly, blockSize: s.blockSize, lock: true });
  // share() gives the device and inode numbers fstat(2) found on this handle: the file opened, whatever its path.
  if (b instanceof FileBackend) return { ok: true, backend: b, serial: s.serial ?? imageSerial(b.share()) };
  return { ok: false, code: b.code, message: await imageFailure(b, { creates: false, readOnly: s.readOnly }) };
}

/** One `camcontrol devlist` line: inquiry strings, path, periph names, capacity. */
export function devlistLine(d: StackDevice): string {
  const name = `<${d.vendor} ${d.product} ${d.revision}>`;
  return `${name.padEnd(34)} at scbus${d.path.bus} target ${d.path.target} lun ${d.path.lun} (${d.pass},${d.da})  ${d.blocks.toString()} × ${d.blockSize} B (${formatBytes(Number(d.blocks) * d.blockSize)})`;
}

/** Words for a failed command: CAM status, SCSI status and sense. */
function failure(r: ScsiResult): string {
  const parts = [camStatusName(r.camStatus)];
  if (camStatus(r.camStatus) === CamStatus.SCSI_STATUS_ERROR) parts.push(SCSI_STATUS_NAMES[r.scsiStatus] ?? `SCSI status 0x${hex2(r.scsiStatus)}`);
  if (r.senseData !== undefined) parts.push(describeSense(r.senseData));
  return parts.join(', ');
}

const ok = (r: ScsiResult): boolean => camStatus(r.camStatus) === CamStatus.REQ_CMP;

/** A subcommand failed: `message` on stderr, and with --json `{ error: message, ...details }` on stdout; exit 1. */
function failWith(io: CliIo, asJson: boolean, message: string, details: Record<string, unknown> = {}): number {
  if (asJson) io.out(json({ error: message, ...details }));
  io.error(message);
  return 1;
}

/** A command the device failed: as failWith, the details being the result object `cmd --json` prints. */
function failed(io: CliIo, asJson: boolean, message: string, r: ScsiResult): number {
  return failWith(io, asJson, message, resultJson(r));
}

/** A command's result as `--json` shows it. */
function resultJson(r: ScsiResult): Record<string, unknown> {
  return { camStatus: camStatusName(r.camStatus), scsiStatus: r.scsiStatus, sense: r.sense, senseText: r.senseData === undefined ? undefined : describeSense(r.senseData), data: r.data, resid: r.resid };
}

/** What a READ or WRITE CDB moves: TRANSFER LENGTH × block size (a READ (6) or WRITE (6) of 0 blocks moves 256, SBC-4). */
function rwTransfer(cdb: Uint8Array, blockSize: number): { readonly op: 'READ' | 'WRITE'; readonly bytes: number } | undefined {
  const rw = RW_OPCODES.includes(cdb[0] ?? -1) ? decodeRw(cdb) : undefined;
  if (rw?.ok !== true || (rw.value.op !== 'READ' && rw.value.op !== 'WRITE')) return undefined;
  return { op: rw.value.op, bytes: (rw.value.blocks === 0 && cdb.length === 6 ? 256 : rw.value.blocks) * blockSize };
}

/**
 * What to change when `cmd` gave the device less data or room than the command moves: the command's own
 * length where the CDB says it — TRANSFER LENGTH × block size for READ and WRITE, the ALLOCATION LENGTH (or
 * fixed length) of the command table for other Data-In commands. Too little Data-In room ends as
 * CAM_DATA_RUN_ERR; too little Data-Out the device refuses itself (the SBC emulator with INVALID FIELD IN
 * COMMAND INFORMATION UNIT), so a WRITE's -o is held against its TRANSFER LENGTH whatever the answer said.
 */
function transferHint(cdb: Uint8Array, out: Uint8Array | undefined, r: ScsiResult, blockSize: number): string | undefined {
  const rw = rwTransfer(cdb, blockSize);
  if (rw?.op === 'WRITE' && (out?.length ?? 0) < rw.bytes) return `this WRITE moves ${rw.bytes} bytes out: give ${rw.bytes} bytes with -o`;
  if (camStatus(r.camStatus) !== CamStatus.DATA_RUN_ERR) return undefined;
  if (rw?.op === 'READ') return `this READ moves ${rw.bytes} bytes in: give -i ${rw.bytes}`;
  const limit = dataInLimit(cdb);
  if (limit === undefined) return "give -i or -o with the command's full data length";
  return `${limit.name.replaceAll('_', ' ')} returns up to ${limit.bytes} bytes: give -i ${limit.bytes}`;
}

function readField(page: Uint8Array, f: ModeField): number | bigint {
  const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
  if (f.bits <= f.msb + 1) return (v.getUint8(f.byte) >> (f.msb + 1 - f.bits)) & ((1 << f.bits) - 1);
  let x = 0n;
  for (let k = 0; k < f.bits / 8; k++) x = (x << 8n) | BigInt(v.getUint8(f.byte + k));
  return x;
}

/** Runs one camcontrol-style command; resolves with the exit status. */
export async function runCamCommand(args: CamArgs, io: CliIo): Promise<number> {
  const opened = await openBackend(args.stack);
  if (!opened.ok) return failWith(io, args.stack.json, opened.message, { code: opened.code });
  const { backend, serial } = opened;
  let stack: Stack;
  try {
    stack = await createStack({
      backend,
      queueSize: args.stack.queueSize,
      device: { blockSize: args.stack.blockSize, ...(serial === undefined ? {} : { serial }) },
    });
  } catch (e) {
    await backend.close();
    return failWith(io, args.stack.json, `cannot bring the device up: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return await run(stack, args, io);
  } finally {
    await stack.close();
  }
}

async function run(stack: Stack, args: CamArgs, io: CliIo): Promise<number> {
  const asJson = args.stack.json;
  const pass = stack.pass(0);
  const [dev] = stack.devices();
  if (dev === undefined) throw new Error('no device');
  switch (args.command) {
    case 'devlist': {
      if (asJson) {
        io.out(json(stack.devices().map((d) => ({ path: d.path, da: d.da, pass: d.pass, sim: d.sim, vendor: d.vendor, product: d.product, revision: d.revision, serial: d.serial, blocks: d.blocks, blockSize: d.blockSize }))));
        return 0;
      }
      for (const d of stack.devices()) io.out(devlistLine(d));
      return 0;
    }
    case 'inquiry': {
      const i = dev.info;
      if (asJson) {
        io.out(json({ pass: dev.pass, deviceType: i.inquiry.deviceType, vendor: i.inquiry.vendor, product: i.inquiry.product, revision: i.inquiry.revision, serial: i.serial, naa: i.naa?.toString(16).padStart(16, '0'), vpdPages: i.vpdPages, inquiry: i.inquiry.data }));
        return 0;
      }
      const version = i.inquiry.data[2] ?? 0;
      io.out(`${dev.pass}: <${i.inquiry.vendor} ${i.inquiry.product} ${i.inquiry.revision}> Fixed Direct Access SPC-${version >= 3 ? version - 2 : version} SCSI device`);
      io.out(`${dev.pass}: Serial Number ${i.serial}`);
      if (i.naa !== undefined) io.out(`${dev.pass}: NAA ${i.naa.toString(16).padStart(16, '0')}`);
      io.out(`${dev.pass}: VPD pages ${i.vpdPages.map((p) => `${hex2(p)}h`).join(' ')}`);
      return 0;
    }
    case 'readcap': {
      const r = await pass.scsi({ cdb: Uint8Array.of(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0), direction: 'in', length: 32 });
      if (!ok(r) || r.data === undefined || r.data.length < 32) {
        return failed(io, asJson, `READ CAPACITY (16) failed: ${failure(r)}`, r);
      }
      const v = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
      const last = v.getBigUint64(0);
      const blockSize = v.getUint32(8);
      const exp = v.getUint8(13) & 0x0f;
      const lbpme = (v.getUint8(14) & 0x80) !== 0;
      const lbprz = (v.getUint8(14) & 0x40) !== 0;
      if (asJson) {
        io.out(json({ lastBlock: last, blockSize, blocks: last + 1n, physicalBlockExp: exp, lbpme, lbprz }));
        return 0;
      }
      io.out(`Last Block: ${last.toString()}, Block Length: ${blockSize} bytes, Device Size: ${formatBytes(Number(last + 1n) * blockSize)}`);
      io.out(`Logical blocks per physical block: ${1 << exp}, LBPME ${lbpme ? 1 : 0}, LBPRZ ${lbprz ? 1 : 0}`);
      return 0;
    }
    case 'tur': {
      const r = await pass.scsi({ cdb: new Uint8Array(6), direction: 'none' });
      if (!ok(r)) return failWith(io, asJson, `Unit is not ready: ${failure(r)}`, { ready: false, camStatus: camStatusName(r.camStatus), scsiStatus: r.scsiStatus, sense: r.senseData === undefined ? undefined : describeSense(r.senseData) });
      if (asJson) io.out(json({ ready: true, camStatus: camStatusName(r.camStatus), scsiStatus: r.scsiStatus }));
      else io.out('Unit is ready');
      return 0;
    }
    case 'modepage': {
      // MODE SENSE (10), DBD 1: PC (7..6) | PAGE CODE (5..0), ALLOCATION LENGTH 65535.
      const r = await pass.scsi({ cdb: Uint8Array.of(0x5a, 0x08, (args.pc << 6) | args.page, 0, 0, 0, 0, 0xff, 0xff, 0), direction: 'in', length: 0xffff });
      if (!ok(r) || r.data === undefined) {
        return failed(io, asJson, `MODE SENSE (10) of page ${hex2(args.page)}h failed: ${failure(r)}`, r);
      }
      const d = r.data;
      const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
      const pages: { code: number; name: string; fields: Record<string, string> }[] = [];
      for (let o = 8 + v.getUint16(6); o + 2 <= d.length; ) {
        const code = v.getUint8(o) & 0x3f;
        const len = v.getUint8(o + 1);
        const page = d.subarray(o, o + 2 + len);
        const layout = MODE_PAGE_LAYOUTS.find((l) => l.code === code);
        const fields: Record<string, string> = {};
        for (const f of layout?.fields ?? []) if (!f.name.startsWith('Reserved') && !f.name.startsWith('Obsolete')) fields[f.name] = readField(page, f).toString();
        pages.push({ code, name: layout?.name ?? 'unknown', fields });
        o += 2 + len;
      }
      if (asJson) {
        io.out(json({ writeProtected: (v.getUint8(3) & 0x80) !== 0, pages }));
        return 0;
      }
      for (const p of pages) {
        io.out(`${p.name} page (${hex2(p.code)}h):`);
        for (const [k, x] of Object.entries(p.fields)) io.out(`  ${k.padEnd(40)} ${x}`);
      }
      return 0;
    }
    case 'cmd': {
      const r =
        args.out !== undefined
          ? await pass.scsi({ cdb: args.cdb, direction: 'out', data: args.out, timeoutMs: args.timeoutMs })
          : args.inLength > 0
            ? await pass.scsi({ cdb: args.cdb, direction: 'in', length: args.inLength, timeoutMs: args.timeoutMs })
            : await pass.scsi({ cdb: args.cdb, direction: 'none', timeoutMs: args.timeoutMs });
      if (!ok(r)) {
        const hint = transferHint(args.cdb, args.out, r, dev.blockSize);
        return failed(io, asJson, `command failed: ${failure(r)}${hint === undefined ? '' : `; ${hint}`}`, r);
      }
      if (asJson) {
        io.out(json(resultJson(r)));
        return 0;
      }
      io.out(`${SCSI_STATUS_NAMES[r.scsiStatus] ?? hex2(r.scsiStatus)}, ${r.data?.length ?? 0} bytes in, residual ${r.resid}`);
      for (const line of hexDump(r.data ?? new Uint8Array(0))) io.out(line);
      return 0;
    }
    case 'stats': {
      const s = stack.stats(0);
      if (asJson) {
        io.out(json(s));
        return 0;
      }
      io.out(`${dev.da}: openings ${s.openings}, active ${s.active}, queued ${s.queued}, held ${s.held}, frozen ${s.frozen} (SIM ${s.simFrozen})`);
      io.out(`  descriptors charged ${s.charged} of ${s.capacity} (most ever ${s.maxCharged}), most active ${s.maxActive}, tag limit ${s.tagLimit}`);
      io.out(`  completed ${s.completed}; latency µs: ${s.latencyUs.map((n, i) => (n === 0 ? '' : `<${2 ** i}:${n}`)).filter((x) => x !== '').join(' ')}`);
      return 0;
    }
  }
}

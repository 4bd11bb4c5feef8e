// Command-line parsing for the camcontrol-style commands (`vtcam devlist`,
// `inquiry`, `readcap`, `tur`, `modepage`, `cmd`, `stats`), which run on an
// in-process stack over an image file or a memory disk. Bad input is a value
// with a message; the caller prints it and exits with status 2.

import { parseArgs } from 'node:util';
import { parseHexBytes, parseSize } from './args.js';
import { MIN_QUEUE_SIZE, queueSizeProblem, repeatedFlag, sizeProblem } from './size.js';
import { serialProblem } from './unit-serial.js';

export const CAM_COMMANDS = ['devlist', 'inquiry', 'readcap', 'tur', 'modepage', 'cmd', 'stats'] as const;
export type CamCommand = (typeof CAM_COMMANDS)[number];

export function isCamCommand(s: string): s is CamCommand {
  return (CAM_COMMANDS as readonly string[]).includes(s);
}

/** Where the disk comes from and how the stack is built. */
export interface StackArgs {
  /** An image file (file backend), or undefined for a memory disk. */
  readonly image: string | undefined;
  /** Memory disk size in bytes (default 64 MiB). */
  readonly memory: number;
  readonly blockSize: 512 | 4096;
  readonly queueSize: number;
  readonly readOnly: boolean;
  /** The device's GET_ID serial, the unit's serial number; undefined: the image file's own, or a random one for a memory disk. */
  readonly serial: string | undefined;
  readonly json: boolean;
}

export type CamArgs =
  | { readonly command: 'devlist' | 'inquiry' | 'readcap' | 'tur' | 'stats'; readonly stack: StackArgs }
  | { readonly command: 'modepage'; readonly stack: StackArgs; readonly page: number; readonly pc: number }
  | {
      readonly command: 'cmd';
      readonly stack: StackArgs;
      readonly cdb: Uint8Array;
      /** Data-In bytes to accept (-i LEN). */
      readonly inLength: number;
      /** Data-Out bytes to send (-o HEX). */
      readonly out: Uint8Array | undefined;
      readonly timeoutMs: number;
    };

export type ParsedCamArgs = { readonly ok: true; readonly args: CamArgs } | { readonly ok: false; readonly message: string };

export const CAM_USAGE = `camcontrol-style commands, on a stack over --image PATH or --memory SIZE:
  vtcam devlist                     the devices the bus scan found
  vtcam inquiry                     standard INQUIRY, serial number and device id
  vtcam readcap                     READ CAPACITY (16)
  vtcam tur                         TEST UNIT READY
  vtcam modepage -m PAGE [-P PC]    MODE SENSE (10) of PAGE (hex or decimal), PC 0..3
  vtcam cmd -c "CDB" [-i LEN | -o HEX] [-t SEC]
                                    a raw CDB: Data-In of LEN bytes shown as a hex dump,
                                    or Data-Out bytes; sense decoded in words
  vtcam stats                       device queue statistics after the scan
Stack options:
  --image PATH          a disk image (file backend); must exist
  --memory SIZE         a memory disk of SIZE (default 64M) when no --image
  --block-size 512|4096 logical block size (default 512)
  --queue-size N        virtqueue size, power of two 4..32768 (default 128)
  --read-only           export the disk read-only
  --serial TEXT         the unit serial number (VPD 80h; the NAA in 83h is derived from it):
                        printable ASCII, 1..20 characters (default: the image file's own, from its
                        device and inode numbers; a memory disk's is random)
  --json                machine-readable output; a failure is {"error": MESSAGE, ...}
`;

const DEFAULT_MEMORY = 64 * 2 ** 20;
const MAX_DATA_OUT = 1 << 20;

function fail(message: string): ParsedCamArgs {
  return { ok: false, message };
}

function parseByte(name: string, text: string, max: number): number | string {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : /^[0-9a-f]+h$/i.test(text) ? parseInt(text.slice(0, -1), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= max ? n : `${name} must be a number in 0..${max} (decimal, 0x.. or ..h), got '${text}'`;
}

/** Parses the arguments after the command name. */
export function parseCamCli(command: CamCommand, argv: readonly string[]): ParsedCamArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      tokens: true,
      options: {
        image: { type: 'string' },
        memory: { type: 'string' },
        'block-size': { type: 'string' },
        'queue-size': { type: 'string' },
        'read-only': { type: 'boolean' },
        serial: { type: 'string' },
        json: { type: 'boolean' },
        m: { type: 'string' },
        P: { type: 'string' },
        c: { type: 'string' },
        i: { type: 'string' },
        o: { type: 'string' },
        t: { type: 'string' },
      },
    });
  } catch (e) {
    return fail(e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e));
  }
  const repeated = repeatedFlag(parsed.tokens);
  if (repeated !== undefined) return fail(repeated);
  const v = parsed.values;
  const bs = v['block-size'];
  if (bs !== undefined && bs !== '512' && bs !== '4096') return fail(`--block-size must be 512 or 4096, got '${bs}'`);
  const blockSize = bs === '4096' ? 4096 : 512;
  const qs = v['queue-size'] ?? '128';
  const queueSize = Number(qs);
  const qsProblem = queueSizeProblem(qs, MIN_QUEUE_SIZE.indirect);
  if (qsProblem !== undefined) return fail(qsProblem);
  if (v.image !== undefined && v.memory !== undefined) return fail('give either --image or --memory, not both');
  if (v.image?.length === 0) return fail('--image needs a path');
  let memory = DEFAULT_MEMORY;
  if (v.memory !== undefined) {
    const n = parseSize(v.memory);
    if (n === undefined) return fail(sizeProblem('--memory', v.memory));
    if (n % blockSize !== 0) return fail(`--memory ${n} is not a multiple of the ${blockSize}-byte block size`);
    memory = n;
  }
  const badSerial = v.serial === undefined ? undefined : serialProblem(v.serial);
  if (badSerial !== undefined) return fail(badSerial);
  const stack: StackArgs = { image: v.image, memory, blockSize, queueSize, readOnly: v['read-only'] === true, serial: v.serial, json: v.json === true };
  const only = (allowed: readonly string[]): string | undefined => {
    for (const f of ['m', 'P', 'c', 'i', 'o', 't'] as const) {
      if (v[f] !== undefined && !allowed.includes(f)) return `-${f} does not apply to '${command}'`;
    }
    return undefined;
  };
  switch (command) {
    case 'modepage': {
      const bad = only(['m', 'P']);
      if (bad !== undefined) return fail(bad);
      if (v.m === undefined) return fail("'modepage' needs -m PAGE (e.g. -m 8 for the Caching page, -m 0x3f for all)");
      const page = parseByte('-m', v.m, 0x3f);
      if (typeof page === 'string') return fail(page);
      const pc = parseByte('-P', v.P ?? '0', 3);
      if (typeof pc === 'string') return fail(pc);
      return { ok: true, args: { command, stack, page, pc } };
    }
    case 'cmd': {
      const bad = only(['c', 'i', 'o', 't']);
      if (bad !== undefined) return fail(bad);
      if (v.c === undefined) return fail(`'cmd' needs -c "CDB bytes in hex", e.g. -c "28 00 00 00 00 00 00 00 01 00"`);
      const cdb = parseHexBytes([v.c]);
      if (typeof cdb === 'string') return fail(`-c: ${cdb}`);
      if (cdb.length > 32) return fail(`-c: a CDB is at most 32 bytes, got ${cdb.length}`);
      if (v.i !== undefined && v.o !== undefined) return fail('give either -i (Data-In) or -o (Data-Out), not both');
      let inLength = 0;
      if (v.i !== undefined) {
        const n = Number(v.i);
        if (!/^\d+$/.test(v.i) || n > 16 * 2 ** 20) return fail(`-i must be a byte count in 0..16777216, got '${v.i}'`);
        inLength = n;
      }
      let out: Uint8Array | undefined;
      if (v.o !== undefined) {
        const b = parseHexBytes([v.o], MAX_DATA_OUT);
        if (typeof b === 'string') return fail(`-o: ${b}`);
        out = b;
      }
      const t = v.t ?? '60';
      const sec = Number(t);
      if (!/^\d+$/.test(t) || sec < 1 || sec > 3600) return fail(`-t must be seconds in 1..3600, got '${t}'`);
      return { ok: true, args: { command, stack, cdb, inLength, out, timeoutMs: sec * 1000 } };
    }
    case 'devlist':
    case 'inquiry':
    case 'readcap':
    case 'tur':
    case 'stats': {
      const bad = only([]);
      if (bad !== undefined) return fail(bad);
      return { ok: true, args: { command, stack } };
    }
  }
}

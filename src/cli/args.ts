// Command-line parsing for `vtcam`. Bad input is a value with a message that
// says what to do next; the caller prints it and exits with status 2.

import { parseArgs } from 'node:util';
import { CAM_USAGE, isCamCommand, parseCamCli, type CamArgs } from './cam-args.js';
import { SERVE_USAGE, parseServeCli, type ServeArgs } from './serve-args.js';
import { MIN_QUEUE_SIZE, parseSize, queueSizeProblem, repeatedFlag, sizeProblem } from './size.js';

export interface DemoArgs {
  readonly command: 'demo';
  readonly image: string | undefined;
  /** Bytes; for a memory disk its size, for a missing image the size to create. */
  readonly size: number | undefined;
  readonly blockSize: 512 | 4096;
  readonly queueSize: number;
  readonly requests: number;
  readonly readOnly: boolean;
  readonly indirect: boolean;
  readonly eventIdx: boolean;
}

/** `vtcam sense HEX…` / `vtcam cdb HEX…`: decode bytes given on the command line. */
export interface DecodeArgs {
  readonly command: 'sense' | 'cdb';
  readonly bytes: Uint8Array;
}

export type CliArgs =
  | DemoArgs
  | DecodeArgs
  | { readonly command: 'cam'; readonly cam: CamArgs }
  | { readonly command: 'serve'; readonly serve: ServeArgs }
  | { readonly command: 'help' }
  | { readonly command: 'version' };

export type ParsedArgs = { readonly ok: true; readonly args: CliArgs } | { readonly ok: false; readonly message: string };

export const USAGE = `Usage: vtcam [demo] [options]
       vtcam sense HEX...
       vtcam cdb HEX...
       vtcam serve [options]

demo (the default) builds a virtio-blk device (split virtqueue, local
transport), prints what the driver negotiated, then runs a verified write/read
pass through the ring.

sense decodes SCSI sense data (fixed 70h/71h or descriptor 72h/73h) and cdb
decodes a CDB against vtcam's command table; bytes are hex, e.g.
  vtcam sense 70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c9 00 01
  vtcam cdb 28000000001000000100
They exit 0 for valid input, 1 for bytes that are not valid sense / a CDB vtcam
would reject (saying why), 2 for bad usage.

Demo options:
  --image PATH          use an image file instead of memory (created sparse with --size if missing)
  --size SIZE           disk size, e.g. 64M, 1G, 4096 (default 64M for memory)
  --block-size 512|4096 logical block size (default 512)
  --queue-size N        virtqueue size, power of two 4..32768, 8.. with --no-indirect (default 128)
  --requests N          requests in the verified pass (default 20000, 0 skips it)
  --read-only           export the disk read-only (the pass then only reads)
  --no-indirect         do not negotiate VIRTIO_F_INDIRECT_DESC
  --no-event-idx        do not negotiate VIRTIO_F_EVENT_IDX
  -h, --help            this text
  -v, --version         the version

${CAM_USAGE}
${SERVE_USAGE}`;

export { parseSize };

function intOption(name: string, text: string | undefined, def: number, min: number, max: number): number | string {
  if (text === undefined) return def;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) return `--${name} must be an integer in ${min}..${max}, got '${text}'`;
  return n;
}

const DEMO_FLAGS = ['image', 'size', 'block-size', 'queue-size', 'requests', 'read-only', 'no-indirect', 'no-event-idx'] as const;
const MAX_HEX_BYTES = 260;

/**
 * Hex bytes as people paste them: "70 00 05", "700005", "0x70,0x00", "70:00".
 * A message for anything else.
 */
export function parseHexBytes(words: readonly string[], max = MAX_HEX_BYTES): Uint8Array | string {
  const tokens = words.join(' ').split(/[\s,:]+/).filter((t) => t !== '').map((t) => t.replace(/^0x/i, ''));
  if (tokens.length === 0) return 'give the bytes in hex, e.g. 70 00 05 00 …';
  const out: number[] = [];
  for (const t of tokens) {
    if (!/^[0-9a-f]+$/i.test(t) || (t.length > 2 && t.length % 2 !== 0)) return `'${t}' is not hex bytes; write them like 70 00 05 or 700005`;
    for (let i = 0; i < t.length; i += 2) out.push(parseInt(t.slice(i, i + 2), 16));
  }
  if (out.length > max) return max === MAX_HEX_BYTES ? `${out.length} bytes is more than sense data or a CDB can be (${max} at most)` : `${out.length} bytes is more than ${max} at most`;
  return Uint8Array.from(out);
}

export function parseCli(argv: readonly string[]): ParsedArgs {
  const first = argv[0];
  if (first !== undefined && isCamCommand(first)) {
    if (argv.includes('-h') || argv.includes('--help')) return { ok: true, args: { command: 'help' } };
    const r = parseCamCli(first, argv.slice(1));
    return r.ok ? { ok: true, args: { command: 'cam', cam: r.args } } : r;
  }
  if (first === 'serve') {
    if (argv.includes('-h') || argv.includes('--help')) return { ok: true, args: { command: 'help' } };
    const r = parseServeCli(argv.slice(1));
    return r.ok ? { ok: true, args: { command: 'serve', serve: r.args } } : r;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        image: { type: 'string' },
        size: { type: 'string' },
        'block-size': { type: 'string' },
        'queue-size': { type: 'string' },
        requests: { type: 'string' },
        'read-only': { type: 'boolean' },
        'no-indirect': { type: 'boolean' },
        'no-event-idx': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e) };
  }
  const { values: v, positionals } = parsed;
  const repeated = repeatedFlag(parsed.tokens);
  if (repeated !== undefined) return { ok: false, message: repeated };
  if (v.help === true) return { ok: true, args: { command: 'help' } };
  if (v.version === true) return { ok: true, args: { command: 'version' } };
  const [command = 'demo', ...extra] = positionals;
  if (command === 'sense' || command === 'cdb') {
    const flag = DEMO_FLAGS.find((f) => v[f] !== undefined);
    if (flag !== undefined) return { ok: false, message: `--${flag} is a demo option; '${command}' takes only hex bytes` };
    const bytes = parseHexBytes(extra);
    if (typeof bytes === 'string') return { ok: false, message: bytes };
    return { ok: true, args: { command, bytes } };
  }
  if (command !== 'demo') return { ok: false, message: `unknown command '${command}' (this version has: demo, sense, cdb, devlist, inquiry, readcap, tur, modepage, cmd, stats, serve)` };
  if (extra.length > 0) return { ok: false, message: `unexpected argument '${extra[0] ?? ''}'` };
  const bs = v['block-size'];
  if (bs !== undefined && bs !== '512' && bs !== '4096') return { ok: false, message: `--block-size must be 512 or 4096, got '${bs}'` };
  const blockSize = bs === '4096' ? 4096 : 512;
  const qs = v['queue-size'] ?? '128';
  const qsProblem = queueSizeProblem(qs, v['no-indirect'] === true ? MIN_QUEUE_SIZE.direct : MIN_QUEUE_SIZE.indirect);
  if (qsProblem !== undefined) return { ok: false, message: qsProblem };
  const queueSize = Number(qs);
  const requests = intOption('requests', v.requests, 20_000, 0, 10_000_000);
  if (typeof requests === 'string') return { ok: false, message: requests };
  let size: number | undefined;
  if (v.size !== undefined) {
    size = parseSize(v.size);
    if (size === undefined) return { ok: false, message: sizeProblem('--size', v.size) };
    if (size % blockSize !== 0) return { ok: false, message: `--size ${size} is not a multiple of the ${blockSize}-byte block size` };
  }
  if (v.image?.length === 0) return { ok: false, message: '--image needs a path' };
  return {
    ok: true,
    args: {
      command: 'demo',
      image: v.image,
      size,
      blockSize,
      queueSize,
      requests,
      readOnly: v['read-only'] === true,
      indirect: v['no-indirect'] !== true,
      eventIdx: v['no-event-idx'] !== true,
    },
  };
}

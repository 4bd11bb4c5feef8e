// Command line of `npm run soak`. A bad flag is a message naming it (the
// runner prints it with the usage and exits 2), never a run with a guess.

import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm run soak -- [options]
  --seed N             the PRNG seed, 0..4294967295 (default: drawn from the clock, and printed)
  --seconds S          how long to send new commands, 1..86400 (default 60); then everything
                       outstanding is drained, the disk read back and checked
  --sessions K         iSCSI sessions at once, 1..16 (default: 2..4, drawn from the seed)
  --kill-at S          instead of --seconds: after S seconds, 1..86400, SIGKILL the target at a
                       random point after a SYNCHRONIZE CACHE answered GOOD, restart it on the
                       same image, and check that every write answered GOOD before that
                       SYNCHRONIZE CACHE was sent reads back (or a later write's data)
  --serve-arg=ARG      one more argument for \`vtcam serve\`, repeatable and in order, e.g.
                       --serve-arg=--transport --serve-arg=worker; the soak sets --image,
                       --size, --address, --port, --target-name and --read-only itself
  -h, --help           this text

Starts \`vtcam serve\` (dist/cli/main.js) on a free loopback port with a scratch
image. Every session runs READ, WRITE, WRITE SAME, COMPARE AND WRITE and
SYNCHRONIZE CACHE (some with IMMED), and on a thin-provisioned target
(--serve-arg=--thin) UNMAP and WRITE SAME with UNMAP, a few of each kind
ORDERED or HEAD OF QUEUE, with task management (ABORT TASK, ABORT TASK SET,
CLEAR TASK SET, LOGICAL UNIT RESET, TARGET WARM RESET), logouts and dropped
connections mixed in and login keys (digests, R2T policy, sizes) drawn per
login, and every block each READ returns is checked against a model of the
disk, ORDERED's order within a session included. The same seed and flags give
each session the same sequence of decisions; the target's timing, and so which
commands overlap, still differs from run to run.

Exit status: 0 no findings, 1 findings (the first 50 printed, with how to re-run them),
2 bad flags or the target could not be started; on SIGINT or SIGTERM the target is
killed, the scratch image removed, and the status is 128 + the signal (130, 143).
`;

/** `vtcam serve` flags the soak sets itself. */
const RESERVED_SERVE_FLAGS = ['--image', '--size', '--address', '--port', '--target-name', '--read-only'] as const;
const MAX_SEED = 0xffffffff;
const MAX_SECONDS = 86_400;
const MAX_SESSIONS = 16;

export interface SoakOptions {
  readonly seed: number;
  readonly seconds: number;
  /** --kill-at: the run ends with a SIGKILL after `seconds` (kill.ts). */
  readonly kill: boolean;
  /** Undefined: drawn from the seed. */
  readonly sessions: number | undefined;
  readonly serveArgs: readonly string[];
}

export type ParsedArgs =
  | { readonly kind: 'run'; readonly options: SoakOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

function whole(flag: string, text: string | undefined, lo: number, hi: number): number | string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return /^\d+$/.test(text) && n >= lo && n <= hi ? n : `--${flag} must be a whole number in ${lo}..${hi}, got '${text}'`;
}

/** Parses the soak's flags; `defaultSeed` is used when --seed is not given. */
export function parseSoakArgs(argv: readonly string[], defaultSeed: number): ParsedArgs {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        seconds: { type: 'string' },
        'kill-at': { type: 'string' },
        sessions: { type: 'string' },
        'serve-arg': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  }
  if (v.help === true) return { kind: 'help' };
  const seed = whole('seed', v.seed, 0, MAX_SEED);
  const seconds = whole('seconds', v.seconds, 1, MAX_SECONDS);
  const sessions = whole('sessions', v.sessions, 1, MAX_SESSIONS);
  const killAt = whole('kill-at', v['kill-at'], 1, MAX_SECONDS);
  for (const x of [seed, seconds, sessions, killAt]) if (typeof x === 'string') return { kind: 'error', message: x };
  if (seconds !== undefined && killAt !== undefined) return { kind: 'error', message: '--kill-at replaces --seconds: give one of them' };
  const serveArgs = v['serve-arg'] ?? [];
  const reserved = serveArgs.find((a) => RESERVED_SERVE_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)));
  if (reserved !== undefined) return { kind: 'error', message: `--serve-arg=${reserved}: the soak sets ${reserved.split('=')[0] ?? reserved} itself` };
  return {
    kind: 'run',
    options: {
      seed: typeof seed === 'number' ? seed : defaultSeed,
      seconds: typeof killAt === 'number' ? killAt : typeof seconds === 'number' ? seconds : 60,
      kill: killAt !== undefined,
      sessions: typeof sessions === 'number' ? sessions : undefined,
      serveArgs,
    },
  };
}

// libiscsi's iscsi-perf, driven from the iSCSI benchmark: one run per queue
// depth against one LUN URL, its output parsed into IOPS.
//
// iscsi-perf (libiscsi 1.19) prints a header (capacity, pattern, transfer
// size), then a progress line every second redrawn in place with `\r`, and
// when its run time is up a final `\riops average N (M MB/s)` line that covers
// the whole run, then `finished.`. The average is what we report; progress
// lines also say `iops average`, so the parser takes only a line that is
// exactly the final form, and only when `finished.` follows it.

import { spawn } from 'node:child_process';

/** What a successful iscsi-perf run reported. */
export interface IscsiPerfResult {
  readonly ok: true;
  /** Commands per second averaged over the whole run. */
  readonly iops: number;
  /** iscsi-perf's own MB/s figure (MiB, rounded down). */
  readonly mbPerSec: number;
  /** Bytes per READ (16), from `transfer size of N blocks (B byte)`. */
  readonly transferBytes: number;
  /** Random LBAs (`-r`) rather than sequential ones. */
  readonly random: boolean;
  /** In-flight commands (`-m`), from `with N parallel requests`. */
  readonly queueDepth: number;
}

/** Why a run gave no number; `reason` is meant for the user. */
export interface IscsiPerfFailure {
  readonly ok: false;
  readonly reason: string;
}

// Anchored on the text of the final line alone: a progress line carries
// `iops current` before its average and `in_flight` after it.
const FINAL_RE = /^iops average (\d+) \((\d+) MB\/s\)\s*$/;
const PATTERN_RE = /^performing (RANDOM|SEQUENTIAL|random|sequential) READ with (\d+) parallel requests\s*$/;
const TRANSFER_RE = /^(?:FIXED|fixed) transfer size of (\d+) blocks \((\d+) byte\)\s*$/;
const FINISHED = 'finished.';

/** Lines as a terminal would have shown them last, one per `\r` or `\n`, trimmed. */
function segments(output: string): string[] {
  return output
    .split(/\r\n|\r|\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The last few lines, for a failure message: what iscsi-perf said before it stopped. */
function tail(lines: readonly string[]): string {
  const last = lines.filter((l) => !l.startsWith('iops average') && !/^\d\d:\d\d:\d\d - /.test(l)).slice(-2);
  return last.length === 0 ? 'no output' : last.join(' | ');
}

/**
 * Parses iscsi-perf's combined stdout and stderr. A run counts only when the
 * header names the pattern, depth and transfer size and the final average is
 * followed by `finished.`; anything else (a login failure, a failed READ, a
 * run cut short) is a failure quoting what iscsi-perf said last.
 */
export function parseIscsiPerf(output: string): IscsiPerfResult | IscsiPerfFailure {
  const lines = segments(output);
  let pattern: RegExpExecArray | undefined;
  let transfer: RegExpExecArray | undefined;
  let final: RegExpExecArray | undefined;
  let finished = false;
  for (const line of lines) {
    pattern ??= PATTERN_RE.exec(line) ?? undefined;
    transfer ??= TRANSFER_RE.exec(line) ?? undefined;
    const f = FINAL_RE.exec(line);
    if (f !== null) {
      final = f;
      finished = false;
    } else if (line === FINISHED && final !== undefined) {
      finished = true;
    }
  }
  if (pattern === undefined || transfer === undefined) {
    return { ok: false, reason: `iscsi-perf did not start its run: ${tail(lines)}` };
  }
  if (final === undefined || !finished) {
    return { ok: false, reason: `iscsi-perf did not finish its run: ${tail(lines)}` };
  }
  return {
    ok: true,
    iops: Number(final[1]),
    mbPerSec: Number(final[2]),
    transferBytes: Number(transfer[2]),
    random: pattern[1]?.toLowerCase() === 'random',
    queueDepth: Number(pattern[2]),
  };
}

/** One iscsi-perf invocation. */
export interface IscsiPerfRun {
  /** iscsi://HOST:PORT/TARGET/LUN */
  readonly url: string;
  readonly initiatorName: string;
  readonly queueDepth: number;
  /** Blocks per READ (16); iscsi-perf's `-b`. */
  readonly blocks: number;
  /** Whole seconds: iscsi-perf's `-t` counts in seconds. */
  readonly seconds: number;
  readonly random: boolean;
}

/** The command line for `run`, without the program name. */
export function iscsiPerfArgs(run: IscsiPerfRun): string[] {
  if (!Number.isInteger(run.seconds) || run.seconds < 1) throw new RangeError(`seconds must be an integer >= 1, got ${run.seconds}`);
  if (!Number.isInteger(run.queueDepth) || run.queueDepth < 1) throw new RangeError(`queueDepth must be an integer >= 1, got ${run.queueDepth}`);
  if (!Number.isInteger(run.blocks) || run.blocks < 1) throw new RangeError(`blocks must be an integer >= 1, got ${run.blocks}`);
  return [
    '-i', run.initiatorName,
    '-m', String(run.queueDepth),
    '-b', String(run.blocks),
    '-t', String(run.seconds),
    ...(run.random ? ['-r'] : []),
    run.url,
  ];
}

/** Past its run time iscsi-perf is stuck (a target that stopped answering): SIGTERM, which ends its loop. */
const GRACE_MS = 20_000;
/** After SIGTERM it still waits for commands in flight; a target that never answers needs SIGKILL. */
const KILL_AFTER_MS = 5_000;

/**
 * Runs iscsi-perf (`program`, by default looked up on PATH) and parses what
 * it printed. A run that outlasts its time by {@link GRACE_MS} is stopped and
 * reported as a failure; so is a non-zero exit, even with a number in the output.
 * Aborting `signal` SIGKILLs the run at once.
 */
export function runIscsiPerf(run: IscsiPerfRun, program = 'iscsi-perf', signal?: AbortSignal): Promise<IscsiPerfResult | IscsiPerfFailure> {
  const args = iscsiPerfArgs(run);
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], killSignal: 'SIGKILL', ...(signal === undefined ? {} : { signal }) });
    let output = '';
    const collect = (text: string): void => {
      output += text;
    };
    child.stdout.setEncoding('utf8').on('data', collect);
    child.stderr.setEncoding('utf8').on('data', collect);
    let overdue = false;
    let kill: NodeJS.Timeout | undefined;
    const term = setTimeout(() => {
      overdue = true;
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    }, run.seconds * 1000 + GRACE_MS);
    child.on('error', (e) => {
      clearTimeout(term);
      resolve({ ok: false, reason: `cannot run iscsi-perf: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      if (overdue) {
        resolve({ ok: false, reason: `iscsi-perf was still running ${GRACE_MS / 1000} s after its ${run.seconds} s run (the target stopped answering?); stopped it` });
        return;
      }
      const parsed = parseIscsiPerf(output);
      if (code !== 0) {
        const how = signal === null ? `exited with status ${code ?? 'unknown'}` : `was killed by ${signal}`;
        resolve({ ok: false, reason: parsed.ok ? `iscsi-perf ${how}` : `${parsed.reason} (iscsi-perf ${how})` });
        return;
      }
      resolve(parsed);
    });
  });
}

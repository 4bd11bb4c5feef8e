// What a soak run counts and finds, and how it is shown: the progress line
// (redrawn in place on a terminal, a plain line every few seconds otherwise),
// the findings, and the summary at the end.

import type { DecisionKind } from './workload.js';

/** What a finding is about. Timing alone is never a finding, except a command unanswered for the hang timeout. */
export type FindingKind = 'data' | 'status' | 'tmf' | 'protocol' | 'hang' | 'serve';

export interface Finding {
  readonly kind: FindingKind;
  readonly text: string;
}

export type IoKind = 'read' | 'write' | 'write-same' | 'compare-and-write' | 'write-same-unmap' | 'unmap' | 'sync-cache';

export class Tally {
  readonly commands: Record<IoKind, number> = {
    read: 0, write: 0, 'write-same': 0, 'compare-and-write': 0, 'write-same-unmap': 0, unmap: 0, 'sync-cache': 0,
  };
  readonly disruptions: Record<Exclude<DecisionKind, IoKind>, number> = {
    'abort-task': 0, 'abort-task-set': 0, 'clear-task-set': 0, 'lu-reset': 0, 'target-warm-reset': 0, drop: 0, logout: 0,
  };
  /** ABORT TASK responses by code, third-party confirmations and hang aborts included. */
  readonly abortResponses = new Map<string, number>();
  readonly statuses = new Map<string, number>();
  /** Commands sent ORDERED or HEAD OF QUEUE (the rest are SIMPLE), by command kind and attribute: `UNMAP ORDERED`. */
  readonly attributes = new Map<string, number>();
  /** SYNCHRONIZE CACHEs sent with IMMED. */
  syncImmed = 0;
  readsChecked = 0;
  /** Of those, READs an ORDERED rule applied to (shadow.ts). */
  readsOrdered = 0;
  blocksChecked = 0;
  logins = 0;
  /** Logins by what they negotiated (digests, InitialR2T=No, ImmediateData=No). */
  readonly loginKinds = new Map<string, number>();
  readonly findings: Finding[] = [];

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  get sent(): number {
    return Object.values(this.commands).reduce((a, b) => a + b, 0);
  }
}

/** Where progress goes: stderr on a terminal (one line, redrawn), stdout otherwise. */
export interface ProgressSink {
  readonly isTTY: boolean;
  write(text: string): void;
}

const PLAIN_EVERY_MS = 10_000;

/** Draws `line()` now and then: at most every 250 ms on a TTY, every 10 s as a plain line. */
export function startProgress(sink: ProgressSink, line: () => string, tickMs = 250): { stop(): void } {
  const every = sink.isTTY ? tickMs : PLAIN_EVERY_MS;
  const timer = setInterval(() => {
    sink.write(sink.isTTY ? `\r${line()}\x1b[K` : `${line()}\n`);
  }, every);
  timer.unref();
  return {
    stop(): void {
      clearInterval(timer);
      if (sink.isTTY) sink.write('\r\x1b[K');
    },
  };
}

/** Findings printed as they happen; past these, only counted (a planted fault once printed ~112 000 lines). */
export const LIVE_FINDINGS = 50;

/**
 * The run's finding callback: each finding goes into `tally`, and the first `limit` are printed to `sink` as they
 * happen, with the seed; the next one prints a single line saying the rest are not printed (the progress line and
 * the summary still count them), and the ones after print nothing.
 */
export function findingRecorder(tally: Tally, sink: ProgressSink, seed: number, limit = LIVE_FINDINGS): (kind: FindingKind, text: string) => void {
  return (kind, text) => {
    tally.findings.push({ kind, text });
    const n = tally.findings.length;
    if (n > limit + 1) return;
    const line = n <= limit ? `FINDING [${kind}] seed ${seed}: ${text}` : `soak: ... more findings not printed (${n} so far); the progress line and the summary count them all`;
    // On a terminal the progress line is erased first, so the finding does not follow it on one line.
    sink.write(`${sink.isTTY ? '\r\x1b[K' : ''}${line}\n`);
  };
}

const table = (m: ReadonlyMap<string, number>): string => [...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

/** The end-of-run summary; `rerun` is the command that repeats the run. */
export function summaryText(t: Tally, seed: number, rerun: string, maxFindings = 50): string {
  const lines = [
    `soak summary (seed ${seed})`,
    `  commands:   ${t.sent} (read ${t.commands.read}, write ${t.commands.write}, write same ${t.commands['write-same']}, compare and write ${t.commands['compare-and-write']}, ` +
      `unmap ${t.commands.unmap}, write same with unmap ${t.commands['write-same-unmap']}, synchronize cache ${t.commands['sync-cache']} (${t.syncImmed} IMMED))`,
    `  attributes: ${table(t.attributes)} (the rest SIMPLE)`,
    `  verified:   ${t.readsChecked} reads (${t.readsOrdered} after a write of their session by ORDERED), ${t.blocksChecked} blocks checked against the model`,
    `  statuses:   ${table(t.statuses)}`,
    `  TMFs:       ABORT TASK ${t.disruptions['abort-task']} at random, ABORT TASK SET ${t.disruptions['abort-task-set']}, CLEAR TASK SET ${t.disruptions['clear-task-set']}, ` +
      `LOGICAL UNIT RESET ${t.disruptions['lu-reset']}, TARGET WARM RESET ${t.disruptions['target-warm-reset']}`,
    `  ABORT TASK: responses, those after task-set functions and hangs included: ${table(t.abortResponses)}`,
    `  sessions:   ${t.logins} logins (${table(t.loginKinds)}), ${t.disruptions.drop} dropped connections, ${t.disruptions.logout} logouts`,
    `  findings:   ${t.findings.length}`,
  ];
  for (const f of t.findings.slice(0, maxFindings)) lines.push(`  FINDING [${f.kind}] ${f.text}`);
  if (t.findings.length > maxFindings) lines.push(`  ... and ${t.findings.length - maxFindings} more`);
  if (t.findings.length > 0) lines.push(`  re-run: ${rerun}`);
  return `${lines.join('\n')}\n`;
}

import { describe, expect, it } from 'vitest';
import { iscsiPerfArgs, parseIscsiPerf } from '../../bench/iscsi-perf.js';
import { procStatCpuTicks } from '../../bench/iscsi-targets.js';
import { formatIscsiSummary, iscsiCases, ISCSI_TGT, ISCSI_VTCAM_VARIANTS } from '../../bench/iscsi.js';
import { computeRatios, type BenchRow } from '../../bench/report.js';

// iscsi-perf (libiscsi 1.19) output, written out by hand in its layout: a
// header, progress lines redrawn in place with \r (each also says
// "iops average"), then the final average on a \r of its own, and "finished.".
const HEADER = [
  'iscsi-perf version 0.1 - (c) 2014-2015 by Peter Lieven <pl@kamp.de>',
  '',
  'connected to iscsi://127.0.0.1:3260/iqn.2026-11.test:bench/1',
  'capacity is 524288 blocks or 268435456 byte (256 MB)',
  'performing RANDOM READ with 8 parallel requests',
  'FIXED transfer size of 8 blocks (4096 byte)',
  'will run for 3 seconds.',
  '',
  '',
].join('\n');
const PROGRESS =
  '\r00:00:02 - lba 196506, iops current 20326 (79 MB/s), iops average 20326 (79 MB/s), in_flight 8, busy 0        ' +
  '\r00:00:01 - lba 44360, iops current 13685 (53 MB/s), iops average 17006 (66 MB/s), in_flight 8, busy 0        ';
const FINAL = '\riops average 18097 (70 MB/s)                                                        \n\nfinished.\n';

describe('parseIscsiPerf', () => {
  it('takes the final average, not a progress line, with the header it ran under', () => {
    expect(parseIscsiPerf(HEADER + PROGRESS + FINAL)).toEqual({
      ok: true,
      iops: 18097,
      mbPerSec: 70,
      transferBytes: 4096,
      random: true,
      queueDepth: 8,
    });
  });

  it('reads a sequential run and the older lower-case header', () => {
    const out = HEADER.replace('RANDOM READ with 8', 'sequential READ with 32').replace('FIXED transfer size of 8 blocks (4096 byte)', 'fixed transfer size of 1 blocks (512 byte)');
    expect(parseIscsiPerf(out + FINAL)).toMatchObject({ ok: true, random: false, queueDepth: 32, transferBytes: 512, iops: 18097 });
  });

  it('accepts CR LF line ends', () => {
    expect(parseIscsiPerf((HEADER + PROGRESS + FINAL).replace(/\n/g, '\r\n'))).toMatchObject({ ok: true, iops: 18097 });
  });

  it('a run cut short (progress lines only, no final line) is a failure, not its last average', () => {
    const r = parseIscsiPerf(HEADER + PROGRESS);
    expect(r.ok).toBe(false);
    expect(r).toMatchObject({ reason: expect.stringMatching(/^iscsi-perf did not finish its run: /) as unknown });
  });

  it('a final line without "finished." after it is a failure', () => {
    expect(parseIscsiPerf(HEADER + PROGRESS + '\riops average 18097 (70 MB/s)   ').ok).toBe(false);
  });

  it('a failed READ quotes what iscsi-perf said', () => {
    const out = HEADER + PROGRESS + '\nRead10/16 failed with sense key:5 ascq:2100\n';
    expect(parseIscsiPerf(out)).toEqual({
      ok: false,
      reason: 'iscsi-perf did not finish its run: will run for 3 seconds. | Read10/16 failed with sense key:5 ascq:2100',
    });
  });

  it('a login failure (no header) says the run never started', () => {
    const out = 'iscsi-perf version 0.1 - (c) 2014-2015 by Peter Lieven <pl@kamp.de>\n\nLogin Failed. iscsi_service failed with : iscsi_service_reconnect_if_loggedin. Can not reconnect right now.\n';
    expect(parseIscsiPerf(out)).toEqual({
      ok: false,
      reason:
        'iscsi-perf did not start its run: iscsi-perf version 0.1 - (c) 2014-2015 by Peter Lieven <pl@kamp.de> | ' +
        'Login Failed. iscsi_service failed with : iscsi_service_reconnect_if_loggedin. Can not reconnect right now.',
    });
  });

  it('empty output is a failure that says so', () => {
    expect(parseIscsiPerf('')).toEqual({ ok: false, reason: 'iscsi-perf did not start its run: no output' });
  });

  it('a final-looking line with more after it (a progress line) is not the final average', () => {
    const out = HEADER + '\riops average 18097 (70 MB/s), in_flight 8, busy 0\n\nfinished.\n';
    expect(parseIscsiPerf(out).ok).toBe(false);
  });
});

describe('iscsiPerfArgs', () => {
  const run = { url: 'iscsi://127.0.0.1:3260/iqn.2026-11.test:t/1', initiatorName: 'iqn.2026-11.test:i', queueDepth: 32, blocks: 8, seconds: 10, random: true };

  it('builds the command line, -r only for random', () => {
    expect(iscsiPerfArgs(run)).toEqual(['-i', 'iqn.2026-11.test:i', '-m', '32', '-b', '8', '-t', '10', '-r', 'iscsi://127.0.0.1:3260/iqn.2026-11.test:t/1']);
    expect(iscsiPerfArgs({ ...run, random: false })).not.toContain('-r');
  });

  it('rejects values iscsi-perf would misread (it counts whole seconds; -t 0 runs forever)', () => {
    expect(() => iscsiPerfArgs({ ...run, seconds: 0 })).toThrow(RangeError);
    expect(() => iscsiPerfArgs({ ...run, seconds: 1.5 })).toThrow(/seconds must be an integer >= 1, got 1.5/);
    expect(() => iscsiPerfArgs({ ...run, queueDepth: 0 })).toThrow(/queueDepth/);
    expect(() => iscsiPerfArgs({ ...run, blocks: -1 })).toThrow(/blocks/);
    expect(iscsiPerfArgs({ ...run, seconds: 1, queueDepth: 1, blocks: 1 })).toContain('1');
  });
});

describe('procStatCpuTicks', () => {
  // proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime …
  it('adds utime and stime (fields 14 and 15)', () => {
    expect(procStatCpuTicks('4242 (tgtd) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 17 0 100 0 0\n')).toBe(1801);
  });

  it('counts fields from the last ")": comm may hold spaces and parentheses', () => {
    expect(procStatCpuTicks('77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 1 0 0')).toBe(15);
  });

  it('is undefined for text that is not a stat line', () => {
    expect(procStatCpuTicks('')).toBeUndefined();
    expect(procStatCpuTicks('4242 (tgtd) S 1 4242')).toBeUndefined();
    expect(procStatCpuTicks('4242 (tgtd) S 1 4242 4242 0 -1 0 0 0 0 0 x 5 0')).toBeUndefined();
  });
});

describe('the vtcam rows', () => {
  it('local with the default io (auto), --io async and --io sync, and worker with one queue, each its own row; progress counts start-up, a warmup and three depths per target and round', () => {
    expect(ISCSI_VTCAM_VARIANTS.map((v) => [v.name, v.transport, v.queues, v.io])).toEqual([
      ['vtcam local (file)', 'local', 1, undefined],
      ['vtcam local io async (file)', 'local', 1, 'async'],
      ['vtcam local io sync (file)', 'local', 1, 'sync'],
      ['vtcam worker q1 (file)', 'worker', 1, undefined],
    ]);
    expect(iscsiCases(1)).toBe(1 + 5 + 5 * 3);
    expect(iscsiCases(3)).toBe(1 + 5 + 3 * 5 * 3);
  });
});

describe('formatIscsiSummary', () => {
  const [local, worker] = ['vtcam local (file)', 'vtcam worker q1 (file)'];
  const rows: BenchRow[] = computeRatios([
    { group: 'g', name: local, params: { qd: 1 }, opsPerSec: 50_000, baseline: ISCSI_TGT },
    { group: 'g', name: ISCSI_TGT, params: { qd: 1 }, opsPerSec: 10_000 },
    { group: 'g', name: local, params: { qd: 8 }, opsPerSec: 37_500, baseline: ISCSI_TGT },
    { group: 'g', name: worker, params: { qd: 8 }, opsPerSec: 37_499, baseline: ISCSI_TGT },
    { group: 'g', name: ISCSI_TGT, params: { qd: 8 }, opsPerSec: 25_000 },
    { group: 'g', name: local, params: { qd: 32 }, opsPerSec: 30_000, baseline: ISCSI_TGT },
    { group: 'g', name: worker, params: { qd: 32 }, opsPerSec: 40_000, baseline: ISCSI_TGT },
    { group: 'g', name: ISCSI_TGT, params: { qd: 32 }, opsPerSec: 25_000 },
  ]);

  it('lists target CPU per row, then the goal per goal depth (8 and 32, not 1) for each vtcam row, met at exactly 1.5×', () => {
    expect(formatIscsiSummary(rows, [80, 60, 99.6, 101, 120, undefined, 150, 118])).toBe(
      [
        "target CPU (user + system, % of one core, the median round; vtcam serve's includes its busy polling, --busy-poll-us 200 by default):",
        `  ${local} qd=1: 80 %`,
        '  tgt qd=1: 60 %',
        `  ${local} qd=8: 100 %`,
        `  ${worker} qd=8: 101 %`,
        '  tgt qd=8: 120 %',
        `  ${local} qd=32: unknown (no /proc)`,
        `  ${worker} qd=32: 150 %`,
        '  tgt qd=32: 118 %',
        `goal vtcam >= 1.5× tgt at qd=8, ${local}: met (1.50×)`,
        `goal vtcam >= 1.5× tgt at qd=8, ${worker}: NOT met (1.50×)`,
        `goal vtcam >= 1.5× tgt at qd=32, ${local}: NOT met (1.20×)`,
        `goal vtcam >= 1.5× tgt at qd=32, ${worker}: met (1.60×)`,
        '',
      ].join('\n'),
    );
  });

  it('with several rounds, each row\'s IOPS in every round comes first, a vtcam row with its ratio to tgt in each round; with one round, nothing', () => {
    const rounds = [[50_000, 49_000, 51_200], [10_000, 9_000, 11_000], [37_500, 1_234, 40_000], [37_499, 37_499, 37_499], [25_000, 24_000, 26_000], [30_000, 31_000, 29_000], [40_000, 41_000, 39_000], [25_000, 25_000, 25_000]];
    const text = formatIscsiSummary(rows, rows.map(() => 100), rounds);
    expect(text.split('\n').slice(0, 6)).toEqual([
      'IOPS in each round (the table shows the median IOPS and the median of the per-round ratios):',
      `  ${local} qd=1: 50,000 / 49,000 / 51,200 (× tgt: 5.00 / 5.44 / 4.65)`,
      '  tgt qd=1: 10,000 / 9,000 / 11,000',
      `  ${local} qd=8: 37,500 / 1,234 / 40,000 (× tgt: 1.50 / 0.05 / 1.54)`,
      `  ${worker} qd=8: 37,499 / 37,499 / 37,499 (× tgt: 1.50 / 1.56 / 1.44)`,
      '  tgt qd=8: 25,000 / 24,000 / 26,000',
    ]);
    expect(formatIscsiSummary(rows, rows.map(() => 100), rows.map((r) => [r.opsPerSec]))).toBe(formatIscsiSummary(rows, rows.map(() => 100)));
  });
});

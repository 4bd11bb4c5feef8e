import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fioArgs, parseFioJson, probeFio, runFio, type FioJob } from '../../bench/fio.js';

const job: FioJob = {
  filename: '/img',
  rw: 'randread',
  blockSize: 4096,
  iodepth: 32,
  ioengine: 'io_uring',
  direct: false,
  runtimeMs: 1500,
  rampMs: 300,
};

// A trimmed fio 3.33 report, written by hand after the shape fio prints: one
// job, its echoed options, and per direction the IOPS and the completion
// (clat) and total (lat) latency percentiles in ns.
const REPORT = `{
  "fio version" : "fio-3.33",
  "jobs" : [
    {
      "jobname" : "vtcam-bench",
      "error" : 0,
      "job options" : {
        "rw" : "randread", "bs" : "4096", "iodepth" : "32", "ioengine" : "io_uring", "direct" : "0", "lat_percentiles" : "1"
      },
      "read" : {
        "iops" : 451787.5, "total_ios" : 677681,
        "clat_ns" : { "N" : 677681, "percentile" : { "50.000000" : 90, "99.000000" : 151 } },
        "lat_ns" : { "N" : 677681, "percentile" : { "1.000000" : 1200, "50.000000" : 66048, "99.000000" : 132096, "99.900000" : 300000 } }
      },
      "write" : {
        "iops" : 0.000000, "total_ios" : 0,
        "clat_ns" : { "N" : 0 },
        "lat_ns" : { "N" : 0 }
      }
    }
  ]
}
`;

/** REPORT with its first job changed by `edit`. */
function report(edit: (j: Record<string, unknown>) => void): string {
  const r = JSON.parse(REPORT) as { jobs: Record<string, unknown>[] };
  const j = r.jobs[0];
  if (j === undefined) throw new Error('REPORT has no job');
  edit(j);
  return JSON.stringify(r, null, 2);
}

describe('fioArgs', () => {
  it('spells every option of the job, time-based, as JSON', () => {
    expect(fioArgs(job)).toEqual([
      '--name=vtcam-bench',
      '--filename=/img',
      '--rw=randread',
      '--bs=4096',
      '--iodepth=32',
      '--ioengine=io_uring',
      '--direct=0',
      '--runtime=1500ms',
      '--ramp_time=300ms',
      '--invalidate=0',
      '--lat_percentiles=1',
      '--time_based',
      '--norandommap',
      '--eta=never',
      '--output-format=json',
    ]);
  });

  it('says direct=1 for an O_DIRECT job', () => {
    expect(fioArgs({ ...job, direct: true })).toContain('--direct=1');
  });

  it('rejects a depth, block size or time fio would not take', () => {
    expect(() => fioArgs({ ...job, iodepth: 0 })).toThrow('iodepth must be an integer >= 1, got 0');
    expect(() => fioArgs({ ...job, blockSize: 4096.5 })).toThrow('blockSize must be an integer >= 512, got 4096.5');
    expect(() => fioArgs({ ...job, runtimeMs: 0 })).toThrow('runtimeMs must be an integer >= 1, got 0');
    expect(() => fioArgs({ ...job, rampMs: -1 })).toThrow('rampMs must be an integer >= 0, got -1');
  });
});

describe('parseFioJson', () => {
  it('takes IOPS and the total-latency p50/p99 of the read side, in µs', () => {
    expect(parseFioJson(REPORT, job)).toEqual({ ok: true, iops: 451787.5, p50Us: 66.048, p99Us: 132.096 });
  });

  it('takes the write side for randwrite', () => {
    const text = report((j) => {
      j['job options'] = { ...(j['job options'] as object), rw: 'randwrite' };
      j['write'] = j['read'];
      j['read'] = { iops: 0, total_ios: 0 };
    });
    expect(parseFioJson(text, { ...job, rw: 'randwrite' })).toEqual({ ok: true, iops: 451787.5, p50Us: 66.048, p99Us: 132.096 });
  });

  it('skips notes printed before the report', () => {
    expect(parseFioJson(`note: both iodepth >= 1 and synchronous I/O engine are selected\n${REPORT}`, job)).toMatchObject({ ok: true, iops: 451787.5 });
  });

  it('fails on a job error, quoting the errno', () => {
    expect(parseFioJson(report((j) => { j['error'] = 22; }), job)).toEqual({ ok: false, reason: "fio's job failed with error 22" });
  });

  it('fails when the report is not the job asked for', () => {
    expect(parseFioJson(REPORT, { ...job, iodepth: 256 })).toEqual({ ok: false, reason: 'fio ran iodepth=32, not iodepth=256' });
    expect(parseFioJson(REPORT, { ...job, direct: true })).toEqual({ ok: false, reason: 'fio ran direct=0, not direct=1' });
    expect(parseFioJson(REPORT, { ...job, ioengine: 'libaio' })).toEqual({ ok: false, reason: 'fio ran ioengine=io_uring, not ioengine=libaio' });
  });

  it('fails when the job did no I/O in its direction', () => {
    expect(parseFioJson(REPORT, { ...job, rw: 'randwrite' })).toEqual({ ok: false, reason: 'fio ran rw=randread, not rw=randwrite' });
    const idle = report((j) => { j['read'] = { iops: 0, total_ios: 0, lat_ns: { N: 0 } }; });
    expect(parseFioJson(idle, job)).toEqual({ ok: false, reason: 'fio did no randread I/O' });
  });

  it('fails without total-latency percentiles rather than taking clat', () => {
    const noLat = report((j) => {
      const read = j['read'] as Record<string, unknown>;
      read['lat_ns'] = { N: 677681 };
    });
    expect(parseFioJson(noLat, job)).toEqual({ ok: false, reason: "fio's report has no lat_ns percentiles 50.000000 and 99.000000" });
  });

  it('fails on output that is not one report of one job', () => {
    expect(parseFioJson('fio: engine nosuch not loadable\n', job)).toEqual({ ok: false, reason: 'fio printed no JSON report' });
    expect(parseFioJson('{\n  "jobs" : [\n', job)).toMatchObject({ ok: false, reason: expect.stringMatching(/^fio's JSON report does not parse: /) as unknown });
    expect(parseFioJson('{ "jobs": [] }', job)).toEqual({ ok: false, reason: "fio's report does not hold exactly one job" });
    expect(parseFioJson('{ "jobs": [1] }', job)).toEqual({ ok: false, reason: "fio's job report is not an object" });
  });
});

// A stand-in fio: echoes the job's options into a report like REPORT, fails
// io_uring and O_DIRECT jobs the way fio does (a report with an errno, status
// 1, a line on stderr), and exits with FAKE_STATUS when that is set.
const FAKE = `
const opts = Object.fromEntries(process.argv.slice(2).filter((a) => a.includes('=')).map((a) => a.slice(2).split('=')));
const refuse = opts.ioengine === 'io_uring' ? 1 : opts.direct === '1' ? 22 : 0;
const side = { iops: 1000, total_ios: 1000, lat_ns: { percentile: { '50.000000': 2000, '99.000000': 9000 } } };
const job = { error: refuse, 'job options': opts, read: refuse ? { iops: 0, total_ios: 0 } : side, write: side };
process.stdout.write(JSON.stringify({ 'fio version': 'fake', jobs: [job] }) + '\\n');
if (refuse) process.stderr.write('fio: pid=1, err=' + refuse + '/file:x.c:1, error=refused\\n');
process.exitCode = refuse ? 1 : Number(process.env.FAKE_STATUS ?? 0);
`;

describe('runFio and probeFio', () => {
  let dir: string;
  let fake: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtcam-fio-test-'));
    fake = join(dir, 'fio');
    await writeFile(fake, `#!${process.execPath}\n${FAKE}`);
    await chmod(fake, 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a program that cannot be started', async () => {
    const r = await runFio(job, join(dir, 'no-such-fio'));
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/^cannot run fio: .*ENOENT/) as unknown });
  });

  it('parses a run that exits 0', async () => {
    expect(await runFio({ ...job, ioengine: 'libaio' }, fake)).toEqual({ ok: true, iops: 1000, p50Us: 2, p99Us: 9 });
  });

  it('fails a job error with what fio said on stderr', async () => {
    expect(await runFio(job, fake)).toEqual({ ok: false, reason: "fio's job failed with error 1: fio: pid=1, err=1/file:x.c:1, error=refused" });
  });

  it('fails a non-zero exit even with a good report', async () => {
    process.env['FAKE_STATUS'] = '3';
    try {
      expect(await runFio({ ...job, ioengine: 'libaio' }, fake)).toEqual({ ok: false, reason: 'fio exited with status 3: nothing on stderr' });
    } finally {
      delete process.env['FAKE_STATUS'];
    }
  });

  it('falls back from io_uring to libaio and says why O_DIRECT does not work', async () => {
    expect(await probeFio('/img', fake)).toEqual({ ok: true, engine: 'libaio', noDirect: "fio's job failed with error 22: fio: pid=1, err=22/file:x.c:1, error=refused" });
  });

  it('fails the probe when no engine runs, naming each', async () => {
    const r = await probeFio('/img', join(dir, 'no-such-fio'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^fio can use none of io_uring, libaio here \(io_uring: cannot run fio: .*; libaio: cannot run fio: .*\)$/);
  });
});

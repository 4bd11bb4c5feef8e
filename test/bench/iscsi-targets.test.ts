// The iSCSI benchmark's targets interrupted while they start: each hands over
// its kill as soon as it is spawned, so Ctrl-C before READY (vtcam serve) or
// before tgtadm gets an answer (tgtd) leaves no process and no tgtd control
// socket behind. Before, only a target that had started could be killed.
// Stand-ins (node scripts) play vtcam serve and tgtd; nothing here needs tgt.

import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { startTgt, startVtcamServe } from '../../bench/iscsi-targets.js';
import { gone } from '../scripts/conformance/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'vtcam-iscsi-targets-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An executable node script at `name` in the test folder. */
function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!${process.execPath}\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('a target interrupted while it starts', () => {
  test('vtcam serve before READY: onSpawn gets its kill at once, which ends it', async () => {
    // A serve that never gets ready, and says its pid first.
    const cli = script('serve.js', "process.stdout.write(`pid ${process.pid}\\n`); setInterval(() => {}, 1000);");
    const kills: (() => void)[] = [];
    const r = await startVtcamServe({ cli, image: join(dir, 'none.img'), blockSize: 512, transport: 'local', queues: 1, readyTimeoutMs: 60_000, onSpawn: (kill) => {
      kills.push(kill);
      setTimeout(kill, 300);
    } });
    expect(kills).toHaveLength(1);
    expect(r).toMatchObject({ error: expect.stringMatching(/^vtcam serve was killed by SIGKILL before it was ready: pid \d+$/) as unknown });
    const pid = Number(/pid (\d+)/.exec('error' in r ? r.error : '')?.[1]);
    await gone(pid);
  }, 30_000);

  test('tgtd before it answers tgtadm: killed, and the control socket files it made are removed', async () => {
    const ipcDir = mkdtempSync(join(dir, 'ipc-'));
    // A tgtd that makes its socket files (named by -C N, holding its pid), ignores SIGINT and SIGTERM as tgtd does, and never answers.
    const tgtd = script('tgtd.js', `
const fs = require('node:fs');
const n = process.argv[process.argv.indexOf('-C') + 1];
for (const f of ['socket.' + n, 'socket.' + n + '.lock']) fs.writeFileSync(${JSON.stringify(ipcDir)} + '/' + f, String(process.pid));
process.on('SIGINT', () => {}); process.on('SIGTERM', () => {});
setInterval(() => {}, 1000);`);
    const pids: number[] = [];
    const r = await startTgt({ tgtd, tgtadm: '/bin/false', image: join(dir, 'none.img'), targetName: 'iqn.2026-11.org.vtcam:t', ipcDir, onSpawn: (kill) => {
      // Once both socket files are there, as for a benchmark interrupted then.
      const waitFiles = setInterval(() => {
        const files = readdirSync(ipcDir);
        if (files.length < 2 || files[0] === undefined) return;
        clearInterval(waitFiles);
        pids.push(Number(readFileSync(join(ipcDir, files[0]), 'utf8')));
        kill();
      }, 20);
    } });
    // Each attempt's tgtd was killed at start; startTgt tried again and then gave up.
    expect(r).toMatchObject({ error: expect.stringMatching(/^tgtd was killed by SIGKILL at start/) as unknown });
    expect(pids.length).toBeGreaterThan(0);
    expect(readdirSync(ipcDir)).toEqual([]);
    for (const pid of pids) await gone(pid);
  }, 60_000);
});

// The serve child: waiting for READY, a clean stop, a serve that fails to
// start, one that ignores SIGTERM, one that dies while tests run. The children
// are fakes (node -e) that keep the READY contract of `vtcam serve`.

import { describe, expect, test } from 'vitest';
import { startServe, type ServeChild } from '../../../scripts/conformance/serve-child.js';
import { READY_PREFIX } from '../../../src/cli/serve-args.js';

const URL_ = 'iscsi://127.0.0.1:40123/iqn.2026-11.org.vtcam:disk0/0';
// Prints a banner, then READY, and stops on SIGTERM with status 0 (like vtcam serve).
const GOOD = `
process.stdout.write('vtcam serve: iSCSI target listening on 127.0.0.1:40123\\n');
setTimeout(() => process.stdout.write('${READY_PREFIX}${URL_}\\n'), 50);
process.on('SIGTERM', () => { process.stderr.write('stopped\\n'); process.exit(0); });
setInterval(() => {}, 1000);
`;

function start(script: string, log: string[] = [], readyTimeoutMs = 10_000): ReturnType<typeof startServe> {
  return startServe({ command: process.execPath, args: ['-e', script], log: (t) => log.push(t), readyTimeoutMs });
}

async function started(script: string, log: string[] = []): Promise<ServeChild> {
  const s = await start(script, log);
  if ('error' in s) throw new Error(s.error);
  return s;
}

describe('startServe', () => {
  test('resolves with the URL of the READY line; SIGTERM stops it cleanly; everything it printed is logged', async () => {
    const log: string[] = [];
    const s = await started(GOOD, log);
    expect(s.url).toBe(URL_);
    expect(s.died()).toBeUndefined();
    expect(await s.stop(5000)).toBeUndefined();
    expect(s.died()).toBeUndefined();
    const all = log.join('');
    expect(all).toContain('listening on 127.0.0.1:40123');
    expect(all).toContain(`${READY_PREFIX}${URL_}`);
    expect(all).toContain('stopped');
  });

  test('onSpawn gets the child at spawn, before READY (an interrupted runner kills a serve still starting)', async () => {
    const pids: (number | undefined)[] = [];
    const s = await startServe({ command: process.execPath, args: ['-e', GOOD], log: () => undefined, readyTimeoutMs: 10_000, onSpawn: (c) => pids.push(c.pid) });
    expect(pids).toHaveLength(1);
    if ('error' in s) throw new Error(s.error);
    expect(await s.stop(5000)).toBeUndefined();
  });

  test('a serve that exits before READY: an error with its exit status and last words', async () => {
    const s = await start("process.stderr.write('vtcam: --thin is not an option\\n'); process.exit(2)");
    expect(s).toEqual({ error: 'vtcam serve exited with status 2 before it was ready: vtcam: --thin is not an option' });
  });

  test('a serve that never prints READY is killed after the timeout', async () => {
    const s = await start('setInterval(() => {}, 1000)', [], 500);
    expect(s).toEqual({ error: 'vtcam serve printed no READY line within 0.5 s' });
  });

  test('a serve that exits non-zero on SIGTERM is reported', async () => {
    const s = await started(GOOD.replace('process.exit(0)', 'process.exit(1)'));
    expect(await s.stop(5000)).toBe('vtcam serve exited with status 1 on SIGTERM, not 0');
  });

  test('a serve that ignores SIGTERM is killed after the stop timeout', async () => {
    const s = await started(GOOD.replace('process.exit(0)', "process.stderr.write('ignoring SIGTERM')"));
    expect(await s.stop(500)).toBe('vtcam serve did not stop within 0.5 s of SIGTERM (killed)');
  });

  test('a serve that dies while tests run: died() says how, stop() says it was already gone', async () => {
    const s = await started(GOOD.replace('setInterval(() => {}, 1000);', "setTimeout(() => process.kill(process.pid, 'SIGSEGV'), 200); setInterval(() => {}, 1000);"));
    await new Promise((r) => setTimeout(r, 1000));
    expect(s.died()).toBe('vtcam serve killed by SIGSEGV while tests ran');
    expect(await s.stop(5000)).toBe('vtcam serve killed by SIGSEGV before it was stopped');
  });
});

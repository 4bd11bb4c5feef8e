// `vtcam serve` as a process, stopped by Ctrl-C while a WRITE waits for its
// Data-Out (its R2T sent, RFC 7143 §11.8). The connection used to stop
// reading, so the stop waited on a Data-Out it could not read; on transport
// local nothing then held the event loop, and the process exited 13 before the
// image was flushed, the WRITE lost. Run from the TypeScript sources through
// tsx, as bin.test.ts runs the CLI.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { TestInitiator, field32, ittOf, opcodeOf } from '../iscsi/initiator.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const IQN = 'iqn.2026-11.org.vtcam:serve-stop';
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('Ctrl-C while a WRITE waits for its Data-Out: the Data-Out sent after it is taken, the WRITE ends GOOD, the image holds it, exit 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vtcam-serve-stop-'));
  dirs.push(dir);
  const image = join(dir, 'disk.img');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--image', image, '--size', '1M', '--port', '0', '--target-name', IQN], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => { resolve(code ?? signal ?? -1); }));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^READY iscsi:\/\/127\.0\.0\.1:(\d+)\//m.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    void exited.then((code) => { reject(new Error(`serve exited ${String(code)} before READY: ${stderr}`)); });
  });
  const ini = await TestInitiator.connect(port);
  expect((await ini.login(IQN)).bhs[36]).toBe(0);
  // TEST UNIT READY takes the power-on unit attention.
  expect((await ini.result(ini.command({ cdb: new Uint8Array(6), edtl: 0 }))).status).toBe(2);
  // WRITE (10) of 4 blocks at LBA 8, no immediate data: it waits for the Data-Out its R2T asks for.
  const itt = ini.command({ cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, 8, 0, 0, 4, 0), write: true, edtl: 2048 });
  const r2t = await ini.next((p) => opcodeOf(p) === 0x31 && ittOf(p) === itt);
  child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 100));
  ini.dataOut({ itt, ttt: field32(r2t, 20), dataSN: 0, offset: 0, data: new Uint8Array(2048).fill(0x5a), final: true });
  expect((await ini.result(itt, 10_000)).status).toBe(0);
  expect(await exited).toBe(0);
  expect(stderr).toMatch(/vtcam: SIGINT: stopping; 1 session\(s\) finish their commands first[^\n]*\nvtcam: stopped\n$/);
  expect([...(await readFile(image)).subarray(8 * 512, 12 * 512)]).toEqual(new Array<number>(2048).fill(0x5a));
  ini.close();
});

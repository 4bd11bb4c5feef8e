// A second, independent initiator: QEMU's block layer (libiscsi inside
// qemu-img) copies a random 64 MiB image into the target and back out; the
// bytes must survive the round trip. Needs qemu-img with the iscsi driver
// (Debian: qemu-utils + qemu-block-extra). Without it the test is skipped,
// unless VTCAM_REQUIRE_QEMU=1 (CI), which makes a missing qemu-img a failure.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';

const IQN = 'iqn.2026-11.org.vtcam:qemu';
const SIZE = 64 * 2 ** 20;

function hasIscsiQemuImg(): boolean {
  const r = spawnSync('qemu-img', ['--help'], { encoding: 'utf8' });
  return r.status === 0 && /\biscsi\b/.test(r.stdout);
}

const available = hasIscsiQemuImg();
const required = process.env['VTCAM_REQUIRE_QEMU'] === '1';

function run(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-img', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`qemu-img ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

describe('qemu-img as an independent iSCSI initiator', () => {
  it('qemu-img with the iscsi block driver is installed (required in CI)', () => {
    if (required) expect(available).toBe(true);
  });

  it.skipIf(!available)('copies a random 64 MiB image in and back out unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtcam-qemu-'));
    const stack = await createStack({ backend: new MemoryBackend({ blocks: SIZE / 512, blockSize: 512 }), queueSize: 128 });
    const server = await IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }] });
    try {
      const url = `iscsi://127.0.0.1:${server.address.port}/${IQN}/0`;
      const src = join(dir, 'in.raw');
      const out = join(dir, 'out.raw');
      const image = randomBytes(SIZE);
      await writeFile(src, image);
      await run(['convert', '-n', '-f', 'raw', '-O', 'raw', src, url]);
      await run(['convert', '-f', 'raw', '-O', 'raw', url, out]);
      const back = await readFile(out);
      expect(back.length).toBe(SIZE);
      expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(image).digest('hex'));
    } finally {
      await server.close();
      await stack.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

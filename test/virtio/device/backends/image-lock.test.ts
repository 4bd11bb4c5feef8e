// The image lock (image-lock.ts): one opener with `lock` at a time per file,
// whatever path leads to it, in this process or another; released by close()
// and by the holder's death, however it dies; a refusal names the holder.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { link, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { FileBackend, type FileBackendError } from '../../../../src/virtio/device/backends/file.js';
import { imageLockName, lockImage } from '../../../../src/virtio/device/backends/image-lock.js';

let dir: string;
let image: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtcam-lock-'));
  image = join(dir, 'disk.img');
  await writeFile(image, new Uint8Array(64 * 1024));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function opened(path: string, readOnly = false): Promise<FileBackend> {
  const b = await FileBackend.open(path, { lock: true, readOnly });
  if (!(b instanceof FileBackend)) throw new Error(`open failed: ${b.message}`);
  return b;
}

async function refused(path: string, readOnly = false): Promise<FileBackendError> {
  const b = await FileBackend.open(path, { lock: true, readOnly });
  if (b instanceof FileBackend) {
    await b.close();
    throw new Error('a second opener with lock got the image');
  }
  return b;
}

/** A child process that opens `path` with the lock and says READY on stdout, then waits to be killed. */
async function holderProcess(path: string): Promise<ChildProcess> {
  const module = resolve('src/virtio/device/backends/file.ts');
  const code = `const { FileBackend } = await import(${JSON.stringify(module)}); const b = await FileBackend.open(${JSON.stringify(path)}, { lock: true }); if (!(b instanceof FileBackend)) { console.log('FAILED ' + b.message); process.exit(1); } console.log('READY'); setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('READY')) ok();
      if (out.includes('FAILED')) fail(new Error(out));
    });
    child.on('exit', (c) => {
      fail(new Error(`holder exited ${String(c)}: ${out}`));
    });
  });
  return child;
}

describe('imageLockName', () => {
  test('is an abstract socket name (a NUL first) made of the device and inode numbers in hexadecimal', () => {
    expect(imageLockName(0x803n, 0x1234abcdn)).toBe('\0vtcam-image-803-1234abcd');
    expect(imageLockName(0n, 2n ** 64n - 1n)).toBe('\0vtcam-image-0-ffffffffffffffff');
  });
});

describe.runIf(process.platform === 'linux')('FileBackend.open with lock', () => {
  test('a second opener in this process gets EBUSY naming this process; after close() the image opens again', async () => {
    const first = await opened(image);
    const e = await refused(image);
    expect(e.code).toBe('EBUSY');
    expect(e.path).toBe(image);
    // Its pid and script name, never its arguments: anyone on the machine can connect and read them.
    expect(e.holder).toBe(`pid ${process.pid} (${basename(process.argv[1] ?? '')})`);
    expect(e.message).toBe(`image ${image} is in use (${e.holder ?? ''}); open it once it is closed there`);
    await first.close();
    const again = await opened(image);
    await again.close();
  });

  test('read-only openers are refused too, and hold it against writers', async () => {
    const reader = await opened(image, true);
    expect((await refused(image, true)).code).toBe('EBUSY');
    expect((await refused(image, false)).code).toBe('EBUSY');
    await reader.close();
  });

  test('a symbolic link and a hard link to the image meet the same lock', async () => {
    const soft = join(dir, 'soft.img');
    const hard = join(dir, 'hard.img');
    await symlink(image, soft);
    await link(image, hard);
    const first = await opened(soft);
    expect((await refused(hard)).code).toBe('EBUSY');
    expect((await refused(image)).code).toBe('EBUSY');
    await first.close();
  });

  test('without lock (the default) nothing is taken or checked', async () => {
    const locked = await opened(image);
    const plain = await FileBackend.open(image);
    expect(plain).toBeInstanceOf(FileBackend);
    if (plain instanceof FileBackend) await plain.close();
    await locked.close();
  });

  test('another process holding it is named; when it is killed (SIGKILL) the lock is gone with it, nothing stale left', async () => {
    const child = await holderProcess(image);
    try {
      const e = await refused(image);
      expect(e.code).toBe('EBUSY');
      expect(e.holder).toBe(`pid ${String(child.pid)}`);
    } finally {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGKILL');
      await exited;
    }
    const after = await opened(image);
    await after.close();
  }, 20_000);

  test('a holder started with arguments names its script only: a secret on its command line stays there', async () => {
    const script = join(dir, 'holder.mjs');
    const module = resolve('src/virtio/device/backends/file.ts');
    await writeFile(script, `const { FileBackend } = await import(${JSON.stringify(module)}); const b = await FileBackend.open(${JSON.stringify(image)}, { lock: true }); console.log(b instanceof FileBackend ? 'READY' : 'FAILED'); setInterval(() => undefined, 1000);`);
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--chap-secret', 'hunter2-secret'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((ok, fail) => {
        child.stdout.on('data', (b: Buffer) => {
          if (b.toString().includes('READY')) ok();
          else fail(new Error(b.toString()));
        });
      });
      const e = await refused(image);
      expect(e.holder).toBe(`pid ${String(child.pid)} (holder.mjs)`);
      expect(e.message).not.toContain('hunter2');
    } finally {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGKILL');
      await exited;
    }
  }, 20_000);

  test('a holder that says nothing, or sends control bytes, still refuses; what it sent is shown printable and bounded', async () => {
    const st = await stat(image, { bigint: true });
    const name = imageLockName(st.dev, st.ino);
    let reply: string | undefined;
    const squatter = createServer((s) => {
      if (reply !== undefined) s.end(reply);
    });
    await new Promise<void>((ok) => squatter.listen({ path: name }, ok));
    try {
      reply = undefined;
      const silent = await refused(image);
      expect(silent.code).toBe('EBUSY');
      expect(silent.holder).toBeUndefined();
      expect(silent.message).toContain('by a process that does not say which');
      reply = `evil\x1b[2J\x07${'x'.repeat(500)}\n`;
      const noisy = await refused(image);
      expect(noisy.holder).toBe(`evil?[2J?${'x'.repeat(191)}`);
    } finally {
      await new Promise((ok) => squatter.close(ok));
    }
  }, 10_000);

  test('a refused lockImage leaves the holder in place; a release is idempotent', async () => {
    const st = await stat(image, { bigint: true });
    const a = await lockImage(st.dev, st.ino);
    expect(a.ok).toBe(true);
    const b = await lockImage(st.dev, st.ino);
    expect(b.ok).toBe(false);
    if (!a.ok || a.lock === undefined) throw new Error('no lock on linux');
    await a.lock.release();
    await a.lock.release();
    const c = await lockImage(st.dev, st.ino);
    expect(c.ok).toBe(true);
    if (c.ok) await c.lock?.release();
  });

  test('a lock does not keep the process alive', async () => {
    const module = resolve('src/virtio/device/backends/file.ts');
    const code = `const { FileBackend } = await import(${JSON.stringify(module)}); const b = await FileBackend.open(${JSON.stringify(image)}, { lock: true }); console.log(b instanceof FileBackend ? 'LOCKED' : b.message);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exit = await new Promise((ok) => child.once('exit', ok));
    expect(out.trim()).toBe('LOCKED');
    expect(exit).toBe(0);
  }, 20_000);
});

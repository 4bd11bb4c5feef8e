// FileBackend.open on paths that are not plain image files (file-open.ts): a
// FIFO is refused at once, read-only or not, where open(2) for reading would
// wait for a writer forever; the descriptor a regular image is then served
// through carries no O_NONBLOCK. A dangling symbolic link is called one, with
// or without the create option (which cannot create through it).

import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileBackend, type FileBackendError } from '../../../../src/virtio/device/backends/file.js';

/** Linux's mask of the access mode in open(2) flags; node:fs has no constant for it. */
const O_ACCMODE = 0o3;

let dir: string;
let fifo: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtcam-file-open-'));
  fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
});

afterEach(async () => {
  // Should an open(2) of the FIFO be stuck waiting for a writer, be one for a moment
  // (O_RDWR never blocks on a FIFO), so that its thread-pool thread comes back.
  closeSync(openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK));
  await rm(dir, { recursive: true, force: true });
});

function expectError(r: FileBackend | FileBackendError): FileBackendError {
  if (r.ok) throw new Error(`expected an error, got a ${r.size}-byte backend`);
  return r;
}

/** The open(2) flags of every descriptor of this process on `path`, from /proc/self/fdinfo. */
function flagsOn(path: string): number[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== path) return [];
      const line = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      return line?.[1] === undefined ? [] : [Number.parseInt(line[1], 8)];
    } catch {
      return []; // closed since readdir
    }
  });
}

describe('FileBackend.open of a FIFO', () => {
  it.each([true, false])('is refused as not a regular file, at once (readOnly %s)', async (readOnly) => {
    const err = expectError(await FileBackend.open(fifo, { readOnly }));
    expect(err).toEqual({ ok: false, code: 'EINVAL', path: fifo, message: `${fifo} is not a regular file; only image files are supported` });
  });
});

describe('FileBackend.open of a regular image', () => {
  it.runIf(process.platform === 'linux')('does its I/O on a descriptor without O_NONBLOCK (io_uring may answer EAGAIN instead of waiting)', async () => {
    const path = join(dir, 'disk.img');
    await writeFile(path, new Uint8Array(4096));
    for (const readOnly of [true, false]) {
      const b = await FileBackend.open(path, { readOnly });
      if (!b.ok) throw new Error(b.message);
      const flags = flagsOn(path);
      await b.close();
      expect(flags).toHaveLength(1);
      expect((flags[0] ?? 0) & constants.O_NONBLOCK).toBe(0);
      expect((flags[0] ?? 0) & O_ACCMODE).toBe(readOnly ? constants.O_RDONLY : constants.O_RDWR);
    }
  });
});

describe('FileBackend.open of a dangling symbolic link', () => {
  it.each([
    ['without', {}],
    ['with', { create: { size: 4096 } }],
  ] as const)('says where it leads, %s the create option, and creates nothing', async (_with, options) => {
    const link = join(dir, 'disk.img');
    await symlink('gone.img', link); // relative: to the link's directory
    const err = expectError(await FileBackend.open(link, options));
    const target = join(dir, 'gone.img');
    expect(err).toEqual({
      ok: false,
      code: 'ENOENT',
      path: link,
      message: `image ${link} is a symbolic link to ${target}, which does not exist; create ${target}, or remove the link and pass the create option to make the image in its place`,
    });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    await expect(stat(target)).rejects.toThrow(/ENOENT/);
  });

  it('names the end of a chain of links, the path that is missing', async () => {
    const link = join(dir, 'a.img');
    const end = join(dir, 'sub', 'c.img');
    await symlink(join(dir, 'b.img'), link);
    await symlink(join('sub', 'c.img'), join(dir, 'b.img'));
    const err = expectError(await FileBackend.open(link, { create: { size: 4096 } }));
    expect(err.message).toBe(`image ${link} is a symbolic link to ${end}, which does not exist; create ${end}, or remove the link and pass the create option to make the image in its place`);
  });

  it('a link to an existing image opens that image', async () => {
    const link = join(dir, 'disk.img');
    await writeFile(join(dir, 'real.img'), new Uint8Array(8192));
    await symlink('real.img', link);
    const b = await FileBackend.open(link, { create: { size: 4096 } });
    if (!b.ok) throw new Error(b.message);
    expect(b.size).toBe(8192);
    await b.close();
  });
});

// An image FileBackend.open refused, in the words of the command that opened
// it: demo and serve (which create an image with --size) and the
// camcontrol-style commands (no --size; --memory instead). Each message names
// a flag of that command and what to do; none of them the library's options.
// Permission failures cannot be made for real as root, so imageFailure gets
// the FileBackendError the library would return; the files it looks at are real.

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageFailure } from '../../src/cli/image-error.js';
import { main } from '../../src/cli/main.js';
import { FileBackend, type FileBackendError, type FileBackendErrorCode } from '../../src/virtio/device/backends/file.js';
import { capture } from './capture.js';

let dir: string;
let image: string;
let empty: string;
let fifo: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtcam-imgerr-'));
  image = join(dir, 'disk.img');
  await writeFile(image, new Uint8Array(4096));
  empty = join(dir, 'empty.img');
  await writeFile(empty, new Uint8Array(0));
  await mkdir(join(dir, 'sub'));
  fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
});
// Should an open(2) of the FIFO be stuck waiting for a writer, be one for a moment
// (O_RDWR never blocks on a FIFO), so that its thread-pool thread comes back.
afterEach(() => {
  closeSync(openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const failure = (code: FileBackendErrorCode, path: string, message = 'the library says'): FileBackendError => ({ ok: false, code, path, message });
const demo = { creates: true, readOnly: false };
const cam = { creates: false, readOnly: false };

describe('imageFailure', () => {
  test.each([
    ['EACCES', false, 'permission denied opening image IMG for writing; add --read-only to use it unwritten, or make it writable (chmod u+w IMG)'],
    ['EPERM', false, 'permission denied opening image IMG for writing; add --read-only to use it unwritten, or make it writable (chmod u+w IMG)'],
    ['EACCES', true, 'permission denied reading image IMG; make it readable (chmod u+r IMG)'],
    ['EROFS', false, 'image IMG is on a read-only file system; add --read-only to use it unwritten'],
  ] as const)('%s on an existing image (--read-only %s): names --read-only or chmod', async (code, readOnly, message) => {
    expect(await imageFailure(failure(code, image), { creates: false, readOnly })).toBe(message.replaceAll('IMG', image));
  });

  test.each([
    ['EACCES', 'is not writable'],
    ['EROFS', 'is on a read-only file system'],
  ] as const)('%s creating an image: the directory is at fault, not the file that is not there', async (code, why) => {
    const path = join(dir, 'new.img');
    expect(await imageFailure(failure(code, path), demo)).toBe(`cannot create image ${path}: directory ${dir} ${why}; give --image a path in a directory you can write to`);
  });

  test('ENOENT, the directory there: demo and serve say --size; the camcontrol commands truncate or --memory', async () => {
    const path = join(dir, 'missing.img');
    expect(await imageFailure(failure('ENOENT', path), demo)).toBe(`image ${path} not found; add --size SIZE to create it sparse (e.g. --size 1G)`);
    expect(await imageFailure(failure('ENOENT', path), cam)).toBe(`image ${path} not found; create an empty one (truncate -s 64M ${path}), or use --memory SIZE`);
  });

  test('ENOENT, the directory missing too: create the directory, not the image (truncate would fail)', async () => {
    const path = join(dir, 'no', 'such', 'x.img');
    const d = join(dir, 'no', 'such');
    expect(await imageFailure(failure('ENOENT', path), demo)).toBe(`image ${path} not found: its directory ${d} does not exist either; create it (mkdir -p ${d}) or give --image another path`);
    expect(await imageFailure(failure('ENOENT', path), cam)).toBe(`image ${path} not found: its directory ${d} does not exist either; create it (mkdir -p ${d}) or give --image another path, or use --memory SIZE`);
  });

  test('EINVAL for an empty image: --size where the command has it, else truncate or --memory', async () => {
    expect(await imageFailure(failure('EINVAL', empty), demo)).toBe(`image ${empty} is empty (0 bytes); delete it and add --size SIZE to create it anew, or pad it (truncate -s 64M ${empty})`);
    expect(await imageFailure(failure('EINVAL', empty), cam)).toBe(`image ${empty} is empty (0 bytes); pad it (truncate -s 64M ${empty}), or use --memory SIZE`);
  });

  test('a path the shell would split or expand is quoted in the command to paste, not in the prose', async () => {
    const spaced = join(dir, "it's mine.img");
    const q = `'${spaced.replaceAll("'", `'\\''`)}'`;
    expect(await imageFailure(failure('ENOENT', spaced), cam)).toBe(`image ${spaced} not found; create an empty one (truncate -s 64M ${q}), or use --memory SIZE`);
    const deep = join(dir, 'no such', 'x.img');
    expect(await imageFailure(failure('ENOENT', deep), demo)).toContain(`(mkdir -p '${join(dir, 'no such')}')`);
  });

  test('EINVAL otherwise (a size to pad, not a regular file): the library message, which names no option', async () => {
    expect(await imageFailure(failure('EINVAL', image, 'pad it with truncate'), cam)).toBe('pad it with truncate');
    expect(await imageFailure(failure('EINVAL', '/dev/null', 'not a regular file'), cam)).toBe('not a regular file');
  });

  test.each([
    ['ENOSPC', 'no space left to create image IMG; free some space or give a smaller --size'],
    ['EFBIG', 'cannot create image IMG: --size is more than its file system allows for one file; give a smaller --size'],
    ['EISDIR', 'IMG is a directory, not a disk image; give --image the path of an image file'],
    ['EIO', 'the library says'],
  ] as const)('%s', async (code, message) => {
    expect(await imageFailure(failure(code, image), demo)).toBe(message.replaceAll('IMG', image));
  });

  test('EBUSY names the holder, says why, and how to reach the disk instead', async () => {
    const busy = { ...failure('EBUSY', image), holder: 'pid 42 (main.js)' };
    expect(await imageFailure(busy, cam)).toBe(
      `image ${image} is in use by another process (pid 42 (main.js); \`ps -p 42 -o args\` shows it): two writing one image would corrupt it; stop that one first, or, when it is vtcam serve, reach the disk through it over iSCSI`,
    );
    expect(await imageFailure(failure('EBUSY', image), demo)).toContain('(it does not say which)');
    // Words from another process that are not "pid N": shown, no ps hint built from them.
    expect(await imageFailure({ ...failure('EBUSY', image), holder: 'somebody; rm -rf /' }, cam)).toContain('(somebody; rm -rf /)');
  });
});

async function run(args: string[]): Promise<{ code: number; err: string }> {
  const io = capture();
  const code = await main(args, io);
  return { code, err: io.errors.join('\n') };
}

describe('what each command prints', () => {
  test('demo, a missing image: add --size (it said "FileBackend\'s create option; vtcam serve --size")', async () => {
    const path = join(dir, 'demo-missing.img');
    expect(await run(['--image', path, '--requests', '1'])).toEqual({ code: 1, err: `image ${path} not found; add --size SIZE to create it sparse (e.g. --size 1G)` });
  });

  test('demo --size in a directory that is not there: create the directory', async () => {
    const path = join(dir, 'gone', 'x.img');
    expect(await run(['--image', path, '--size', '1M', '--requests', '1'])).toEqual({
      code: 1,
      err: `image ${path} not found: its directory ${join(dir, 'gone')} does not exist either; create it (mkdir -p ${join(dir, 'gone')}) or give --image another path`,
    });
  });

  test('devlist, an empty image: no "pass a size" (it has no --size)', async () => {
    expect(await run(['devlist', '--image', empty])).toEqual({ code: 1, err: `image ${empty} is empty (0 bytes); pad it (truncate -s 64M ${empty}), or use --memory SIZE` });
  });

  test.each([[['--read-only']], [[]]])('inquiry, a FIFO (%j): not a regular file, exit 1, at once (with --read-only it waited for a writer)', async (flags) => {
    expect(await run(['inquiry', '--image', fifo, ...flags])).toEqual({ code: 1, err: `${fifo} is not a regular file; only image files are supported` });
  });

  test.each([[['--size', '1M']], [[]]])('demo, a dangling symbolic link (%j): says so, never "add --size"', async (size) => {
    const link = join(dir, `link${size.length}.img`);
    const target = join(dir, `target${size.length}.img`);
    await symlink(target, link);
    expect(await run(['--image', link, ...size, '--requests', '1'])).toEqual({
      code: 1,
      err: `image ${link} is a symbolic link to ${target}, which does not exist; create the target (truncate -s 1G ${target}), or remove the link (rm ${link}) and --size creates the image in its place`,
    });
  });

  test('devlist, a dangling symbolic link: create the target, remove the link, or --memory', async () => {
    const link = join(dir, 'devlist-link.img');
    const target = join(dir, 'devlist-target.img');
    await symlink(target, link);
    expect(await run(['devlist', '--image', link])).toEqual({
      code: 1,
      err: `image ${link} is a symbolic link to ${target}, which does not exist; create the target (truncate -s 64M ${target}), or remove the link, or use --memory SIZE`,
    });
  });

  test.runIf(process.platform === 'linux').each([
    [['serve', '--port', '0']],
    [['readcap', '--read-only']],
    [['--requests', '1']],
  ])('%j on an image another opener holds: exit 1 before anything is done, naming the holder', async (cmd) => {
    const holder = await FileBackend.open(image, { lock: true });
    if (!(holder instanceof FileBackend)) throw new Error(holder.message);
    try {
      const r = await run([...cmd, '--image', image]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^image ${image} is in use by another process \\(pid ${process.pid} \\(`));
    } finally {
      await holder.close();
    }
    // Released: the same command now gets the image.
    if (cmd[0] === 'readcap') expect((await run([...cmd, '--image', image])).code).toBe(0);
  });

  test('devlist, a directory: give --image an image file', async () => {
    expect(await run(['devlist', '--image', join(dir, 'sub')])).toEqual({ code: 1, err: `${join(dir, 'sub')} is a directory, not a disk image; give --image the path of an image file` });
  });
});

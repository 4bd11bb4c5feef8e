// What the CLI says when an image cannot be opened: FileBackend.open's failure
// (file-open.ts, worded for a library caller and its options) in the terms of
// the command the user ran, naming that command's flags and what to do next.
// Whether the image or its directory exists is looked up again here, only to
// choose the words.

import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileBackendError } from '../virtio/device/backends/file.js';
import { danglingLinkTarget } from '../virtio/device/backends/file-open.js';
import { shellWord } from './shell-word.js';

/** The command's side of the advice. */
export interface ImageCommand {
  /**
   * True for demo and serve, which create a missing image sparse with --size; false for the
   * camcontrol-style commands, which have no --size and take a memory disk (--memory SIZE) instead.
   */
  readonly creates: boolean;
  /** Whether --read-only was given. */
  readonly readOnly: boolean;
}

async function statOf(path: string): Promise<{ readonly size: number; readonly isFile: boolean; readonly isDirectory: boolean } | undefined> {
  return stat(path).then(
    (s) => ({ size: s.size, isFile: s.isFile(), isDirectory: s.isDirectory() }),
    () => undefined,
  );
}

/** A missing image (or its directory): how to make one with this command's flags, or what to use instead. */
export async function imageNotFound(path: string, c: Pick<ImageCommand, 'creates'>): Promise<string> {
  // --size creates an image only where nothing is, not through a link.
  const target = await danglingLinkTarget(path);
  if (target !== undefined) {
    const what = `image ${path} is a symbolic link to ${target}, which does not exist`;
    return c.creates
      ? `${what}; create the target (truncate -s 1G ${shellWord(target)}), or remove the link (rm ${shellWord(path)}) and --size creates the image in its place`
      : `${what}; create the target (truncate -s 64M ${shellWord(target)}), or remove the link, or use --memory SIZE`;
  }
  const dir = dirname(path);
  if ((await statOf(dir))?.isDirectory !== true) {
    return `image ${path} not found: its directory ${dir} does not exist either; create it (mkdir -p ${shellWord(dir)}) or give --image another path${c.creates ? '' : ', or use --memory SIZE'}`;
  }
  return c.creates
    ? `image ${path} not found; add --size SIZE to create it sparse (e.g. --size 1G)`
    : `image ${path} not found; create an empty one (truncate -s 64M ${shellWord(path)}), or use --memory SIZE`;
}

/** `e` in the words of the command `c`. */
export async function imageFailure(e: FileBackendError, c: ImageCommand): Promise<string> {
  const path = e.path;
  switch (e.code) {
    case 'ENOENT':
      return imageNotFound(path, c);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS': {
      const dir = dirname(path);
      // Creating: the image is not there, its directory refused the new file.
      if ((await statOf(path)) === undefined) {
        const why = e.code === 'EROFS' ? 'is on a read-only file system' : 'is not writable';
        return `cannot create image ${path}: directory ${dir} ${why}; give --image a path in a directory you can write to`;
      }
      if (e.code === 'EROFS') return `image ${path} is on a read-only file system; add --read-only to use it unwritten`;
      return c.readOnly
        ? `permission denied reading image ${path}; make it readable (chmod u+r ${shellWord(path)})`
        : `permission denied opening image ${path} for writing; add --read-only to use it unwritten, or make it writable (chmod u+w ${shellWord(path)})`;
    }
    case 'EISDIR':
      return `${path} is a directory, not a disk image; give --image the path of an image file`;
    case 'ENOSPC':
      return `no space left to create image ${path}; free some space or give a smaller --size`;
    case 'EFBIG':
      return `cannot create image ${path}: --size is more than its file system allows for one file; give a smaller --size`;
    case 'EINVAL': {
      const st = await statOf(path);
      if (st?.isFile === true && st.size === 0) {
        return c.creates
          ? `image ${path} is empty (0 bytes); delete it and add --size SIZE to create it anew, or pad it (truncate -s 64M ${shellWord(path)})`
          : `image ${path} is empty (0 bytes); pad it (truncate -s 64M ${shellWord(path)}), or use --memory SIZE`;
      }
      return e.message;
    }
    case 'EBUSY': {
      // The holder's own words (image-lock.ts: "pid N (script)"); another process's, so only a pid is taken from them.
      const pid = /^pid (\d+)\b/.exec(e.holder ?? '')?.[1];
      const who = e.holder === undefined ? 'it does not say which' : pid === undefined ? e.holder : `${e.holder}; \`ps -p ${pid} -o args\` shows it`;
      return `image ${path} is in use by another process (${who}): two writing one image would corrupt it; stop that one first, or, when it is vtcam serve, reach the disk through it over iSCSI`;
    }
    case 'ESTALE':
    case 'EIO':
      return e.message;
  }
}

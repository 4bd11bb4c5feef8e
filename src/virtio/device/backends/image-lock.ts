// One opener at a time for an image file. Two processes writing one image
// through page caches of their own, each with its own idea of what is on the
// disk, corrupt it; QEMU refuses a second opener with an OFD lock, which Node
// cannot take. What Node can do on Linux is bind a unix socket in the
// abstract namespace (unix(7)): a name no second socket can bind, that lives
// only as long as its socket, and that the kernel gives back when the process
// ends however it ends, so a crash leaves no stale lock behind, as a lock file
// would. The name is the file's device and inode numbers, so every path to
// the file (a symlink, a hard link, `..`) meets the same lock.
//
// Limits, said where they are used: abstract names are per network namespace
// (two containers sharing a volume do not see each other's), and other systems
// have none, so there the lock is not taken.
//
// The holder answers whoever connects with one line saying who it is (its pid
// and script name), so the refusal can name it.
//
// It guards against accidents, not against other users: an abstract name has
// no permissions, so any local user who can stat the image can bind its name
// first and keep vtcam from opening it (the refusal then names whatever pid
// that user's socket claims), and can connect to read the holder's line, which
// is why that line carries no arguments.

import { createConnection, createServer, type Server } from 'node:net';
import { basename } from 'node:path';

/** How long a refused opener waits for the holder to say who it is. */
const HOLDER_REPLY_MS = 1000;
/** The longest holder description kept: it comes from another process. */
const HOLDER_MAX = 200;

/** A held image lock: release() gives it back (idempotent). */
export interface ImageLock {
  release(): Promise<void>;
}

/** lockImage's answer: the lock (undefined where the system has no abstract sockets), or who holds it. */
export type ImageLockResult = { readonly ok: true; readonly lock: ImageLock | undefined } | { readonly ok: false; readonly holder: string | undefined };

/** The abstract socket name for the file with these device and inode numbers. */
export function imageLockName(dev: bigint, ino: bigint): string {
  return `\0vtcam-image-${dev.toString(16)}-${ino.toString(16)}`;
}

/**
 * This process, as a holder describes itself to a refused opener: its pid and the name of its script, never
 * its arguments. Abstract names carry no permissions, so anyone on the machine may connect and read this,
 * and a command line can hold a secret (`--chap-secret`).
 */
function describeSelf(): string {
  const script = process.argv[1];
  return (script === undefined ? `pid ${process.pid}` : `pid ${process.pid} (${basename(script)})`).slice(0, HOLDER_MAX);
}

/** Keeps printable ASCII of what another process sent, at most HOLDER_MAX characters. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, HOLDER_MAX);
}

/**
 * Takes the lock of the file with device `dev` and inode `ino`. Never throws:
 * a lock the system cannot give (no abstract sockets, or binding failed for a
 * reason other than the name being taken) is `{ ok: true, lock: undefined }`,
 * since refusing the image for it would refuse it everywhere.
 */
export async function lockImage(dev: bigint, ino: bigint): Promise<ImageLockResult> {
  if (process.platform !== 'linux') return { ok: true, lock: undefined };
  const name = imageLockName(dev, ino);
  const self = `${describeSelf()}\n`;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(self);
  });
  const bound = await new Promise<'bound' | 'taken' | 'failed'>((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'EADDRINUSE' ? 'taken' : 'failed');
    });
    server.listen({ path: name }, () => {
      resolve('bound');
    });
  });
  if (bound === 'failed') return { ok: true, lock: undefined };
  if (bound === 'taken') return { ok: false, holder: await askHolder(name) };
  // The lock must not keep the process alive: it lasts as long as the image is open, not longer.
  server.unref();
  server.on('error', () => undefined);
  return { ok: true, lock: heldLock(server) };
}

function heldLock(server: Server): ImageLock {
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      })),
  };
}

/** The holder's line about itself, or undefined when it says nothing in time. */
function askHolder(name: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection({ path: name });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const line = text.split('\n')[0]?.trim() ?? '';
      resolve(line === '' ? undefined : printable(line));
    };
    const timer = setTimeout(done, HOLDER_REPLY_MS);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n') || text.length > HOLDER_MAX) done();
    });
    socket.on('end', done);
    socket.on('error', done);
  });
}

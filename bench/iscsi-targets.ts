// The two kinds of iSCSI target the iSCSI benchmark compares, each in a process of
// its own: `vtcam serve` (a child node running this build's CLI) and tgt's
// tgtd (the Linux SCSI target framework, user space). Both listen on
// 127.0.0.1 only, on a free port, with one LUN over an image file the caller
// created, and both are stopped by the pid we started, never by name.

import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { access, constants, readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { exitText, Watched } from './watched-child.js';

const LOOPBACK = '127.0.0.1';

/** A target that is up and serving one LUN. */
export interface RunningTarget {
  /** iscsi://127.0.0.1:PORT/IQN/LUN */
  readonly url: string;
  readonly pid: number;
  /** Why the process is gone when nobody stopped it; undefined while it runs. */
  died(): string | undefined;
  /** Stops it (gracefully first) and waits until it has exited; resolves with what went wrong, if anything. */
  stop(): Promise<string | undefined>;
}

/**
 * Given, as soon as a target's process is spawned (before it is ready), the
 * function that SIGKILLs it and removes what it leaves behind (tgtd's control
 * socket), for a benchmark interrupted while the target starts. Calling it
 * after the process has gone does nothing harmful.
 */
export type OnSpawn = (kill: () => void) => void;

/** A target that could not be started, and why, in words for the user. */
export interface TargetFailure {
  readonly error: string;
}

// ---------------------------------------------------------------------------
// Tools

/** Where Debian and Ubuntu put tgtd and tgtadm; not on a non-root user's PATH. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Full path of an executable `name` on PATH (or in the sbin directories), or undefined. */
export async function findTool(name: string, path = process.env['PATH'] ?? ''): Promise<string | undefined> {
  const dirs = [...path.split(delimiter).filter((d) => d !== ''), ...SBIN];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here; the next directory may have it
    }
  }
  return undefined;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the target binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const a = srv.address();
      const port = a !== null && typeof a === 'object' ? a.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: LOOPBACK, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Linux proc(5) /proc/PID/stat: utime and stime are fields 14 and 15 (in
// clock ticks); counted from state (field 3), the first after comm, they sit
// at indices 11 and 12.
const UTIME_AFTER_COMM = 11;
/** USER_HZ: the unit of /proc/PID/stat times, 100 on every Linux ABI Node runs on. */
const CLOCK_TICKS_PER_S = 100;

/**
 * User + system CPU in clock ticks from the text of /proc/PID/stat, or
 * undefined when it is not that. comm (field 2) may hold spaces and
 * parentheses, so fields are counted from the last `)`.
 */
export function procStatCpuTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close === -1) return undefined;
  const fields = stat.slice(close + 1).trim().split(/\s+/);
  const utime = fields[UTIME_AFTER_COMM];
  const stime = fields[UTIME_AFTER_COMM + 1];
  if (utime === undefined || stime === undefined || !/^\d+$/.test(utime) || !/^\d+$/.test(stime)) return undefined;
  return Number(utime) + Number(stime);
}

/**
 * CPU seconds (user + system, every thread) that process `pid` has used, from
 * /proc/PID/stat; undefined where there is no /proc (not Linux) or the
 * process is gone.
 */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const ticks = procStatCpuTicks(stat);
  return ticks === undefined ? undefined : ticks / CLOCK_TICKS_PER_S;
}

/** How long a target has to exit once asked to stop (SIGTERM, or tgtadm for tgtd) before it is SIGKILLed. */
const STOP_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------
// vtcam serve

/** How to start `vtcam serve`. */
export interface VtcamServeOptions {
  /** The CLI entry point, dist…/cli/main.js of this build. */
  readonly cli: string;
  /** An existing image file: the file backend. */
  readonly image: string;
  readonly blockSize: number;
  /** `--transport`: where the virtio-blk device runs. */
  readonly transport: 'local' | 'worker';
  /** `--queues`: request queues (one device worker thread each on transport worker). */
  readonly queues: number;
  /** `--io`: image I/O on transport local (absent: serve's default). */
  readonly io?: 'async' | 'sync';
  /** Extra node flags (e.g. --cpu-prof) put before the script. */
  readonly nodeFlags?: readonly string[];
  readonly readyTimeoutMs?: number;
  readonly onSpawn?: OnSpawn;
}

/** The line `vtcam serve` prints once it listens (READY_PREFIX in src/cli/serve-args.ts). */
const READY_RE = /^READY (iscsi:\/\/\S+)$/m;

/**
 * Starts `vtcam serve --image IMAGE --transport T --queues N [--io IO] --port 0` and resolves once it prints its
 * READY line. Stopping sends SIGTERM, which drains the target and exits 0
 * (so a --cpu-prof profile gets written), and SIGKILLs after 10 s.
 */
export function startVtcamServe(opts: VtcamServeOptions): Promise<RunningTarget | TargetFailure> {
  const args = [
    ...(opts.nodeFlags ?? []),
    opts.cli, 'serve',
    '--image', opts.image,
    '--block-size', String(opts.blockSize),
    '--transport', opts.transport,
    '--queues', String(opts.queues),
    ...(opts.io === undefined ? [] : ['--io', opts.io]),
    '--address', LOOPBACK,
    '--port', '0',
  ];
  const w = new Watched(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  let stopping = false;
  opts.onSpawn?.(() => {
    stopping = true;
    w.child.kill('SIGKILL');
  });
  return new Promise((resolve) => {
    let out: string | undefined = '';
    const timer = setTimeout(() => {
      w.child.kill('SIGKILL');
      resolve({ error: `vtcam serve printed no READY line within ${readyTimeoutMs / 1000} s: ${w.said()}` });
    }, readyTimeoutMs);
    w.child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: `cannot start vtcam serve: ${e.message}` });
    });
    void w.exited.then((e) => {
      clearTimeout(timer);
      resolve({ error: `vtcam serve ${exitText(e)} before it was ready: ${w.said()}` });
    });
    w.child.stdout?.on('data', (text: string) => {
      if (out === undefined) return; // READY seen; serve prints nothing after it
      out += text;
      const ready = READY_RE.exec(out);
      if (ready?.[1] === undefined) return;
      out = undefined;
      clearTimeout(timer);
      resolve({
        url: ready[1],
        pid: w.child.pid ?? -1,
        died: () => {
          const e = w.exit();
          return e === undefined || stopping ? undefined : `vtcam serve ${exitText(e)}: ${w.said()}`;
        },
        async stop() {
          const ended = w.exit();
          if (ended !== undefined) return stopping ? undefined : `vtcam serve ${exitText(ended)} before it was stopped: ${w.said()}`;
          stopping = true;
          w.child.kill('SIGTERM');
          if (!(await w.exitsWithin(STOP_TIMEOUT_MS))) {
            w.child.kill('SIGKILL');
            await w.exited;
            return `vtcam serve did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM (killed)`;
          }
          const e = await w.exited;
          return e.code === 0 ? undefined : `vtcam serve ${exitText(e)} on SIGTERM, not 0: ${w.said()}`;
        },
      });
    });
  });
}

// ---------------------------------------------------------------------------
// tgt

/** How to start tgtd. */
export interface TgtOptions {
  readonly tgtd: string;
  readonly tgtadm: string;
  /** An existing image file for LUN 1, opened with tgt's default backing store (rdwr: pread/pwrite). */
  readonly image: string;
  readonly targetName: string;
  readonly onSpawn?: OnSpawn;
  /** Where tgtd keeps its control socket (tgt's compiled-in /var/run/tgtd; another only for a stand-in tgtd in tests). */
  readonly ipcDir?: string;
}

/** tgt keeps LUN 0 for its own controller device; the disk is LUN 1. */
const TGT_LUN = 1;
const TGT_TID = 1;
// tgtd's management channel is the UNIX socket /var/run/tgtd/socket.N (tgtd
// and tgtadm -C N), N at most 32767; a random N keeps clear of a tgtd started
// by someone else (which holds its socket's lock, so ours would exit).
const CONTROL_PORT_MIN = 20_000;
const CONTROL_PORT_MAX = 32_767;
const TGTD_ATTEMPTS = 3;
/** tgt's compiled-in IPC directory; tgtd leaves its socket and lock file there when it exits. */
const TGTD_IPC_DIR = '/var/run/tgtd';
const TGTD_UP_TIMEOUT_MS = 10_000;

function runTool(file: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (output += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (output += t));
    child.on('error', (e) => {
      resolve({ code: null, output: e.message });
    });
    child.on('close', (code) => {
      resolve({ code, output: output.trim() });
    });
  });
}

/**
 * Starts tgtd in the foreground on a free 127.0.0.1 port, then configures
 * one target with the image as LUN 1, open to every initiator (loopback
 * only). tgtd ignores SIGTERM and SIGINT: stopping deletes the target and
 * asks the daemon to exit through tgtadm, and SIGKILLs it by pid if it has not
 * gone within 10 s.
 */
export async function startTgt(opts: TgtOptions): Promise<RunningTarget | TargetFailure> {
  let last = '';
  for (let attempt = 0; attempt < TGTD_ATTEMPTS; attempt++) {
    const port = await freePort();
    const control = CONTROL_PORT_MIN + Math.floor(Math.random() * (CONTROL_PORT_MAX - CONTROL_PORT_MIN + 1));
    const started = await startTgtd(opts, port, control);
    if ('url' in started) return started;
    last = started.error;
    if (!started.retry) break;
  }
  return { error: last };
}

async function startTgtd(opts: TgtOptions, port: number, control: number): Promise<RunningTarget | (TargetFailure & { retry: boolean })> {
  const ipcDir = opts.ipcDir ?? TGTD_IPC_DIR;
  const socketFiles = [`socket.${control}`, `socket.${control}.lock`].map((f) => join(ipcDir, f));
  // Another tgtd's (or one's left behind): never ours to remove, so take another number.
  if (socketFiles.some((f) => existsSync(f))) return { error: `tgtd control socket ${socketFiles[0] ?? ''} exists already`, retry: true };
  const w = new Watched(spawn(opts.tgtd, ['-f', '-C', String(control), '--iscsi', `portal=${LOOPBACK}:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const spawnError = new Promise<string>((resolve) => w.child.on('error', (e) => { resolve(e.message); }));
  const adm = (...args: string[]): ReturnType<typeof runTool> => runTool(opts.tgtadm, ['-C', String(control), ...args]);
  let stopping = false;
  // Only once our tgtd has answered: a tgtd that exits at start may have met another one's socket.
  let ownsSocket = false;
  const removeSocket = (): void => {
    if (!ownsSocket) return;
    for (const f of socketFiles) rmSync(f, { force: true });
  };
  // Interrupted while it starts: the socket files it may have made are its own (none were there before it).
  opts.onSpawn?.(() => {
    stopping = true;
    ownsSocket = true;
    w.child.kill('SIGKILL');
    removeSocket();
  });

  const stop = async (): Promise<string | undefined> => {
    const ended = w.exit();
    if (ended !== undefined) {
      removeSocket();
      return stopping ? undefined : `tgtd ${exitText(ended)} before it was stopped: ${w.said()}`;
    }
    stopping = true;
    await adm('--lld', 'iscsi', '--mode', 'target', '--op', 'delete', '--force', '--tid', String(TGT_TID));
    await adm('--mode', 'system', '--op', 'delete');
    if (!(await w.exitsWithin(STOP_TIMEOUT_MS))) {
      w.child.kill('SIGKILL'); // tgtd not leaving on request is its known habit, not a benchmark failure
      await w.exited;
    }
    removeSocket();
    return undefined;
  };
  const fail = async (error: string, retry = false): Promise<TargetFailure & { retry: boolean }> => {
    await stop();
    return { error, retry };
  };

  // Up when tgtadm can talk to it; gone early when another tgtd holds the control socket.
  const deadline = Date.now() + TGTD_UP_TIMEOUT_MS;
  for (;;) {
    const why = await Promise.race([spawnError, sleep(100).then(() => undefined)]);
    if (why !== undefined) return { error: `cannot start ${opts.tgtd}: ${why}`, retry: false };
    const ended = w.exit();
    if (ended !== undefined) return { error: `tgtd ${exitText(ended)} at start: ${w.said()}`, retry: true };
    if ((await adm('--lld', 'iscsi', '--mode', 'target', '--op', 'show')).code === 0) {
      ownsSocket = true;
      break;
    }
    if (Date.now() > deadline) return fail(`tgtd did not answer tgtadm within ${TGTD_UP_TIMEOUT_MS / 1000} s: ${w.said()}`);
  }

  const steps: readonly (readonly string[])[] = [
    ['--lld', 'iscsi', '--mode', 'target', '--op', 'new', '--tid', String(TGT_TID), '--targetname', opts.targetName],
    ['--lld', 'iscsi', '--mode', 'logicalunit', '--op', 'new', '--tid', String(TGT_TID), '--lun', String(TGT_LUN), '--backing-store', opts.image],
    ['--lld', 'iscsi', '--mode', 'target', '--op', 'bind', '--tid', String(TGT_TID), '--initiator-address', 'ALL'],
  ];
  for (const step of steps) {
    const r = await adm(...step);
    if (r.code !== 0) return fail(`tgtadm ${step.join(' ')} failed: ${r.output}`);
  }
  while (!(await portAccepts(port))) {
    if (w.exit() !== undefined || Date.now() > deadline) return fail(`tgtd is not accepting connections on ${LOOPBACK}:${port}: ${w.said()}`);
    await sleep(100);
  }
  return {
    url: `iscsi://${LOOPBACK}:${port}/${opts.targetName}/${TGT_LUN}`,
    pid: w.child.pid ?? -1,
    died: () => {
      const e = w.exit();
      return e === undefined || stopping ? undefined : `tgtd ${exitText(e)}: ${w.said()}`;
    },
    stop,
  };
}

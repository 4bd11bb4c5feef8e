// `vtcam serve`: a virtio-blk disk behind the CAM stack, exported as LUN 0 of
// an iSCSI target. Prints where it listens and how to connect, then a READY
// line (the contract scripts wait for), and serves until SIGINT or SIGTERM:
// the server stops accepting connections and lets the commands in flight
// complete, the image is flushed, the stack is closed (on transport worker
// that ends the device worker threads), exit 0. A second signal during that
// exits at once with 128 + its number (130 for Ctrl-C). A device lost while
// serving (a device worker that died or hung, a reset stuck on the backend) is
// said on stderr: nothing brings it back but a restart.

import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { isIPv6 } from 'node:net';
import { IscsiServer, type IscsiServerOptions, type IscsiTargetConfig } from '../iscsi/server.js';
import { createStack, type Stack } from '../stack.js';
import { AsyncCode } from '../cam/async.js';
import { FileBackend, type FileBackendIo } from '../virtio/device/backends/file.js';
import { DEFAULT_SYNC_GATE, type SyncGateClose } from '../virtio/device/backends/sync-gate.js';
import { MemoryBackend } from '../virtio/device/backends/memory.js';
import { SharedMemoryBackend } from '../virtio/device/backends/shared-memory.js';
import { ThrottledBackend } from '../virtio/device/backends/throttled.js';
import { WorkerTransport } from '../virtio/transport/worker.js';
import type { BlockBackend } from '../virtio/device/backend.js';
import { VIRTIO_BLK_SUPPORTED_FEATURES } from '../virtio/device/blk-device.js';
import { VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES, featureMask } from '../virtio/blk-features.js';
import { devlistLine } from './camcontrol.js';
import { formatBytes } from './demo.js';
import { DEFAULT_SERVE_SIZE, READY_PREFIX, SERVE_MAX_TRANSFER, type ServeArgs } from './serve-args.js';
import type { CliIo } from './io.js';
import { imageFailure, imageNotFound } from './image-error.js';
import { shellWord } from './shell-word.js';
import { imageSerial } from './unit-serial.js';

/** The part of a running {@link IscsiServer} that serve uses. */
export type ServingTarget = Pick<IscsiServer, 'address' | 'sessions' | 'close'>;

export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

/** What serve needs from the process; tests pass their own. */
export interface ServeEnv {
  /** Starts listening; rejects with the socket error (EADDRINUSE, …) when it cannot. */
  listen(opts: IscsiServerOptions): Promise<ServingTarget>;
  /** Calls `handler` for each SIGINT/SIGTERM until the returned function is called. */
  onSignal(handler: (signal: ShutdownSignal) => void): () => void;
  /** Ends the process now, whatever is still running (the second Ctrl-C). */
  exit(code: number): void;
}

export const processServeEnv: ServeEnv = {
  listen: (opts) => IscsiServer.listen(opts),
  onSignal(handler) {
    const on = (signal: ShutdownSignal): void => {
      handler(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    return () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
  },
  exit: (code) => process.exit(code),
};

/**
 * Device features offered. A fully provisioned unit gets neither discard nor
 * write-zeroes: the device model allows write-zeroes to unmap, so either one
 * would make the unit report LBPME (and UNMAP or WRITE SAME with UNMAP).
 */
export function deviceFeatures(thin: boolean): bigint {
  return thin ? VIRTIO_BLK_SUPPORTED_FEATURES : VIRTIO_BLK_SUPPORTED_FEATURES & ~featureMask(VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES);
}

interface Disk {
  readonly backend: BlockBackend;
  readonly label: string;
  /** The image file's own serial (imageSerial); undefined for a memory disk, which takes the device's random one. */
  readonly serial: string | undefined;
}

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** What the banner says of each FileBackend io mode on transport local. */
const IO_LABEL: Readonly<Record<FileBackendIo, string>> = {
  async: '',
  sync: ' (io sync: pread/pwrite on the event loop)',
  auto: ' (io auto: on the event loop while the page cache answers)',
};

/** The log line when --io auto turns to the thread pool (SyncGateOptions.onClose). */
export function syncGateClosed(c: SyncGateClose): string {
  return `io auto: ${c.slow} of the last ${c.ops} image reads and writes took over ${DEFAULT_SYNC_GATE.slowBaseMs * 1000} µs, ` +
    `${c.slowMs.toFixed(1)} ms in all (not from the page cache); using the thread pool for ${c.backoffMs / 1000} s`;
}

async function openDisk(args: ServeArgs, io: CliIo): Promise<Disk | undefined> {
  if (args.image === undefined) {
    const medium = { blocks: (args.size ?? DEFAULT_SERVE_SIZE) / args.blockSize, blockSize: args.blockSize, readOnly: args.readOnly };
    if (args.transport === 'local') return { backend: new MemoryBackend(medium), label: 'memory (sparse)', serial: undefined };
    // Device workers need a medium they can map too. Its pages are committed as
    // they are first written (the OS zero-fills a SharedArrayBuffer lazily), so
    // an unwritten disk costs little; parsing already refused sizes it cannot hold.
    try {
      return { backend: new SharedMemoryBackend(medium), label: 'shared memory (sparse)', serial: undefined };
    } catch (e) {
      io.error(`cannot allocate the memory disk: ${errorText(e)}; try a smaller --size or serve an image file with --image PATH`);
      return undefined;
    }
  }
  const path = args.image;
  const existing = await stat(path).then(
    (s) => s.size,
    (e: unknown) => (errorCode(e) === 'ENOENT' ? undefined : -1),
  );
  if (existing === undefined && args.size === undefined) {
    io.error(await imageNotFound(path, { creates: true }));
    return undefined;
  }
  if (existing !== undefined && existing >= 0 && args.size !== undefined && existing !== args.size) {
    io.error(`image ${path} exists (${existing} bytes); --size is ignored`);
  }
  // A device worker opens its own handle, and a limited disk waits between requests (ThrottledBackend has no
  // synchronous forms): either way this handle's I/O goes through the thread pool, and the banner should say so.
  const fileIo = args.transport === 'local' && args.maxBandwidth === undefined ? args.io : 'async';
  const b = await FileBackend.open(path, {
    lock: true,
    io: fileIo,
    ...(fileIo === 'auto' ? { syncGate: { onClose: (c: SyncGateClose) => { io.error(syncGateClosed(c)); } } } : {}),
    readOnly: args.readOnly,
    blockSize: args.blockSize,
    ...(args.size === undefined ? {} : { create: { size: args.size } }),
  });
  if (!(b instanceof FileBackend)) {
    io.error(await imageFailure(b, { creates: true, readOnly: args.readOnly }));
    return undefined;
  }
  // From the backend itself: what the banner says is what the device will do.
  const ioLabel = IO_LABEL[b.io];
  // share() gives the device and inode numbers fstat(2) found on this handle: the file opened, whatever its path.
  return { backend: b, label: `file ${path}${existing === undefined ? ' (created sparse)' : ''}${ioLabel}`, serial: imageSerial(b.share()) };
}

/**
 * The disk behind --max-bandwidth's limit, when one is set. Around the opened
 * backend, so the limit covers every path to the medium the device uses; the
 * shutdown flush goes through it too (it moves no data, so costs nothing).
 */
function limitBandwidth(disk: Disk, bytesPerSecond: number | undefined): Disk {
  return bytesPerSecond === undefined ? disk : { ...disk, backend: new ThrottledBackend(disk.backend, { bytesPerSecond }) };
}

/** Why listen failed, by socket error code, in words that say what to do; `where` is ADDR:PORT, an IPv6 address in brackets. */
const LISTEN_FAILURES: Readonly<Partial<Record<string, (args: ServeArgs, where: string) => string>>> = {
  EADDRINUSE: (a) => `port ${a.port} on ${a.address} is already in use (another iSCSI target?); stop it or pick another with --port (--port 0 takes any free one)`,
  EACCES: (_a, where) => `no permission to listen on ${where} (ports below 1024 need privileges); pick another with --port`,
  EADDRNOTAVAIL: (a) => `${a.address} is not an address of this machine; pass one it has with --address (default 127.0.0.1)`,
};

/** An IPv6 link-local address (fe80::/10) without the %interface that says which link. */
const unscopedLinkLocal = (address: string): boolean => isIPv6(address) && /^fe[89ab][0-9a-f]:/i.test(address) && !address.includes('%');

function listenFailure(e: unknown, args: ServeArgs): string {
  const code = errorCode(e);
  // bind(2) refuses a link-local address with no interface: each link has its own fe80::/10.
  if (code === 'EINVAL' && unscopedLinkLocal(args.address)) {
    return `${args.address} is a link-local address, which needs its interface: --address ${args.address}%IFACE (such as %eth0; ip -6 addr lists them)`;
  }
  const words = LISTEN_FAILURES[code ?? ''];
  const where = `${isIPv6(args.address) ? `[${args.address}]` : args.address}:${args.port}`;
  return words === undefined ? `cannot listen on ${where}: ${errorText(e)}` : words(args, where);
}

/** Host part of a URL: IPv6 in brackets; the unspecified address becomes loopback, which is what a local initiator can reach. */
function urlHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return isIPv6(address) ? `[${address}]` : address;
}

function describeAuth(args: ServeArgs): string {
  const c = args.chap;
  if (c === undefined) return 'none: any initiator may log in';
  return c.mutualUser === undefined ? `CHAP, initiator user ${c.user}` : `CHAP, initiator user ${c.user}; mutual, the target answers as ${c.mutualUser}`;
}

/** The banner's virtio line: where the device runs (how many device threads the stack started), and its request queues. */
function describeTransport(stack: Stack, args: ServeArgs): string {
  const queues = `${args.queues} queue${args.queues === 1 ? '' : 's'} × ring ${args.queueSize}`;
  const t = stack.virtio.transport;
  if (!(t instanceof WorkerTransport)) return `transport local (device on the main thread) · ${queues}`;
  const threads = `${t.threads.length} device worker thread${t.threads.length === 1 ? '' : 's'}`;
  return `transport worker (${threads}${args.pollUs === undefined || args.pollUs === 0 ? '' : `, polling ${args.pollUs} µs before sleeping`}) · ${queues}`;
}

/**
 * How qemu reaches the target. Its iscsi driver parses libiscsi's URL (libiscsi README, "iSCSI URL Format"):
 * the initiator's CHAP credentials before the host, a mutual CHAP target's in its target_user and
 * target_password arguments. That parser decodes neither part and splits them at '@', '%', ':', '?' and '&',
 * and qemu splits -drive at ','; a user name holding one of those goes in libiscsi's environment variables
 * instead, which the same parser reads first.
 */
function qemuLine(c: ServeArgs['chap'], portal: string, targetName: string, libiscsiEnv: string): string {
  const inUrl = c === undefined || [c.user, c.mutualUser ?? ''].every((u) => !/[@%:?&/,]/.test(u));
  const user = c === undefined || !inUrl ? '' : `${c.user}%<secret>@`;
  const mutual = c?.mutualUser === undefined || !inUrl ? '' : `?target_user=${c.mutualUser}&target_password=<mutual secret>`;
  const drive = `file=iscsi://${user}${portal}/${targetName}/0${mutual},format=raw,if=virtio`;
  return `${inUrl ? '' : libiscsiEnv}qemu-system-x86_64 … -drive ${shellWord(drive)}`;
}

/** Where the banner's serial came from: whether it stays the same when serve is run again. */
function serialSource(args: ServeArgs): string {
  if (args.serial !== undefined) return '--serial';
  if (args.image !== undefined) return "the image file's own: the same each time it is served";
  return 'random for this memory disk; --serial sets one';
}

function printBanner(stack: Stack, disk: Disk, args: ServeArgs, server: ServingTarget, io: CliIo): string {
  const { address, port } = server.address;
  const portal = `${urlHost(address)}:${port}`;
  const url = `iscsi://${portal}/${args.targetName}/0`;
  const [dev] = stack.devices();
  const all = address === '0.0.0.0' || address === '::' ? ' (all addresses)' : '';
  io.out(`vtcam serve: iSCSI target listening on ${isIPv6(address) ? `[${address}]` : address}:${port}${all}`);
  io.out(`  target  ${args.targetName}`);
  if (dev !== undefined) {
    io.out(`  LUN 0   ${devlistLine(dev)}`);
    const naa = dev.info.naa === undefined ? '' : `, NAA ${dev.info.naa.toString(16).padStart(16, '0')}`;
    io.out(`  serial  ${dev.serial}${naa} (${serialSource(args)})`);
  }
  const traits = [disk.label, formatBytes(disk.backend.size), args.readOnly ? 'read-only' : 'read-write', args.thin ? 'thin-provisioned' : 'fully provisioned'];
  if (args.physicalBlockSize !== args.blockSize) traits.push(`${formatBytes(args.physicalBlockSize)} physical blocks`);
  if (args.removable) traits.push('removable');
  if (args.taskAbortedStatus) traits.push('task aborted status (TAS 1)');
  // From the backend itself, as the io label: what the banner says is what the device gets.
  if (disk.backend instanceof ThrottledBackend) traits.push(`at most ${formatBytes(disk.backend.bytesPerSecond)}/s`);
  io.out(`  disk    ${traits.join(' · ')}`);
  io.out(`  virtio  ${describeTransport(stack, args)}`);
  io.out(`  auth    ${describeAuth(args)}`);
  io.out(`  loop    ${args.busyPollUs === 0 ? 'sleeps when idle (--busy-poll-us 0)' : `polls ${args.busyPollUs} µs after each PDU before sleeping (--busy-poll-us 0 to save the CPU)`}`);
  io.out('Connect with, for example:');
  const c = args.chap;
  const libiscsiEnv =
    c === undefined
      ? ''
      : `LIBISCSI_CHAP_USERNAME=${shellWord(c.user)} LIBISCSI_CHAP_PASSWORD='<secret>' ${c.mutualUser === undefined ? '' : `LIBISCSI_CHAP_TARGET_USERNAME=${shellWord(c.mutualUser)} LIBISCSI_CHAP_TARGET_PASSWORD='<mutual secret>' `}`;
  io.out(`  ${libiscsiEnv}iscsi-inq ${shellWord(url)}`);
  io.out(`  iscsiadm -m discovery -t sendtargets -p ${shellWord(portal)} && iscsiadm -m node -T ${shellWord(args.targetName)} -p ${shellWord(portal)} --login${c === undefined ? '' : '  (set node.session.auth.* first)'}`);
  io.out(`  ${qemuLine(c, portal, args.targetName, libiscsiEnv)}`);
  io.out('Ctrl-C stops the target.');
  return url;
}

/**
 * Says on stderr when the stack loses its device (AC_LOST_DEVICE), with the
 * transport's reason and what to do. Returns the unsubscribe, to call before
 * close() (detaching the bus posts AC_LOST_DEVICE too).
 */
export function reportDeviceLoss(stack: Stack, io: CliIo): () => void {
  return stack.xpt.onAsync(AsyncCode.LOST_DEVICE, undefined, () => {
    const reason = stack.virtio.transport.lost() ?? 'the device stopped answering';
    // 25h/00h is what passLun answers for a LUN whose device is gone (CAM_DEV_NOT_THERE).
    io.error(`device lost: ${reason}; the LUN answers LOGICAL UNIT NOT SUPPORTED until vtcam serve is restarted`);
  });
}

/** Stops serving in order: no new commands and in-flight ones done, data durable, stack down. */
async function shutdown(server: ServingTarget, stack: Stack, disk: Disk, io: CliIo, quiet: () => void): Promise<number> {
  let status = 0;
  try {
    await server.close();
  } catch (e) {
    io.error(`closing the iSCSI server failed: ${errorText(e)}`);
    status = 1;
  }
  // Straight to the backend, not SYNCHRONIZE CACHE: an initiator may have left
  // the unit reserved or its medium ejected, and the image must be flushed anyway.
  // On transport worker the device workers wrote through descriptors of their
  // own; fsync(2) flushes the file whichever descriptor it is called on, and
  // every write has returned by now (the server let in-flight commands finish).
  if (!disk.backend.readOnly) {
    const flushed = await disk.backend.flush();
    if (flushed !== 'ok') {
      io.error(`flushing the disk failed (${flushed}); recent writes may not be durable`);
      status = 1;
    }
  }
  quiet();
  await stack.close();
  return status;
}

function waitForSignals(server: ServingTarget, stack: Stack, disk: Disk, io: CliIo, env: ServeEnv, quiet: () => void): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const off = env.onSignal((signal) => {
      if (stopping) {
        io.error(`${signal} again: exiting without waiting`);
        off();
        env.exit(128 + constants.signals[signal]);
        return;
      }
      stopping = true;
      const again = signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
      io.error(`${signal}: stopping; ${server.sessions} session(s) finish their commands first (${again} again to force)`);
      void shutdown(server, stack, disk, io, quiet).then((status) => {
        off();
        if (status === 0) io.error('stopped');
        resolve(status);
      });
    });
  });
}

/** virtio-blk size_max for served devices (see runServe). */
const SERVE_SIZE_MAX = 4 * 2 ** 20;
/** Guest memory for served devices: rings, indirect tables and data buffers of concurrent large commands. */
const SERVE_GUEST_MEMORY = 256 * 2 ** 20;

/** Runs `vtcam serve` until a signal stops it; resolves with the exit status. */
export async function runServe(args: ServeArgs, io: CliIo, env: ServeEnv = processServeEnv): Promise<number> {
  const opened = await openDisk(args, io);
  if (opened === undefined) return 1;
  const disk = limitBandwidth(opened, args.maxBandwidth);
  const serial = args.serial ?? disk.serial;
  let stack: Stack;
  try {
    stack = await createStack({
      backend: disk.backend,
      queueSize: args.queueSize,
      transport: args.transport,
      queues: args.queues,
      ...(args.pollUs === undefined ? {} : { pollUs: args.pollUs }),
      // One command may move 32 MiB (initiators such as libiscsi's suite send 32 MiB WRITEs without reading Block
      // Limits): size_max of 4 MiB per segment lets a request carry it; guest memory holds a few of those at once.
      device: {
        blockSize: args.blockSize,
        physicalBlockExp: Math.log2(args.physicalBlockSize / args.blockSize),
        features: deviceFeatures(args.thin),
        sizeMax: SERVE_SIZE_MAX,
        ...(serial === undefined ? {} : { serial }),
      },
      memorySize: SERVE_GUEST_MEMORY,
      emulator: { maxTransferBytes: SERVE_MAX_TRANSFER, ...(args.removable ? { removable: true } : {}), ...(args.taskAbortedStatus ? { taskAbortedStatus: true } : {}) },
    });
  } catch (e) {
    await disk.backend.close();
    io.error(`cannot bring the device up: ${errorText(e)}`);
    return 1;
  }
  const target: IscsiTargetConfig = {
    name: args.targetName,
    luns: [{ lun: 0, pass: stack.pass(0) }],
    ...(args.chap === undefined ? {} : { chap: args.chap }),
  };
  let server: ServingTarget;
  try {
    server = await env.listen({ address: args.address, port: args.port, targets: [target], busyPollUs: args.busyPollUs, connectionLimit: args.maxConnections, ...(args.dataOutBudget === undefined ? {} : { dataOutBudget: args.dataOutBudget }), ...(args.negotiation === undefined ? {} : { negotiation: args.negotiation }), log: (line) => {
        io.error(line);
      },
    });
  } catch (e) {
    io.error(listenFailure(e, args));
    await stack.close();
    return 1;
  }
  const url = printBanner(stack, disk, args, server, io);
  const quiet = reportDeviceLoss(stack, io);
  io.out(`${READY_PREFIX}${url}`);
  return waitForSignals(server, stack, disk, io, env, quiet);
}

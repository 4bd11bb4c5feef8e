// Command-line parsing for `vtcam serve`: which disk to export over iSCSI,
// how the device presents it, where to listen and who may log in. Bad input is
// a value with a message naming the flag; the caller prints it and exits 2.

import { constants as bufferConstants } from 'node:buffer';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { MIN_QUEUE_SIZE, parseSize, queueSizeProblem, repeatedFlag, sizeProblem } from './size.js';
import { MAX_BUSY_POLL_US } from '../iscsi/busy-poll.js';
import { DEFAULT_DATA_OUT_BUDGET } from '../iscsi/data-out-budget.js';
import { chapConfigProblem, type ChapField } from '../iscsi/chap-config.js';
import { DEFAULT_CONNECTION_LIMIT } from '../iscsi/connection-limit.js';
import { serialProblem } from './unit-serial.js';
import { NEGOTIATE_KEY_NAMES, parseNegotiate } from './negotiate-flag.js';
import type { NegotiationOptions } from '../iscsi/server-options.js';
import { checkIscsiName } from '../iscsi/iscsi-name.js';

/** CHAP credentials (RFC 7143 AuthMethod CHAP): the initiator's, and the target's for mutual CHAP. */
export interface ServeChap {
  readonly user: string;
  readonly secret: string;
  readonly mutualUser?: string;
  readonly mutualSecret?: string;
}

/** Where the virtio-blk device runs: createStack's `transport`. */
export type ServeTransport = 'local' | 'worker';
/** How the device reaches an image file on transport local: FileBackend's `io`. */
export type ServeIo = 'auto' | 'async' | 'sync';

export interface ServeArgs {
  /** An image file (file backend), or undefined for a memory disk. */
  readonly image: string | undefined;
  /** Bytes: the memory disk's size, or the size to create a missing image with. */
  readonly size: number | undefined;
  readonly blockSize: 512 | 4096;
  /** Physical block size in bytes: the block size times a power of two (READ CAPACITY (16) LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT). */
  readonly physicalBlockSize: number;
  readonly queueSize: number;
  readonly transport: ServeTransport;
  /** Request queues (VIRTIO_BLK_F_MQ); the SIM spreads commands over them. */
  readonly queues: number;
  /** Transport worker: microseconds an idle device worker polls its doorbell before sleeping; undefined for the stack's default. */
  readonly pollUs: number | undefined;
  /** Microseconds the portal's event loop keeps polling after a PDU in or out (IscsiServerOptions.busyPollUs). */
  readonly busyPollUs: number;
  /** What the target answers in login negotiation (--negotiate KEY=VALUE; IscsiServerOptions.negotiation); undefined for its defaults. */
  readonly negotiation: NegotiationOptions | undefined;
  /** Bytes of WRITE buffers all sessions may hold (IscsiServerOptions.dataOutBudget); undefined for the server's default. */
  readonly dataOutBudget: number | undefined;
  /** TCP connections the portal serves at once (IscsiServerOptions.connectionLimit); one more is refused. */
  readonly maxConnections: number;
  /**
   * Image I/O on transport local: 'auto' (the default), 'async' (the libuv
   * thread pool) or 'sync' (pread/pwrite on the event loop); see DEFAULT_SERVE_IO.
   */
  readonly io: ServeIo;
  /**
   * Bytes per second the disk's reads, writes and write-zeroes may move
   * together (a ThrottledBackend around it), or undefined for no limit.
   */
  readonly maxBandwidth: number | undefined;
  readonly readOnly: boolean;
  /** Thin-provisioned: the device offers discard, so the unit reports LBPME and takes UNMAP. */
  readonly thin: boolean;
  /** The unit reports RMB 1 (a removable medium). */
  readonly removable: boolean;
  /** The device's GET_ID serial, which the unit answers as its serial number and derives its NAA from; undefined: the image file's own, or a random one for a memory disk. */
  readonly serial: string | undefined;
  /**
   * TAS 1 in the Control mode page: a command that another initiator's task
   * management (CLEAR TASK SET, LOGICAL UNIT RESET, PREEMPT AND ABORT …)
   * aborts ends with TASK ABORTED status instead of without a response.
   */
  readonly taskAbortedStatus: boolean;
  readonly address: string;
  readonly port: number;
  readonly targetName: string;
  readonly chap: ServeChap | undefined;
}

export type ParsedServeArgs = { readonly ok: true; readonly args: ServeArgs } | { readonly ok: false; readonly message: string };

/**
 * What `vtcam serve` prints on stdout once it listens, after the banner and
 * nothing after it: `READY iscsi://HOST:PORT/TARGET-IQN/0` (HOST in brackets
 * for IPv6, the loopback address when listening on all addresses, PORT the
 * bound one, so --port 0 can be used). Scripts wait for this line.
 */
export const READY_PREFIX = 'READY ';
export const DEFAULT_TARGET_NAME = 'iqn.2026-11.org.vtcam:disk0';
/** The memory disk when neither --image nor --size says otherwise. */
export const DEFAULT_SERVE_SIZE = 2 ** 30;
/** The iSCSI port IANA registered (what initiators try when a portal names none). */
export const ISCSI_PORT = 3260;
/**
 * The transport when --transport is not given: local, from measurement
 * (`npm run bench -- --iscsi`, and the same iscsi-perf runs against memory
 * disks; 4 KiB random reads, client and target sharing two cores). On an
 * image file worker with one queue is faster at QD 8 (1.3–1.4× local over
 * three runs) but only 0.9–1.5× at QD 1 and 1.0–1.5× at QD 32: its blocking
 * pread in the device thread saves the local FileBackend's libuv thread-pool
 * hop. On the memory disk, the default one, worker is slower: 0.55–0.7×
 * local at QD 1 and 0.7–0.9× at QD 8 and 32, each request paying two
 * cross-thread wake-ups for a copy the event loop does in less time.
 */
export const DEFAULT_SERVE_TRANSPORT: ServeTransport = 'local';
/**
 * Image I/O on transport local when --io is not given: auto. `--io async`
 * goes through libuv's thread pool, so a read that waits for the disk stalls
 * only itself. `--io sync` does pread/pwrite on the event loop: no thread hop
 * per request, about twice the IOPS at QD 8 and 32 when the image is in the
 * page cache (`npm run bench -- --iscsi`), but a request that waits for the
 * disk holds up every session until it is done. `--io auto` is sync while the
 * calls come back at page-cache speed and async for a back-off after a few
 * do not (FileBackend io 'auto', SyncGate), so a cold image costs a few
 * stalls per back-off, not one per request. Device workers (transport
 * worker) always do blocking I/O in their own threads.
 */
export const DEFAULT_SERVE_IO: ServeIo = 'auto';
/** MAXIMUM TRANSFER LENGTH of served LUNs in bytes: 32 MiB, which libiscsi's suite writes in one command. */
export const SERVE_MAX_TRANSFER = 32 * 2 ** 20;
/** Most request queues --queues takes: far more than cores, so the limit never binds a real setup. */
export const MAX_SERVE_QUEUES = 64;
/** Most --poll-us: 10 ms of spinning per idle spell already costs a core for little. */
export const MAX_SERVE_POLL_US = 10_000;
/**
 * --busy-poll-us by default: longer than an initiator's turnaround at queue
 * depth 1 on loopback (about 80 µs on this project's two-core VM), so its next
 * command finds the loop awake; short enough that an idle portal stops
 * spinning at once. See src/iscsi/busy-poll.ts.
 */
export const DEFAULT_SERVE_BUSY_POLL_US = 200;
/**
 * Largest memory disk on transport worker: SharedMemoryBackend spans its medium
 * with one Uint8Array, which V8 caps at buffer.constants.MAX_LENGTH bytes (4 GiB
 * on 64-bit Node 20).
 */
export const MAX_SHARED_MEMORY_DISK = bufferConstants.MAX_LENGTH;

export const SERVE_USAGE = `vtcam serve [options]      export a virtio-blk disk as an iSCSI target (LUN 0);
                           Ctrl-C or SIGTERM stops it cleanly, a second Ctrl-C forces exit
Serve options:
  --image PATH          a disk image (file backend); created sparse when missing and --size is given
  --size SIZE           memory disk size, or the size to create --image with (default 1G)
  --block-size 512|4096 logical block size (default 512)
  --physical-block-size N
                        physical block size, the block size times a power of two (default: the block size)
  --queue-size N        virtqueue size, power of two 4..32768 (default 128)
  --transport local|worker
                        where the virtio-blk device runs: this thread (local) or its queues in
                        worker threads over shared memory (worker) (default ${DEFAULT_SERVE_TRANSPORT})
  --queues N            request queues (VIRTIO_BLK_F_MQ), 1..${MAX_SERVE_QUEUES} (default 1); worker: spread over at most CPUs − 1 threads
  --poll-us N           transport worker: microseconds an idle device worker polls before
                        sleeping, 0..${MAX_SERVE_POLL_US} (default 0: sleep at once)
  --busy-poll-us N      microseconds the event loop keeps polling the sockets after a PDU in or out
                        instead of sleeping: lower latency, at the price of a busy core under a
                        light load; 0..${MAX_BUSY_POLL_US}, 0 turns it off (default ${DEFAULT_SERVE_BUSY_POLL_US})
  --data-out-budget SIZE
                        WRITE buffers all sessions may hold at once, e.g. 512M; a WRITE past it waits
                        for its R2T, one session holds at most half (at least ${SERVE_MAX_TRANSFER / 2 ** 20}M, default ${DEFAULT_DATA_OUT_BUDGET / 2 ** 20}M)
  --negotiate KEY=VALUE what the target answers for a login key, as RFC 7143 spells it, once per key:
                        ${NEGOTIATE_KEY_NAMES.join(', ')}
                        (e.g. --negotiate InitialR2T=No --negotiate MaxOutstandingR2T=4)
  --max-connections N   TCP connections served at once, logging in or in a session; one more is
                        closed as it is accepted, and logged (at least 1, default ${DEFAULT_CONNECTION_LIMIT})
  --io auto|async|sync  transport local, --image: image I/O through the thread pool (async),
                        pread/pwrite on the event loop (sync: faster from the page cache, but a
                        disk wait stalls every session), or sync while the image answers from
                        the page cache and async for a while when it stops (auto) (default ${DEFAULT_SERVE_IO})
  --max-bandwidth RATE  limit the disk's reads, writes and write-zeroes together to RATE bytes per
                        second, e.g. 32M (binary units), as a slower unit would be; transport local
  --read-only           export the disk write-protected
  --thin                thin-provisioned: discard offered, UNMAP and WRITE SAME with UNMAP accepted
  --removable           report a removable medium (RMB 1)
  --serial TEXT         the unit serial number (VPD 80h), which the NAA designator (VPD 83h) is
                        derived from: printable ASCII, 1..20 characters (default: the image
                        file's own, from its device and inode numbers; a memory disk's is random)
  --task-aborted-status
                        TAS 1 (Control mode page): a command another initiator's task management aborts
                        ends with TASK ABORTED status (default: without a response, and a unit attention)
  --address ADDR        IPv4 or IPv6 address to listen on (default 127.0.0.1)
  --port N              TCP port, 0 for any free one (default ${ISCSI_PORT})
  --target-name IQN     the target's iSCSI name (default ${DEFAULT_TARGET_NAME})
  --chap-user NAME      require CHAP: the initiator's user name ...
  --chap-secret SECRET  ... and secret (at least 12 bytes)
  --chap-mutual-user NAME, --chap-mutual-secret SECRET
                        mutual CHAP: the name and secret the target answers with
`;

const FLAGS = {
  image: { type: 'string' },
  size: { type: 'string' },
  'block-size': { type: 'string' },
  'physical-block-size': { type: 'string' },
  'queue-size': { type: 'string' },
  transport: { type: 'string' },
  queues: { type: 'string' },
  'poll-us': { type: 'string' },
  'busy-poll-us': { type: 'string' },
  'data-out-budget': { type: 'string' },
  'max-connections': { type: 'string' },
  negotiate: { type: 'string', multiple: true },
  io: { type: 'string' },
  'max-bandwidth': { type: 'string' },
  'read-only': { type: 'boolean' },
  thin: { type: 'boolean' },
  removable: { type: 'boolean' },
  serial: { type: 'string' },
  'task-aborted-status': { type: 'boolean' },
  address: { type: 'string' },
  port: { type: 'string' },
  'target-name': { type: 'string' },
  'chap-user': { type: 'string' },
  'chap-secret': { type: 'string' },
  'chap-mutual-user': { type: 'string' },
  'chap-mutual-secret': { type: 'string' },
} as const;

/** LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT is 4 bits (SBC-4 READ CAPACITY (16) parameter data). */
const MAX_PHYSICAL_BLOCK_EXP = 15;
/** The flag that sets each CHAP field. */
const CHAP_FLAGS: Readonly<Record<ChapField, string>> = {
  user: '--chap-user',
  secret: '--chap-secret',
  mutualUser: '--chap-mutual-user',
  mutualSecret: '--chap-mutual-secret',
};

function fail(message: string): ParsedServeArgs {
  return { ok: false, message };
}

/** The CHAP flags as the target's CHAP settings (undefined: none given), or why they cannot be (chap-config.ts). */
function checkChap(v: Readonly<Partial<Record<'chap-user' | 'chap-secret' | 'chap-mutual-user' | 'chap-mutual-secret', string>>>): ServeChap | string | undefined {
  const c = { user: v['chap-user'], secret: v['chap-secret'], mutualUser: v['chap-mutual-user'], mutualSecret: v['chap-mutual-secret'] };
  const problem = chapConfigProblem(c, (f) => CHAP_FLAGS[f]);
  if (problem !== undefined) return problem;
  const { user, secret, mutualUser, mutualSecret } = c;
  if (user === undefined || secret === undefined) return undefined;
  return mutualUser === undefined || mutualSecret === undefined ? { user, secret } : { user, secret, mutualUser, mutualSecret };
}

/** --max-bandwidth in bytes per second (undefined when not given), or why it cannot be. */
function checkMaxBandwidth(text: string | undefined, transport: ServeTransport, io: ServeIo | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  const rate = parseSize(text);
  if (rate === undefined) return `--max-bandwidth must be a positive rate in bytes per second such as 32M or 500K, got '${text}'`;
  // The limit is one token bucket in the main thread; device workers open the medium on their own, outside it.
  if (transport === 'worker') return '--max-bandwidth applies to transport local: device workers do their I/O in their own threads, outside the limit (drop --transport worker)';
  // A limited disk must be able to wait between requests, so the device takes its asynchronous path: --io sync or auto would do nothing.
  if (io === 'sync' || io === 'auto') {
    return `--max-bandwidth and --io ${io} do not combine: a limited disk waits between requests, so its I/O goes through the thread pool (drop --io ${io})`;
  }
  return rate;
}

/** Parses the arguments after `serve`. */
export function parseServeCli(argv: readonly string[]): ParsedServeArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: false, strict: true, tokens: true, options: FLAGS });
  } catch (e) {
    return fail(e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e));
  }
  const repeated = repeatedFlag(parsed.tokens, ['negotiate']);
  if (repeated !== undefined) return fail(repeated);
  const v = parsed.values;
  const bs = v['block-size'];
  if (bs !== undefined && bs !== '512' && bs !== '4096') return fail(`--block-size must be 512 or 4096, got '${bs}'`);
  const blockSize = bs === '4096' ? 4096 : 512;
  const pbs = v['physical-block-size'] ?? String(blockSize);
  const physicalBlockSize = Number(pbs);
  const ratio = physicalBlockSize / blockSize;
  if (!/^\d+$/.test(pbs) || !Number.isInteger(ratio) || ratio < 1 || (ratio & (ratio - 1)) !== 0 || ratio > 2 ** MAX_PHYSICAL_BLOCK_EXP) {
    return fail(`--physical-block-size must be the ${blockSize}-byte block size times a power of two up to 2^${MAX_PHYSICAL_BLOCK_EXP}, got '${pbs}'`);
  }
  const qs = v['queue-size'] ?? '128';
  const queueSize = Number(qs);
  const qsProblem = queueSizeProblem(qs, MIN_QUEUE_SIZE.indirect);
  if (qsProblem !== undefined) return fail(qsProblem);
  const transport = v.transport ?? DEFAULT_SERVE_TRANSPORT;
  if (transport !== 'local' && transport !== 'worker') return fail(`--transport must be local or worker, got '${transport}'`);
  const queuesText = v.queues ?? '1';
  const queues = Number(queuesText);
  if (!/^\d+$/.test(queuesText) || queues < 1 || queues > MAX_SERVE_QUEUES) {
    return fail(`--queues must be a whole number of request queues in 1..${MAX_SERVE_QUEUES}, got '${queuesText}'`);
  }
  let pollUs: number | undefined;
  if (v['poll-us'] !== undefined) {
    if (transport !== 'worker') return fail('--poll-us applies to transport worker only (device worker threads), not local; use --transport worker or drop --poll-us');
    pollUs = Number(v['poll-us']);
    if (!/^\d+$/.test(v['poll-us']) || pollUs > MAX_SERVE_POLL_US) {
      return fail(`--poll-us must be a whole number of microseconds in 0..${MAX_SERVE_POLL_US}, got '${v['poll-us']}'`);
    }
  }
  const busyText = v['busy-poll-us'] ?? String(DEFAULT_SERVE_BUSY_POLL_US);
  const busyPollUs = Number(busyText);
  if (!/^\d+$/.test(busyText) || busyPollUs > MAX_BUSY_POLL_US) {
    return fail(`--busy-poll-us must be a whole number of microseconds in 0..${MAX_BUSY_POLL_US} (0: off), got '${busyText}'`);
  }
  const negotiation = v.negotiate === undefined ? undefined : parseNegotiate(v.negotiate);
  if (typeof negotiation === 'string') return fail(negotiation);
  let dataOutBudget: number | undefined;
  if (v['data-out-budget'] !== undefined) {
    dataOutBudget = parseSize(v['data-out-budget']);
    // The budget must hold one command of the LUN's MAXIMUM TRANSFER LENGTH, or such a WRITE could never run.
    if (dataOutBudget === undefined || dataOutBudget < SERVE_MAX_TRANSFER) {
      return fail(`--data-out-budget must be a size of at least ${SERVE_MAX_TRANSFER / 2 ** 20}M (one command of the LUN's maximum transfer), such as 256M or 1G, got '${v['data-out-budget']}'`);
    }
  }
  const connectionsText = v['max-connections'] ?? String(DEFAULT_CONNECTION_LIMIT);
  const maxConnections = Number(connectionsText);
  if (!/^\d+$/.test(connectionsText) || !Number.isSafeInteger(maxConnections) || maxConnections < 1) {
    return fail(`--max-connections must be a whole number of connections, at least 1, got '${connectionsText}'`);
  }
  if (v.image?.length === 0) return fail('--image needs a path');
  const io = v.io ?? DEFAULT_SERVE_IO;
  if (io !== 'auto' && io !== 'async' && io !== 'sync') return fail(`--io must be auto, async or sync, got '${io}'`);
  if (v.io !== undefined && v.image === undefined) return fail('--io applies to an image file (--image PATH); a memory disk is read and written in place');
  if (v.io !== undefined && transport === 'worker') return fail('--io applies to transport local; device workers always do blocking I/O in their own threads (drop --io)');
  // Only an --io given on the command line conflicts: the default yields to the limit.
  const maxBandwidth = checkMaxBandwidth(v['max-bandwidth'], transport, v.io === undefined ? undefined : io);
  if (typeof maxBandwidth === 'string') return fail(maxBandwidth);
  let size: number | undefined;
  if (v.size !== undefined) {
    size = parseSize(v.size);
    if (size === undefined) return fail(sizeProblem('--size', v.size));
    if (size % blockSize !== 0) return fail(`--size ${size} is not a multiple of the ${blockSize}-byte block size`);
    if (transport === 'worker' && v.image === undefined && size > MAX_SHARED_MEMORY_DISK) {
      return fail(
        `--size ${v.size} is more than the ${MAX_SHARED_MEMORY_DISK} bytes a memory disk in shared memory can hold (transport worker); ` +
          'serve a larger disk from a file with --image PATH, or keep it in memory with --transport local',
      );
    }
  }
  const address = v.address ?? '127.0.0.1';
  if (isIP(address) === 0) return fail(`--address must be an IPv4 or IPv6 address such as 127.0.0.1 or ::1, got '${address}'`);
  const portText = v.port ?? String(ISCSI_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) return fail(`--port must be a TCP port in 0..65535 (0 picks a free one), got '${portText}'`);
  const targetName = v['target-name'] ?? DEFAULT_TARGET_NAME;
  const badName = checkIscsiName(targetName);
  if (badName !== undefined) return fail(`--target-name '${targetName}' ${badName}`);
  const chap = checkChap(v);
  if (typeof chap === 'string') return fail(chap);
  const badSerial = v.serial === undefined ? undefined : serialProblem(v.serial);
  if (badSerial !== undefined) return fail(badSerial);
  return {
    ok: true,
    args: {
      image: v.image,
      size,
      blockSize,
      physicalBlockSize,
      queueSize,
      transport,
      queues,
      pollUs,
      busyPollUs,
      negotiation,
      dataOutBudget,
      maxConnections,
      io,
      maxBandwidth,
      readOnly: v['read-only'] === true,
      thin: v.thin === true,
      removable: v.removable === true,
      serial: v.serial,
      taskAbortedStatus: v['task-aborted-status'] === true,
      address,
      port,
      targetName,
      chap,
    },
  };
}

// One soak run: start `vtcam serve` on a scratch image, size the disk with
// READ CAPACITY, run the sessions until the time is up, drain, log out, read
// the whole disk back through a fresh session and check it, stop the target,
// and check the image file itself against the model. With --kill-at the run
// ends instead with a SIGKILL after a SYNCHRONIZE CACHE (kill.ts), and the
// disk, read back from a restarted target, is checked for durability.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SoakOptions } from './args.js';
import { LiveChildren, stopAllOnSignal } from '../conformance/children.js';
import { startServe, type ServeChild } from '../conformance/serve-child.js';
import { Driver } from './driver.js';
import { killAfterSync, type KillOutcome } from './kill.js';
import { classify } from './scsi.js';
import { Tally, findingRecorder, startProgress, summaryText, type ProgressSink } from './report.js';
import { Session } from './session.js';
import type { CommandRequest, CommandResult } from './task.js';
import { ShadowDisk } from './shadow.js';
import { Workload, createRandom, type Geometry } from './workload.js';

export interface SoakIo {
  /** How to start the CLI: [node, dist/cli/main.js], or a test's [node, --import, tsx, src/cli/main.ts]. */
  readonly cli: readonly [string, ...string[]];
  /** Progress and summary. */
  readonly out: ProgressSink;
  /** Shown in the re-run hint. */
  readonly rerunPrefix: string;
  /** A command or TMF unanswered this long is a hang finding (default 60 s). */
  readonly hangMs?: number;
  /**
   * SIGINT or SIGTERM kills every serve the run started (one still starting included), removes the scratch image
   * and exits the process with 128 + the signal (the `npm run soak` runner; a test calling runSoak leaves it off).
   */
  readonly exitOnSignal?: boolean;
}

export interface SoakResult {
  readonly tally: Tally;
  readonly summary: string;
}

const IMAGE_SIZE = '32M';
const HOT_BLOCKS = 2048;
const MAX_TRANSFER_BLOCKS = 256;
const TARGET_NAME = 'iqn.2026-11.org.vtcam:soak';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const HANG_MS = 60_000;
const VERIFY_CHUNK = 256;
const RETRIES = 4;
/** --kill-at: the SIGKILL comes up to this long after SYNCHRONIZE CACHE is answered GOOD, drawn from the seed's own stream. */
const KILL_DELAY_MAX_MS = 300;
const KILL_STREAM = 0x6b696c6c;

/** The soak's own failure to start (not a finding): the runner exits 2 with it. */
export class SoakSetupError extends Error {}

/** Sends a command, and again while the answer says it was not executed (a new nexus's unit attention, BUSY). */
async function untilExecuted(s: Session, req: CommandRequest): Promise<CommandResult | undefined> {
  let r: CommandResult | undefined;
  for (let i = 0; i < RETRIES; i++) {
    r = await (await s.send(req))?.result;
    if (r?.kind !== 'status' || classify(r.status, r.sense).outcome !== 'not-done') return r;
  }
  return r;
}

const resultText = (r: CommandResult | undefined): string => (r?.kind === 'status' ? classify(r.status, r.sense).name : (r?.kind ?? 'not sent'));

interface Probed {
  readonly blocks: number;
  readonly blockLength: number;
  readonly maxCompareAndWrite: number;
  readonly unmap: Geometry['unmap'];
  /** What the banner says about unmapping. */
  readonly unmapText: string;
}

/** INQUIRY with EVPD of `page`, ALLOCATION LENGTH 64: its data, or undefined when the unit does not answer it GOOD. */
async function vpdPage(s: Session, page: number): Promise<Buffer | undefined> {
  const r = await untilExecuted(s, { cdb: Buffer.from([0x12, 0x01, page, 0x00, 0x40, 0x00]), label: `INQUIRY VPD ${page.toString(16)}h`, inLength: 64 });
  return r?.kind === 'status' && r.status === 0 ? r.data : undefined;
}

/**
 * READ CAPACITY (10) for the block count and length; the Block Limits VPD page (B0h) for MAXIMUM COMPARE AND WRITE
 * LENGTH and the UNMAP limits; the Logical Block Provisioning VPD page (B2h) for LBPU, LBPWS, LBPWS10 and LBPRZ (SBC-4).
 * Unmapped blocks read as zeros only with LBPRZ 001b: elsewhere they hold what the model cannot know.
 */
async function probe(s: Session): Promise<Probed> {
  const cap = await untilExecuted(s, { cdb: Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]), label: 'READ CAPACITY (10)', inLength: 8 });
  if (cap?.kind !== 'status' || cap.status !== 0 || cap.data === undefined) throw new SoakSetupError(`READ CAPACITY (10): ${resultText(cap)}`);
  const limits = await vpdPage(s, 0xb0);
  const lbp = await vpdPage(s, 0xb2);
  const flags = lbp?.readUInt8(5) ?? 0;
  const unmaps = (flags & 0xe0) === 0xe0; // LBPU, LBPWS, LBPWS10 (byte 5 bits 7..5)
  const lbprz = (flags >> 2) & 0x07; // LBPRZ (byte 5 bits 4..2)
  const maxLbaCount = limits?.readUInt32BE(20) ?? 0; // MAXIMUM UNMAP LBA COUNT
  const maxDescriptors = limits?.readUInt32BE(24) ?? 0; // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
  const ok = unmaps && maxLbaCount > 0 && maxDescriptors > 0;
  const unmapText = !unmaps ? 'no UNMAP (not thin-provisioned)'
    : !ok ? `no UNMAP (MAXIMUM UNMAP LBA COUNT ${maxLbaCount}, MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT ${maxDescriptors})`
    : `UNMAP up to ${maxLbaCount} blocks in ${maxDescriptors} descriptors, LBPRZ ${lbprz}${lbprz === 1 ? ' (unmapped blocks read as zeros)' : ' (unmapped blocks unchecked)'}`;
  return {
    blocks: cap.data.readUInt32BE(0) + 1, blockLength: cap.data.readUInt32BE(4), maxCompareAndWrite: limits?.readUInt8(5) ?? 0,
    unmap: ok ? { maxLbaCount, maxDescriptors, zeros: lbprz === 1 } : undefined, unmapText,
  };
}

export async function runSoak(opts: SoakOptions, io: SoakIo): Promise<SoakResult> {
  const tally = new Tally();
  const finding = findingRecorder(tally, io.out, opts.seed);
  const sessionCount = opts.sessions ?? 2 + Math.floor(createRandom(opts.seed)() * 3);
  const scratch = mkdtempSync(join(tmpdir(), 'vtcam-soak-'));
  const image = join(scratch, 'soak.img');
  let serve: ServeChild | undefined;
  // Every serve from its spawn on (the restart after --kill-at too): an interrupted run leaves no target listening on its scratch image.
  const children = new LiveChildren();
  const stopHandling = io.exitOnSignal === true ? stopAllOnSignal(children, () => {
    rmSync(scratch, { recursive: true, force: true });
  }) : undefined;
  try {
    const [command, ...prefix] = io.cli;
    const serveLog: string[] = [];
    /** Starts vtcam serve on the image (created at the first start) and resolves with its port, or why it did not start. */
    const start = async (create: boolean): Promise<number | string> => {
      const started = await startServe({
        command,
        args: [...prefix, 'serve', '--image', image, ...(create ? ['--size', IMAGE_SIZE] : []), '--address', '127.0.0.1', '--port', '0', '--target-name', TARGET_NAME, ...opts.serveArgs],
        log: (t) => { serveLog.push(t); },
        readyTimeoutMs: READY_TIMEOUT_MS,
        onSpawn: (child) => {
          children.add(child);
        },
      });
      if ('error' in started) return started.error;
      serve = started;
      return Number(/:(\d+)\//.exec(started.url)?.[1]);
    };
    const port = await start(true);
    if (typeof port === 'string') throw new SoakSetupError(port);
    const hangMs = io.hangMs ?? HANG_MS;
    const newSession = (slot: number, at = port): Session => new Session({ host: '127.0.0.1', port: at, targetName: TARGET_NAME, slot, hangMs, onFinding: finding });

    const prober = newSession(200);
    const why = await prober.login();
    if (why !== undefined) throw new SoakSetupError(`cannot log in to port ${port}: ${why}`);
    const { blocks, blockLength, maxCompareAndWrite, unmap, unmapText } = await probe(prober);
    await prober.logout();
    io.out.write(`soak: seed ${opts.seed}, ${sessionCount} sessions, ${opts.seconds} s${opts.kill ? ' then SIGKILL' : ''}, ${blocks} blocks of ${blockLength} bytes, ` +
      `COMPARE AND WRITE up to ${maxCompareAndWrite}, ${unmapText}; vtcam serve ${opts.serveArgs.join(' ')}\n`);

    const shadow = new ShadowDisk(blocks);
    const sessions = Array.from({ length: sessionCount }, (_, slot) => newSession(slot));
    const deadline = Date.now() + opts.seconds * 1000;
    // --kill-at: `ended` once the sessions are to send nothing new, `killed` once the SIGKILL went (not when the sync before it failed).
    let ended = false;
    let killed = false;
    const stopped = (): boolean => ended || killed || (!opts.kill && Date.now() >= deadline);
    const driver = new Driver({ shadow, tally, blockLength, unmapZeros: unmap?.zeros === true, sessions, finding, stopped, killed: () => killed });
    const geometry: Geometry = { blocks, hot: Math.min(HOT_BLOCKS, blocks), maxBlocks: MAX_TRANSFER_BLOCKS, maxCompareAndWrite, ...(unmap === undefined ? {} : { unmap }) };
    const progress = startProgress(io.out, () =>
      `soak ${Math.max(0, Math.ceil((deadline - Date.now()) / 1000))} s left: ${tally.sent} commands, ${tally.readsChecked} reads checked, ${shadow.uncertainBlocks()} uncertain blocks, ${tally.findings.length} findings`);
    let kill: KillOutcome | undefined;
    try {
      const running = Promise.all(sessions.map((s) => driver.run(s, new Workload(opts.seed, s.slot, geometry))));
      if (opts.kill) {
        await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
        const delayMs = Math.floor(createRandom(opts.seed ^ KILL_STREAM)() * KILL_DELAY_MAX_MS);
        const killer = newSession(202);
        const kwhy = await killer.login();
        const k = kwhy !== undefined ? `the session to kill from cannot log in: ${kwhy}` : await killAfterSync(killer, shadow, delayMs, () => {
          killed = true;
          serve?.kill();
        });
        ended = true;
        if (typeof k === 'string') finding('serve', k);
        else kill = k;
      }
      await running;
      // A session left dropped is reinstated, so the target has ended its old tasks before the read-back.
      if (kill === undefined) {
        for (const s of sessions) {
          if (!s.alive) await driver.login(s);
          await s.logout();
          driver.settleLost(s);
        }
      }
    } finally {
      progress.stop();
      tally.readsOrdered = shadow.orderedReads;
    }

    // After the kill, the disk may hold what the snapshot allows; otherwise, with everything settled, what the model says now.
    let atPort = port;
    let expected = shadow.readSent(0, blocks);
    let where = 'read-back';
    if (kill !== undefined) {
      shadow.readDropped(expected);
      expected = kill.snapshot;
      where = `after SIGKILL ${kill.delayMs} ms after SYNCHRONIZE CACHE GOOD`;
      // stop() after kill() waits for the process to end; what it says is about the kill.
      await serve?.stop(STOP_TIMEOUT_MS);
      serve = undefined;
      const again = await start(false);
      if (typeof again === 'string') finding('serve', `restart after SIGKILL: ${again}`);
      else atPort = again;
      io.out.write(`soak: SIGKILL ${kill.delayMs} ms after SYNCHRONIZE CACHE GOOD; restarted${typeof again === 'string' ? ' (failed)' : ''}, reading the disk back\n`);
    }

    const current = serve;
    if (current !== undefined) {
      const disk = await readBack(newSession(201, atPort), blocks, blockLength);
      if (typeof disk === 'string') finding('serve', disk);
      else for (const m of shadow.readDone(expected, disk, blockLength)) finding('data', `${where}: LBA ${m.lba} ${m.what}`);
      const problem = await current.stop(STOP_TIMEOUT_MS);
      serve = undefined;
      if (problem !== undefined) finding('serve', `${problem}; its last output: ${serveLog.join('').slice(-1000)}`);
      const file = readFileSync(image);
      if (file.length !== blocks * blockLength) finding('serve', `image file is ${file.length} bytes, not ${blocks * blockLength}`);
      else for (const m of shadow.readDone(expected, file, blockLength)) finding('data', `image file after stop${kill === undefined ? '' : ` (${where})`}: LBA ${m.lba} ${m.what}`);
    }
  } finally {
    stopHandling?.();
    serve?.kill();
    rmSync(scratch, { recursive: true, force: true });
  }
  const rerun = `${io.rerunPrefix} --seed ${opts.seed} ${opts.kill ? '--kill-at' : '--seconds'} ${opts.seconds} --sessions ${sessionCount}${opts.serveArgs.map((a) => ` --serve-arg=${a}`).join('')}`;
  const summary = summaryText(tally, opts.seed, rerun);
  io.out.write(summary);
  return { tally, summary };
}

/** Reads the whole disk through a fresh session, or says why it could not. */
async function readBack(verifier: Session, blocks: number, blockLength: number): Promise<Buffer | string> {
  const why = await verifier.login();
  if (why !== undefined) return `read-back session cannot log in: ${why}`;
  const disk = Buffer.alloc(blocks * blockLength);
  for (let lba = 0; lba < blocks; lba += VERIFY_CHUNK) {
    const n = Math.min(VERIFY_CHUNK, blocks - lba);
    const res = await untilExecuted(verifier, { cdb: Buffer.from([0x28, 0, ...u32(lba), 0, n >> 8, n & 0xff, 0]), label: `read-back lba ${lba}`, inLength: n * blockLength });
    if (res?.kind !== 'status' || res.status !== 0 || res.data === undefined) {
      await verifier.drop();
      return `read-back READ lba ${lba} n ${n}: ${resultText(res)}`;
    }
    res.data.copy(disk, lba * blockLength);
  }
  await verifier.logout();
  return disk;
}

const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

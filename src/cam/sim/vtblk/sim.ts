// The vtblk SIM: one virtio-blk device as a CAM bus with one target and one
// LUN. XPT_SCSI_IO runs through the SBC emulator over VirtioBlockCommandSet
// (translate.ts), which spreads requests over the device's request queues
// (VIRTIO_BLK_F_MQ); the descriptor budget the XPT's devq hands out is each
// ring minus a reserve, summed over the queues, less the slack that keeps any
// admitted request within one ring. Cf. FreeBSD
// sys/dev/virtio/scsi/virtio_scsi.c (a SIM over a virtqueue) and
// sys/dev/virtio/block/virtio_blk.c (the request path).
// Spec: VIRTIO 1.2 §5.2, SAM-5 (unit attention, task set full), SPC-5, SBC-4.
//
// Recovery (a CCB timed out, XPT_ABORT of an active CCB, XPT_RESET_DEV,
// XPT_RESET_BUS, the driver found the ring broken): virtio-blk cannot cancel one
// request, so every one is the same device reset, one at a time:
//  1. every active CCB is captured: its emulator answer will be ignored, and it
//     is not completed yet, because the device may still own its guest buffers;
//  2. the SIM queue is frozen and the block set fenced (no new requests);
//  3. driver.restart(): the device reset returns once the device no longer
//     touches memory, then every outstanding request is aborted (which frees its
//     buffers) and the device is initialised again;
//  4. the unit is reset (mode parameters, deferred errors) and every I_T nexus
//     gets one unit attention: 29h/03h after XPT_RESET_DEV, 29h/00h otherwise;
//  5. the captured CCBs complete: the timed-out one CAM_CMD_TIMEOUT, the
//     aborted one CAM_REQ_ABORTED, CCBs caught in flight by a broken ring
//     CAM_UNREC_HBA_ERROR, every other one CAM_REQUEUE_REQ (the XPT re-issues
//     it); then the ABORT/RESET CCBs CAM_REQ_CMP;
//  6. AC_BUS_RESET (timeout, bus reset, broken ring) or AC_SENT_BDR (device
//     reset, abort), and the SIM queue is released.
// A device that fails to initialise again, or whose reset never finishes (the
// transport gives it up, e.g. backend I/O that never ends), is lost: its CCBs
// complete CAM_DEV_NOT_THERE (the victim keeps its timeout), AC_LOST_DEVICE is
// reported, and buffers the device may still write stay quarantined.
//
// PERSISTENT RESERVE OUT PREEMPT AND ABORT (SPC-5; SAM-5 aborting commands)
// aborts the preempted I_T nexuses' CCBs (the emulator's TaskAborter, called
// while the PROUT executes): those waiting in the device queue complete
// CAM_REQ_ABORTED at once (the XPT's abortQueued, as XPT_ABORT does); those
// here may have requests on the ring, which virtio-blk cannot cancel, so they
// are marked and complete CAM_REQ_ABORTED when the device has answered (SAM-5
// lets an aborted command have done part of its work); no device reset. The
// PROUT completes after all of them. A CCB the SIM has handed back unstarted
// (CAM_REQUEUE_REQ for a ring shortage or a recovery, CAM_UNREC_HBA_ERROR for a
// broken ring) is active in the device queue until that completion runs on a
// later turn: it is aborted too, and completes CAM_REQ_ABORTED instead. A
// recovery meanwhile completes a marked CCB CAM_REQ_ABORTED rather than
// re-issuing it, even the one it is for (a timeout gives an aborted command no
// status either), and leaves the waiting PROUT alone (it has nothing on the
// ring, and re-issued it would preempt again). XPT_ABORT_TASK_SET and
// XPT_CLEAR_TASK_SET (SAM-5 task management) abort the same way, the logical
// unit naming whose commands; they complete after all of them. Where the unit
// says so (TAS 1, another I_T nexus's commands), an aborted CCB completes with
// TASK ABORTED status (CAM_SCSI_STATUS_ERROR) instead of CAM_REQ_ABORTED.

import { SbcEmulator, type AbortedCommandEnd, type ExecuteOptions, type SbcEmulatorOptions, type SbcResult, type TaskAbortResult } from '../../../scsi/sbc/emulator.js';
import { UnitAttention } from '../../../scsi/sbc/errors.js';
import { ScsiStatus } from '../../../scsi/status.js';
import type { GuestAllocator } from '../../../virtio/guest-allocator.js';
import type { GuestMemory } from '../../../virtio/guest-memory.js';
import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import {
  AsyncCode,
  CAM_LUN_WILDCARD,
  CAM_TARGET_WILDCARD,
  CamDir,
  CamStatus,
  CcbFlag,
  XptFunc,
  type CamPath,
  type Ccb,
  type PathInq,
  type ScsiIoCcb,
  type Sim,
  type SimHandle,
} from '../../xpt/sim-api.js';
import { VirtioBlockCommandSet } from './translate.js';
import { ActiveCcbs, type ActiveCcb } from './active.js';
import { commandCost, requestCostTable } from './cost.js';
import { setCamOutcome, setScsiOutcome } from './result.js';

/** What the SIM drives: a driver attached to its device, and the guest memory it shares (a LocalVirtioBlk fits). */
export interface VtblkDevice {
  readonly driver: VirtioBlkDriver;
  readonly memory: GuestMemory;
  readonly allocator: GuestAllocator;
}

/** How a {@link VtblkSim} is set up. */
export interface VtblkSimOptions {
  /** Unit number (`vtblk0`, …); default 0. */
  readonly unit?: number;
  /** Request queues to use: the driver's first `queues` (default all it set up). */
  readonly queues?: number;
  /** Descriptors of each queue kept out of the devq budget for flushes the SIM issues on its own; default two flushes' worth. */
  readonly reserve?: number;
  /** The I_T nexus the emulator sees CCBs come from when they name no initiator (CcbInitiator); default `cam`. */
  readonly nexus?: string;
  /** Identity and limits of the logical unit. */
  readonly emulator?: SbcEmulatorOptions;
}

type RecoveryKind = 'timeout' | 'abort' | 'reset-dev' | 'reset-bus' | 'broken';

interface RecoveryRequest {
  readonly kind: RecoveryKind;
  /** The CCB the recovery is for (timeout, abort) and what it completes with. */
  readonly victim?: { readonly ccb: ScsiIoCcb; readonly status: number };
  /** The XPT_ABORT / XPT_RESET_* CCB to complete when done. */
  readonly requester?: Ccb;
}

interface Recovery {
  readonly entries: Active[];
  readonly requesters: Ccb[];
}

/** A PREEMPT AND ABORT's or task management function's wait for the CCBs it aborted here. */
interface AbortWait {
  pending: number;
  resolve: () => void;
}

/** A CCB the SIM is working on. */
interface Active extends ActiveCcb {
  /** Set once a recovery took the CCB over; `final` is what it will complete with. */
  captured: Recovery | undefined;
  final: number;
  /** Set once PREEMPT AND ABORT or task management aborted it: it completes aborted (#finishAborted), and these waits learn of it. */
  aborted: AbortWait[] | undefined;
  /** The SCSI status it then completes with (TASK ABORTED, TAS 1); absent: CAM_REQ_ABORTED, no status. */
  abortStatus?: number;
  /** Set on the PREEMPT AND ABORT itself while it waits for what it aborted. */
  awaits: AbortWait | undefined;
}

/** A CCB handed back unstarted (#giveBack) until its completion runs. */
interface GivenBack extends ActiveCcb {
  /** Set once PREEMPT AND ABORT or task management aborted it, as Active's. */
  aborted: AbortWait[] | undefined;
  abortStatus?: number;
}

/** Marks `e` aborted for `wait`, to end as `how` says: the first abort decides how it ends. */
function markAborted(e: Active | GivenBack, how: AbortedCommandEnd, wait: AbortWait): void {
  if (e.aborted === undefined && how === 'task-aborted') e.abortStatus = ScsiStatus.TASK_ABORTED;
  (e.aborted ??= []).push(wait);
  wait.pending += 1;
}

/** `e` completed: the aborts waiting for it learn so. */
function settleAborts(e: Active | GivenBack): void {
  if (e.aborted === undefined) return;
  for (const w of e.aborted) if (--w.pending === 0) w.resolve();
}

const ASYNC_OF: Readonly<Record<RecoveryKind, AsyncCode>> = {
  timeout: AsyncCode.BUS_RESET,
  'reset-bus': AsyncCode.BUS_RESET,
  broken: AsyncCode.BUS_RESET,
  abort: AsyncCode.SENT_BDR,
  'reset-dev': AsyncCode.SENT_BDR,
};

const NO_DATA = new Uint8Array(0);

/** The virtio-blk SIM. Create with {@link VtblkSim.create}, register with the XPT, then {@link bind} the handle. */
export class VtblkSim implements Sim {
  readonly name = 'vtblk';
  readonly unit: number;
  readonly driver: VirtioBlkDriver;
  readonly bcs: VirtioBlockCommandSet;
  readonly emulator: SbcEmulator;
  /** Descriptors a request with n data buffers costs (CostModel). */
  readonly requestCost: (dataBuffers: number) => number;
  /** Σ over the queues of ring − reserve (the same after every reset: same sizes, same features). */
  readonly #capacity: number;
  readonly #nexus: string;
  /** The execute() options of a command without Data-Out (most of them: one object for all). */
  readonly #noData: ExecuteOptions;
  #handle: SimHandle | undefined;
  #state: 'running' | 'lost' | 'detached' = 'running';
  #readOnly: boolean;
  readonly #active = new ActiveCcbs<Active>();
  /** CCBs of this unit handed back unstarted whose completion has not run yet (a rare path). */
  readonly #givenBack = new ActiveCcbs<GivenBack>();
  #recovery: Recovery | undefined;
  #recovered: Promise<void> = Promise.resolve();
  readonly #pending: RecoveryRequest[] = [];
  /** The CCB whose command the emulator is starting (a TaskAborter call from within it leaves it alone). */
  #starting: Active | undefined;

  private constructor(driver: VirtioBlkDriver, bcs: VirtioBlockCommandSet, emulator: SbcEmulator, reserve: number, opts: VtblkSimOptions) {
    this.unit = opts.unit ?? 0;
    this.driver = driver;
    this.bcs = bcs;
    this.emulator = emulator;
    this.requestCost = requestCostTable(driver, bcs.queueCount, bcs.maxDataSegments);
    // A request goes whole onto one ring, so the devq's single budget must not
    // admit one that fits the sum of the rings' room but no ring. If every ring
    // had fewer than `cost` descriptors of room, the charge would exceed
    // Σ budget − N·(cost − 1); so a budget of Σ budget − (N − 1)·(largest − 1)
    // always leaves some ring room for whatever it admits (pigeonhole). With
    // indirect descriptors every request costs 1 and nothing is given up.
    let capacity = 0;
    for (let q = 0; q < bcs.queueCount; q++) capacity += bcs.ringSize(q) - reserve;
    this.#capacity = capacity - (bcs.queueCount - 1) * (this.requestCost(bcs.maxDataSegments) - 1);
    this.#nexus = opts.nexus ?? 'cam';
    this.#noData = { dataOut: NO_DATA, nexus: this.#nexus };
    this.#readOnly = bcs.readOnly;
    driver.onConfigChange(() => {
      this.#configChanged();
    });
    emulator.onAbortTasks((end) => this.#abortTasks(end));
  }

  /**
   * Builds the SIM over an attached driver: reads the device serial (GET_ID)
   * and sets up the logical unit. Throws RangeError when the options do not fit
   * a ring (the reserve leaves no room for a one-segment request) or name
   * queues the driver did not set up.
   */
  static async create(dev: VtblkDevice, opts: VtblkSimOptions = {}): Promise<VtblkSim> {
    const { driver } = dev;
    const queues = opts.queues ?? driver.queueCount;
    if (!Number.isInteger(queues) || queues < 1 || queues > driver.queueCount) {
      throw new RangeError(`queues must be an integer in 1..${driver.queueCount} (the queues the driver set up), got ${queues}`);
    }
    // Every queue has the same features, so a flush costs the same on each.
    const reserve = opts.reserve ?? 2 * driver.descriptorCost(0, 0);
    // Most data segments whose request still fits the budget of every queue: a request may go to any of them.
    let maxDataSegments = Infinity;
    for (let q = 0; q < queues; q++) {
      const ring = driver.queueSize(q);
      const budget = ring - reserve;
      const smallest = driver.descriptorCost(1, q);
      if (!Number.isInteger(reserve) || reserve < 0 || budget < smallest) {
        throw new RangeError(`reserve ${reserve} leaves ${budget} of the ${ring}-descriptor ring${queues > 1 ? ` of queue ${q}` : ''}; a one-segment request needs ${smallest}`);
      }
      let fit = driver.maxDataBuffers(q);
      while (fit > 1 && driver.descriptorCost(fit, q) > budget) fit--;
      maxDataSegments = Math.min(maxDataSegments, fit);
    }
    const bcs = new VirtioBlockCommandSet({ driver, memory: dev.memory, allocator: dev.allocator, queues, maxDataSegments });
    const emulator = await SbcEmulator.create(bcs, opts.emulator);
    return new VtblkSim(driver, bcs, emulator, reserve, opts);
  }

  /** Attaches the XPT's handle (what registerBus returned). Completions need it. */
  bind(handle: SimHandle): void {
    if (this.#handle !== undefined) throw new Error(`${this.name}${this.unit} is already bound to bus ${this.#handle.bus}`);
    this.#handle = handle;
  }

  /** Active CCBs (for tests and stats). */
  get activeCount(): number {
    return this.#active.size;
  }

  /**
   * The devq budget: what each ring holds beyond its reserve, summed over the
   * queues (requests go to the roomiest), less what guarantees that any
   * request it admits fits one ring (see the constructor).
   */
  capacity(): number {
    return this.#capacity;
  }

  cost(ccb: ScsiIoCcb): number {
    return commandCost(this, ccb.cdb, ccb.dataOut);
  }

  pathInq(): PathInq {
    return {
      simName: this.name,
      unit: this.unit,
      bus: this.#handle?.bus ?? -1,
      maxTarget: 0,
      maxLun: 0,
      maxIoBytes: this.emulator.maxTransferBlocks * this.emulator.geometry.blockSize,
      openings: this.capacity(),
      simVendor: 'vtcam',
      hbaVendor: 'VirtIO',
      tagAble: true,
    };
  }

  action(ccb: Ccb): void {
    if (this.#state !== 'running') {
      this.#finishLater(ccb, CamStatus.DEV_NOT_THERE);
      return;
    }
    switch (ccb.func) {
      case XptFunc.SCSI_IO:
        this.#scsiIo(ccb);
        return;
      case XptFunc.PATH_INQ:
        ccb.result = this.pathInq();
        this.#finishLater(ccb, CamStatus.REQ_CMP);
        return;
      case XptFunc.ABORT: {
        const target = ccb.abort;
        const entry = target.func === XptFunc.SCSI_IO ? this.#active.get(target) : undefined;
        if (entry === undefined) this.#finishLater(ccb, CamStatus.UA_ABORT);
        else this.#requestRecovery({ kind: 'abort', victim: { ccb: entry.ccb, status: CamStatus.REQ_ABORTED }, requester: ccb });
        return;
      }
      case XptFunc.RESET_DEV:
        this.#requestRecovery({ kind: 'reset-dev', requester: ccb });
        return;
      case XptFunc.RESET_BUS:
        this.#requestRecovery({ kind: 'reset-bus', requester: ccb });
        return;
      case XptFunc.IT_NEXUS_LOST:
        // SAM-5 I_T nexus loss, to the logical unit: nothing of the device is touched.
        this.emulator.forgetNexus(ccb.initiatorId);
        this.#finishLater(ccb, CamStatus.REQ_CMP);
        return;
      case XptFunc.ABORT_TASK_SET:
      case XptFunc.CLEAR_TASK_SET: {
        // The logical unit names whose commands end, and how (#abortTasks); done once they all have.
        const aborted = ccb.func === XptFunc.ABORT_TASK_SET ? this.emulator.abortTaskSet(ccb.initiatorId) : this.emulator.clearTaskSet(ccb.initiatorId);
        void aborted.then(() => {
          this.#finish(ccb, CamStatus.REQ_CMP);
        });
        return;
      }
      case XptFunc.NOOP:
      case XptFunc.GDEV_TYPE:
      case XptFunc.GDEV_STATS:
      case XptFunc.SCAN_BUS:
      case XptFunc.SCAN_LUN:
      case XptFunc.REL_SIMQ:
        this.#finishLater(ccb, CamStatus.REQ_INVALID);
        return;
    }
  }

  /** `ccb` outlived its timeout: recover by resetting the device; it completes CAM_CMD_TIMEOUT. */
  timeout(ccb: ScsiIoCcb): void {
    if (this.#active.has(ccb)) this.#requestRecovery({ kind: 'timeout', victim: { ccb, status: CamStatus.CMD_TIMEOUT } });
  }

  /** Completes every active CCB CAM_DEV_NOT_THERE, then resets the device and closes the driver. */
  async detach(): Promise<void> {
    if (this.#state === 'detached') return;
    this.#state = 'detached';
    this.bcs.fence();
    const requesters = [...(this.#recovery?.requesters.splice(0) ?? []), ...this.#pending.splice(0).flatMap((r) => (r.requester === undefined ? [] : [r.requester]))];
    for (const e of this.#active.clear()) {
      this.#finish(e.ccb, CamStatus.DEV_NOT_THERE);
      settleAborts(e);
    }
    for (const r of requesters) this.#finish(r, CamStatus.DEV_NOT_THERE);
    // A reset in progress must end before the driver can be closed under it.
    await this.#recovered;
    await this.driver.close();
    this.bcs.unfence();
  }

  // ---- XPT_SCSI_IO ----

  #scsiIo(ccb: ScsiIoCcb): void {
    const path = ccb.path;
    if (path.target !== 0) {
      this.#finishLater(ccb, CamStatus.SEL_TIMEOUT);
      return;
    }
    if (path.lun !== 0) {
      this.#finishLater(ccb, CamStatus.DEV_NOT_THERE);
      return;
    }
    if (this.#recovery !== undefined) {
      this.#giveBack(ccb, CamStatus.REQUEUE_REQ);
      return;
    }
    // The cost is only looked at when something is wrong: the common case pays two cheap reads.
    const broken = this.driver.broken !== undefined;
    const free = broken ? 0 : this.#unexpectedlyFree();
    if (broken || free !== undefined) {
      const cost = this.cost(ccb);
      if (cost > 0 && broken) {
        this.#giveBack(ccb, CamStatus.UNREC_HBA_ERROR);
        this.#requestRecovery({ kind: 'broken' });
        return;
      }
      if (free !== undefined && free < cost) {
        this.#giveBack(ccb, CamStatus.REQUEUE_REQ, ScsiStatus.TASK_SET_FULL);
        return;
      }
    }
    const entry: Active = { ccb, index: -1, seq: 0, captured: undefined, final: CamStatus.REQUEUE_REQ, aborted: undefined, awaits: undefined };
    this.#active.add(entry);
    const dataOut = (ccb.flags & CcbFlag.DIR_MASK) === CamDir.OUT ? (ccb.dataOut ?? NO_DATA) : NO_DATA;
    // One decode serves both the Data-Out length and the execution.
    const cmd = this.emulator.prepare(ccb.cdb);
    const taken = dataOut.length === 0 ? 0 : cmd.dataOutLength;
    // The callback form: READ and WRITE then take no promise between the ring and the XPT. The emulator
    // reports its own failures as CHECK CONDITION; undefined is a bug below, kept from the initiator.
    // A CCB naming its initiator runs as that I_T nexus; the rest as the SIM's own.
    const who = ccb.initiator;
    const opts = who !== undefined ? { dataOut, nexus: who.id, transportId: who.transportId } : dataOut === NO_DATA ? this.#noData : { dataOut, nexus: this.#nexus };
    this.#starting = entry;
    this.emulator.start(cmd, opts, (r) => {
      this.#answered(entry, r, taken);
    });
    this.#starting = undefined;
  }

  /**
   * The emulator's TaskAborter (PREEMPT AND ABORT, task management): every
   * CCB whose I_T nexus `end` names (a CCB naming no initiator is the SIM's
   * own nexus), but the one starting when a command calls it, ending as `end`
   * says. See the file header.
   */
  #abortTasks(end: (nexus: string) => AbortedCommandEnd | undefined): TaskAbortResult {
    const self = this.#starting;
    const had = new Set<string>();
    const how = (ccb: ScsiIoCcb): AbortedCommandEnd | undefined => {
      const nexus = ccb.initiator?.id ?? this.#nexus;
      const ending = end(nexus);
      if (ending !== undefined) had.add(nexus);
      return ending;
    };
    const wait: AbortWait = { pending: 0, resolve: () => undefined };
    const done = new Promise<void>((r) => {
      wait.resolve = r;
    });
    for (const e of this.#active.values()) {
      const ending = e === self ? undefined : how(e.ccb);
      if (ending === undefined) continue;
      markAborted(e, ending, wait);
      if (e.captured !== undefined) e.final = CamStatus.REQ_ABORTED;
    }
    for (const e of this.#givenBack.values()) {
      const ending = how(e.ccb);
      if (ending !== undefined) markAborted(e, ending, wait);
    }
    if (wait.pending === 0) wait.resolve();
    else if (self !== undefined) self.awaits = wait;
    const handle = this.#bound();
    handle.abortQueued(this.#path(), (ccb) => how(ccb) === 'no-status');
    handle.abortQueued(this.#path(), (ccb) => how(ccb) === 'task-aborted', ScsiStatus.TASK_ABORTED);
    return { nexuses: [...had], done };
  }

  /**
   * Device-side ring shortage: when some queue has fewer descriptors free than
   * our own requests leave on it (someone holds descriptors we do not account
   * for), the most room any one queue has (free, and no more than our charges
   * leave), else undefined. The command is then CAM's QUEUE FULL only if it
   * does not fit in that room; a shortage that still leaves room for it is not
   * a full ring, and the command goes ahead, to the roomiest queue (the block
   * set picks by the same measure). Runs for every CCB: one pass over the
   * queues, nothing allocated.
   */
  #unexpectedlyFree(): number | undefined {
    const bcs = this.bcs;
    let short = false;
    let room = 0;
    for (let q = 0; q < bcs.queueCount; q++) {
      const free = this.driver.freeDescriptors(q);
      const expected = bcs.ringSize(q) - bcs.heldOn(q);
      if (free < expected) short = true;
      room = Math.max(room, Math.min(free, expected));
    }
    return short ? room : undefined;
  }

  #answered(entry: Active, r: SbcResult | undefined, taken: number): void {
    const ccb = entry.ccb;
    // Completed already (recovery, detach) or re-issued since: this answer is stale.
    if (this.#active.get(ccb) !== entry || entry.captured !== undefined) return;
    this.#active.delete(entry);
    if (entry.aborted !== undefined) {
      // Whatever the device did, an aborted command ends as its abort said.
      this.#finishAborted(entry);
      settleAborts(entry);
      if (this.driver.broken !== undefined && r?.status !== ScsiStatus.GOOD) this.#requestRecovery({ kind: 'broken' });
      return;
    }
    if (r === undefined) {
      this.#finish(ccb, CamStatus.REQ_CMP_ERR);
      return;
    }
    if (this.driver.broken !== undefined && r.status !== ScsiStatus.GOOD) {
      // The ring broke under it: the sense would blame the medium for the transport's fault.
      this.#finish(ccb, CamStatus.UNREC_HBA_ERROR);
      this.#requestRecovery({ kind: 'broken' });
      return;
    }
    setScsiOutcome(ccb, r, taken);
    this.#done(ccb);
  }

  // ---- recovery ----

  #requestRecovery(req: RecoveryRequest): void {
    const current = this.#recovery;
    if (current !== undefined) {
      const captured = req.victim === undefined ? undefined : this.#active.get(req.victim.ccb);
      if (req.victim !== undefined && captured?.captured === current) {
        // An aborted CCB ends as its abort said (#finishAborted), not with a timeout's status.
        if (captured.aborted === undefined) captured.final = req.victim.status;
        if (req.requester !== undefined) current.requesters.push(req.requester);
        return;
      }
      // A reset in progress already repairs a broken ring.
      if (req.kind !== 'broken') this.#pending.push(req);
      return;
    }
    this.#recovered = this.#recover(req);
  }

  async #recover(req: RecoveryRequest): Promise<void> {
    if (req.victim !== undefined && !this.#active.has(req.victim.ccb)) {
      // The CCB completed before its turn came: nothing left to abort or time out.
      if (req.requester !== undefined) this.#finish(req.requester, CamStatus.UA_ABORT);
      return this.#nextRecovery();
    }
    // A PREEMPT AND ABORT waiting for its aborts has nothing on the ring: it goes on, unless it is the victim.
    const entries = [...this.#active.values()].filter((e) => e.awaits === undefined || e.ccb === req.victim?.ccb);
    const rec: Recovery = { entries, requesters: req.requester === undefined ? [] : [req.requester] };
    for (const e of rec.entries) {
      e.captured = rec;
      // An aborted CCB is not re-issued, and ends as its abort said even as the victim.
      e.final = e.aborted !== undefined ? CamStatus.REQ_ABORTED : req.victim?.ccb === e.ccb ? req.victim.status : CamStatus.REQUEUE_REQ;
    }
    this.#recovery = rec;
    const handle = this.#bound();
    handle.freezeSimq(1);
    this.bcs.fence();
    const failed = await this.driver.restart();
    this.#recovery = undefined;
    if (this.#state === 'detached') {
      // detach() completed everything; only the freeze is left to drop.
      handle.releaseSimq(1, false);
      return;
    }
    const path = this.#path();
    if (failed !== undefined) {
      // Stays fenced: a device lost in its reset may still write the quarantined buffers.
      this.bcs.deviceLost();
      this.#state = 'lost';
      this.#completeCaptured(rec, (e) => (e.final === CamStatus.REQUEUE_REQ ? CamStatus.DEV_NOT_THERE : e.final), CamStatus.REQ_CMP_ERR);
      for (const p of this.#pending.splice(0)) if (p.requester !== undefined) this.#finish(p.requester, CamStatus.DEV_NOT_THERE);
      handle.async(AsyncCode.LOST_DEVICE, path, failed.reason);
      handle.releaseSimq(1, true);
      return;
    }
    this.bcs.unfence();
    const roChanged = this.bcs.readOnly !== this.#readOnly;
    this.#readOnly = this.bcs.readOnly;
    // A config change that came during the recovery was not acted on (#configChanged waits for it): the
    // reset's unit attention covers the initiator, but the XPT must still re-read what changed.
    const changed = this.emulator.refreshGeometry() || roChanged;
    this.emulator.resetLogicalUnit();
    if (req.kind !== 'reset-dev') this.emulator.raiseUnitAttention(UnitAttention.POWER_ON_RESET);
    this.#completeCaptured(rec, (e) => e.final, CamStatus.REQ_CMP);
    const code = ASYNC_OF[req.kind];
    // A bus reset concerns the whole bus (wildcard target and LUN), a device reset the device.
    handle.async(code, code === AsyncCode.BUS_RESET ? { bus: handle.bus, target: CAM_TARGET_WILDCARD, lun: CAM_LUN_WILDCARD } : path);
    if (changed) handle.async(AsyncCode.GETDEV_CHANGED, path);
    handle.releaseSimq(1, true);
    return this.#nextRecovery();
  }

  /** Completes a recovery's CCBs: its victim first, then the rest, then the CCBs that asked for it. */
  #completeCaptured(rec: Recovery, status: (e: Active) => number, requesterStatus: number): void {
    const order = [...rec.entries].sort((a, b) => Number(b.final !== CamStatus.REQUEUE_REQ) - Number(a.final !== CamStatus.REQUEUE_REQ));
    for (const e of order) {
      if (!this.#active.delete(e)) continue;
      if (e.aborted === undefined) this.#finish(e.ccb, status(e));
      else this.#finishAborted(e);
      settleAborts(e);
    }
    for (const r of rec.requesters.splice(0)) this.#finish(r, requesterStatus);
  }

  #nextRecovery(): Promise<void> {
    const next = this.#pending.shift();
    return next === undefined ? Promise.resolve() : this.#recover(next);
  }

  // ---- config changes ----

  /** Capacity, write cache or write protection changed (VIRTIO 1.2 §5.2.4, config change notification). */
  #configChanged(): void {
    if (this.#state !== 'running' || this.#recovery !== undefined) return;
    if (this.driver.broken !== undefined) {
      this.#requestRecovery({ kind: 'broken' });
      return;
    }
    const readOnly = this.bcs.readOnly;
    const roChanged = readOnly !== this.#readOnly;
    this.#readOnly = readOnly;
    const changed = this.emulator.refreshGeometry();
    // Write protection is the WP bit of the mode parameter header.
    if (roChanged) this.emulator.raiseUnitAttention(UnitAttention.MODE_PARAMETERS_CHANGED);
    if ((changed || roChanged) && this.#handle !== undefined) this.#handle.async(AsyncCode.GETDEV_CHANGED, this.#path());
  }

  // ---- completion ----

  #bound(): SimHandle {
    if (this.#handle === undefined) throw new Error(`${this.name}${this.unit} has no XPT handle: bind() what registerBus returned before routing CCBs`);
    return this.#handle;
  }

  #path(): CamPath {
    return { bus: this.#bound().bus, target: 0, lun: 0 };
  }

  #done(ccb: Ccb): void {
    this.#bound().done(ccb);
  }

  /** Completes `ccb` with a CAM status and no SCSI data. */
  #finish(ccb: Ccb, status: number, scsiStatus?: number): void {
    if (ccb.func === XptFunc.SCSI_IO) setCamOutcome(ccb, status, scsiStatus);
    else ccb.status = status;
    this.#done(ccb);
  }

  /** Completes an aborted CCB: CAM_REQ_ABORTED (no status), or with the SCSI status its abort gave it (TASK ABORTED). */
  #finishAborted(e: Active | GivenBack): void {
    if (e.abortStatus === undefined) this.#finish(e.ccb, CamStatus.REQ_ABORTED);
    else this.#finish(e.ccb, CamStatus.SCSI_STATUS_ERROR, e.abortStatus);
  }

  /**
   * #finishLater for an XPT_SCSI_IO of this unit: until the completion runs the
   * CCB is neither here nor waiting in the device queue, so it is kept where
   * #abortTasks finds it; if a PREEMPT AND ABORT marks it meanwhile, it
   * completes CAM_REQ_ABORTED instead (see the file header).
   */
  #giveBack(ccb: ScsiIoCcb, status: number, scsiStatus?: number): void {
    const entry: GivenBack = { ccb, index: -1, seq: 0, aborted: undefined };
    this.#givenBack.add(entry);
    setImmediate(() => {
      this.#givenBack.delete(entry);
      if (entry.aborted === undefined) {
        this.#finish(ccb, status, scsiStatus);
        return;
      }
      this.#finishAborted(entry);
      settleAborts(entry);
    });
  }

  /**
   * Completes a CCB the SIM answers without doing anything, on a later turn:
   * never from inside action() (the XPT may be mid-dispatch), and never in a
   * loop of microtasks that would starve the device of the turns it needs to
   * free the ring a requeued CCB waits for.
   */
  #finishLater(ccb: Ccb, status: number, scsiStatus?: number): void {
    setImmediate(() => {
      this.#finish(ccb, status, scsiStatus);
    });
  }
}

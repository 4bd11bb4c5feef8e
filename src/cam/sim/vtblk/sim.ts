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
// The descriptor budget is budget.ts; a ring fuller than the budget knows is
// ring-shortage.ts; recovery (timeouts, XPT_ABORT, resets, a broken ring, a
// lost device) and config changes are recovery.ts; PREEMPT AND ABORT and
// task-set aborts are aborts.ts; the function codes besides XPT_SCSI_IO are
// other-functions.ts; what the SIM keeps per CCB is entries.ts; the
// completions it owes on a later turn, which detach settles, are deferred.ts.
// This file is the SIM itself: its setup, action() and the XPT_SCSI_IO path
// from the CCB to the emulator and back, and how CCBs complete.

import { SbcEmulator } from '../../../scsi/sbc/emulator.js';
import type { SbcResult } from '../../../scsi/sbc/execute-api.js';
import type { SbcEmulatorOptions } from '../../../scsi/sbc/unit-description.js';
import type { AbortedCommandEnd, TaskAbortResult } from '../../../scsi/sbc/task-abort.js';
import { NEVER_ABORTED } from '../../../scsi/sbc/context.js';
import { ScsiStatus } from '../../../scsi/status.js';
import { ScsiOp } from '../../../scsi/opcodes.js';
import type { GuestAllocator } from '../../../virtio/guest-allocator.js';
import type { GuestMemory } from '../../../virtio/guest-memory.js';
import type { VirtioBlkDriver } from '../../../virtio/blk-driver.js';
import {
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
import { ActiveCcbs } from './active.js';
import { commandCost, requestCostTable } from './cost.js';
import { setCamOutcome, setScsiOutcome } from './result.js';
import { devqCapacity, planRings } from './budget.js';
import type { Active, GivenBack, Recovery } from './entries.js';
import { DeferredCompletions } from './deferred.js';
import { abortCcbs, settleAborts } from './aborts.js';
import { Recoveries, type SimState } from './recovery.js';
import { otherFunction, type FunctionScope } from './other-functions.js';
import { unexpectedlyFree } from './ring-shortage.js';
import type { OperationAborted } from '../../../scsi/sbc/block-command-set.js';

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

const NO_DATA = new Uint8Array(0);

/** Whether an abort has marked the CCB of `e` (start()'s abortedOf: one function for every command). */
const isAborted = (e: Active): boolean => e.aborted !== undefined;

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
  /** start()'s options, filled in for each XPT_SCSI_IO (start() reads them before it returns). */
  readonly #opts: {
    dataOut: Uint8Array;
    nexus: string;
    transportId: Uint8Array | undefined;
    dataIn: Uint8Array | undefined;
    reissued: boolean;
    aborted: OperationAborted;
    readonly abortedOf: (e: Active) => boolean;
  };
  #handle: SimHandle | undefined;
  #state: SimState = 'running';
  readonly #active = new ActiveCcbs<Active>();
  /** Completions owed on a later turn, CCBs handed back unstarted among them (a rare path). */
  readonly #deferred: DeferredCompletions;
  /** The recovery running, if any: read for every CCB, so it lives here (Recoveries sets it). */
  #recovery: Recovery | undefined;
  readonly #recoveries: Recoveries;
  /** What action() hands the function codes besides XPT_SCSI_IO (other-functions.ts): made once. */
  readonly #functions: FunctionScope;
  /** The CCB whose command the emulator is starting (a TaskAborter call from within it leaves it alone). */
  #starting: Active | undefined;

  private constructor(driver: VirtioBlkDriver, bcs: VirtioBlockCommandSet, emulator: SbcEmulator, reserve: number, opts: VtblkSimOptions) {
    this.unit = opts.unit ?? 0;
    this.driver = driver;
    this.bcs = bcs;
    this.emulator = emulator;
    this.requestCost = requestCostTable(driver, bcs.queueCount, bcs.maxDataSegments);
    this.#capacity = devqCapacity(bcs, reserve, this.requestCost);
    this.#nexus = opts.nexus ?? 'cam';
    this.#opts = { dataOut: NO_DATA, nexus: this.#nexus, transportId: undefined, dataIn: undefined, reissued: false, aborted: NEVER_ABORTED, abortedOf: isAborted };
    this.#deferred = new DeferredCompletions({
      finish: (ccb, status, scsiStatus) => {
        this.#finish(ccb, status, scsiStatus);
      },
      finishAborted: (e) => {
        this.#finishAborted(e);
      },
    });
    this.#recoveries = new Recoveries({
      driver,
      bcs,
      emulator,
      active: this.#active,
      recovery: () => this.#recovery,
      setRecovery: (rec) => {
        this.#recovery = rec;
      },
      state: () => this.#state,
      lose: () => {
        this.#state = 'lost';
      },
      handle: () => this.#handle,
      bound: () => this.#bound(),
      path: () => this.#path(),
      finish: (ccb, status) => {
        this.#finish(ccb, status);
      },
      finishAborted: (e) => {
        this.#finishAborted(e);
      },
    });
    this.#functions = {
      emulator,
      active: this.#active,
      recoveries: this.#recoveries,
      pathInq: () => this.pathInq(),
      deferred: this.#deferred,
    };
    driver.onConfigChange(() => {
      this.#recoveries.configChanged();
    });
    emulator.onAbortTasks((end) => this.#abortTasks(end));
    // Called within the start() of the PREEMPT AND ABORT that preempted: its CCB carries them whatever it
    // completes with (aborted while it waits for what it aborted, the preemption stands). Checked to be that
    // command, from that nexus: one the emulator started later, on its own, is named by its GOOD (result.ts).
    emulator.onPreempted((nexuses, from) => {
      const ccb = this.#starting?.ccb;
      if (ccb?.cdb[0] === ScsiOp.PERSISTENT_RESERVE_OUT && (ccb.initiator?.id ?? this.#nexus) === from) ccb.preempted = nexuses;
    });
  }

  /**
   * Builds the SIM over an attached driver: reads the device serial (GET_ID)
   * and sets up the logical unit. Throws RangeError when the options do not fit
   * a ring (the reserve leaves no room for a one-segment request) or name
   * queues the driver did not set up.
   */
  static async create(dev: VtblkDevice, opts: VtblkSimOptions = {}): Promise<VtblkSim> {
    const { driver } = dev;
    const { queues, reserve, maxDataSegments } = planRings(driver, opts.queues, opts.reserve);
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
   * request it admits fits one ring (see devqCapacity).
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
      this.#deferred.later(ccb, CamStatus.DEV_NOT_THERE);
      return;
    }
    if (ccb.func === XptFunc.SCSI_IO) this.#scsiIo(ccb);
    else otherFunction(ccb, this.#functions);
  }

  /** `ccb` outlived its timeout: recover by resetting the device; it completes CAM_CMD_TIMEOUT. */
  timeout(ccb: ScsiIoCcb): void {
    if (this.#active.has(ccb)) this.#recoveries.request({ kind: 'timeout', victim: { ccb, status: CamStatus.CMD_TIMEOUT } });
  }

  /**
   * Completes every active CCB CAM_DEV_NOT_THERE, and every CCB owed a
   * completion on a later turn (deferred.ts), then resets the device and
   * closes the driver.
   */
  async detach(): Promise<void> {
    if (this.#state === 'detached') return;
    this.#state = 'detached';
    this.bcs.fence();
    const requesters = this.#recoveries.takeRequesters();
    for (const e of this.#active.clear()) {
      this.#finish(e.ccb, CamStatus.DEV_NOT_THERE);
      settleAborts(e);
    }
    for (const r of requesters) this.#finish(r, CamStatus.DEV_NOT_THERE);
    this.#deferred.failAll();
    // A reset in progress must end before the driver can be closed under it.
    await this.#recoveries.settled;
    await this.driver.close();
    this.bcs.unfence();
  }

  // ---- XPT_SCSI_IO ----

  #scsiIo(ccb: ScsiIoCcb): void {
    const path = ccb.path;
    if (path.target !== 0) {
      this.#deferred.later(ccb, CamStatus.SEL_TIMEOUT);
      return;
    }
    if (path.lun !== 0) {
      this.#deferred.later(ccb, CamStatus.DEV_NOT_THERE);
      return;
    }
    if (this.#recovery !== undefined) {
      this.#deferred.giveBack(ccb, CamStatus.REQUEUE_REQ);
      return;
    }
    // The cost is only looked at when something is wrong: the common case pays two cheap reads.
    const broken = this.driver.broken !== undefined;
    const free = broken ? 0 : unexpectedlyFree(this.driver, this.bcs);
    if (broken || free !== undefined) {
      const cost = this.cost(ccb);
      if (cost > 0 && broken) {
        this.#deferred.giveBack(ccb, CamStatus.UNREC_HBA_ERROR);
        this.#recoveries.request({ kind: 'broken' });
        return;
      }
      if (free !== undefined && free < cost) {
        this.#deferred.giveBack(ccb, CamStatus.REQUEUE_REQ, ScsiStatus.TASK_SET_FULL);
        return;
      }
    }
    const dataOut = (ccb.flags & CcbFlag.DIR_MASK) === CamDir.OUT ? (ccb.dataOut ?? NO_DATA) : NO_DATA;
    // One decode serves both the Data-Out length and the execution.
    const cmd = this.emulator.prepare(ccb.cdb);
    const taken = dataOut.length === 0 ? 0 : cmd.dataOutLength;
    const entry: Active = { ccb, index: -1, seq: 0, captured: undefined, final: CamStatus.REQUEUE_REQ, aborted: undefined, awaits: undefined, taken };
    this.#active.add(entry);
    // The callback form: READ and WRITE then take no promise between the ring and the XPT. The emulator
    // reports its own failures as CHECK CONDITION; undefined is a bug below, kept from the initiator.
    // A CCB naming its initiator runs as that I_T nexus; the rest as the SIM's own. Data-In room
    // (the transport's) goes without Data-Out. The room is dxferLen bytes even in a longer buffer
    // (cam_ccb.h: dxfer_len bounds what lands at data_ptr): a READ larger than that is read into
    // the emulator's own buffer, and only what fits is copied (result.ts). A CCB a recovery gave
    // back runs as the command it was (ScsiIoCcb.reissued). The emulator asks between the block
    // operations of a long command whether an abort marked the CCB (aborts.ts), and stops it there.
    const who = ccb.initiator;
    const ptr = ccb.dataPtr;
    const room = ptr === undefined || ptr.length === ccb.dxferLen ? ptr : ptr.subarray(0, ccb.dxferLen);
    const opts = this.#opts;
    opts.dataOut = room === undefined ? dataOut : NO_DATA;
    opts.nexus = who === undefined ? this.#nexus : who.id;
    opts.transportId = who?.transportId;
    opts.dataIn = room;
    opts.reissued = ccb.reissued;
    // A READ or WRITE is one block operation and never asks, but the overlap order and the wait for guest
    // memory do (several device threads: its request may wait there); elsewhere no function is made per
    // I/O for it, so on one device thread a READ or WRITE waiting for guest memory is sent once memory frees.
    // One that leaves the emulator's fast path (a range lock to wait for, FUA) asks abortedOf instead.
    opts.aborted = cmd.blockIo && !this.bcs.ordersOverlaps ? NEVER_ABORTED : () => isAborted(entry);
    this.#starting = entry;
    this.emulator.start(cmd, opts, this.#answered, entry);
    this.#starting = undefined;
  }

  /** The emulator's TaskAborter (PREEMPT AND ABORT, task management) over this SIM's CCBs: see aborts.ts. */
  #abortTasks(end: (nexus: string) => AbortedCommandEnd | undefined): TaskAbortResult {
    const result = abortCcbs(end, {
      starting: this.#starting,
      active: this.#active,
      givenBack: this.#deferred.givenBack,
      nexus: this.#nexus,
      abortQueued: (match, scsiStatus) => {
        this.#bound().abortQueued(this.#path(), match, scsiStatus);
      },
    });
    // Marked now: their requests still waiting for guest memory, an overlapping one or earlier writes (a FLUSH) end unsent, as waiting CCBs do.
    this.bcs.dropAborted();
    return result;
  }

  /** The emulator's answer for every XPT_SCSI_IO (one function for all: the entry comes back as start()'s context). */
  readonly #answered = (r: SbcResult | undefined, entry: Active): void => {
    const ccb = entry.ccb;
    // Completed already (recovery, detach) or re-issued since: this answer is stale.
    if (this.#active.get(ccb) !== entry || entry.captured !== undefined) return;
    this.#active.delete(entry);
    if (entry.aborted !== undefined) {
      // Whatever the device did, an aborted command ends as its abort said.
      this.#finishAborted(entry);
      settleAborts(entry);
      if (this.driver.broken !== undefined && r?.status !== ScsiStatus.GOOD) this.#recoveries.request({ kind: 'broken' });
      return;
    }
    if (r === undefined) {
      this.#finish(ccb, CamStatus.REQ_CMP_ERR);
      return;
    }
    if (this.driver.broken !== undefined && r.status !== ScsiStatus.GOOD) {
      // The ring broke under it: the sense would blame the medium for the transport's fault.
      this.#finish(ccb, CamStatus.UNREC_HBA_ERROR);
      this.#recoveries.request({ kind: 'broken' });
      return;
    }
    setScsiOutcome(ccb, r, entry.taken);
    this.#done(ccb);
  };

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
}

// One iSCSI session of the soak initiator on one TCP connection: login, the
// command window, SCSI commands with their Data-Out and Data-In, ABORT TASK,
// LOGICAL UNIT RESET, logout and dropping the connection. It checks the
// target's side of the protocol as it goes (a response for a task that is no
// longer outstanding, Data-In outside the buffer, a Reject) and reports what
// it sees through `onFinding`; what a command's outcome means for the disk is
// the caller's business. Spec: RFC 7143 (§4.2.2 numbering, §6 login, §11 PDUs).

import { connect, type Socket } from 'node:net';
import {
  Op, PduReader, RESERVED_TAG, TmfFunction, dataOut, decodeKeys, encodeKeys, expCmdSNOf, frame, hasStatus, ittOf,
  loginRequest, logoutRequest, maxCmdSNOf, nopOutReply, opcodeOf, scsiCommand, snBefore, statSNOf, tmfRequest, type Pdu, type Sequence,
} from './wire.js';
import type { CommandRequest, CommandResult, Pending, Task } from './task.js';

export interface SessionOptions {
  readonly host: string;
  readonly port: number;
  readonly targetName: string;
  /** Distinguishes the session: its ISID and initiator name; a new login with it reinstates the old session. */
  readonly slot: number;
  /** A command or TMF unanswered this long is reported as a hang. */
  readonly hangMs: number;
  readonly onFinding: (kind: 'protocol' | 'hang', text: string) => void;
}

const LOGIN_TIMEOUT_MS = 15_000;
/** What the initiator offers (RFC 7143 §13); no digests, so PDUs carry none. */
const OPERATIONAL_KEYS = {
  HeaderDigest: 'None', DataDigest: 'None', ErrorRecoveryLevel: '0', MaxConnections: '1', InitialR2T: 'Yes', ImmediateData: 'Yes',
  MaxRecvDataSegmentLength: '262144', MaxBurstLength: '262144', FirstBurstLength: '65536', DefaultTime2Wait: '0', DefaultTime2Retain: '0',
} as const;
/** RFC 7143 §13.12 default when the target does not declare its own. */
const DEFAULT_MRDSL = 8192;
const STAGE_SECURITY = 0;
const STAGE_OPERATIONAL = 1;
const STAGE_FULL_FEATURE = 3;

export class Session {
  readonly slot: number;
  /** Bumped by each login: a result or close from an earlier connection is told apart by it. */
  generation = 0;
  readonly #opts: SessionOptions;
  #socket: Socket | undefined;
  #alive = false;
  #closed: Promise<void> = Promise.resolve();
  #cmdSN = 1;
  #expStatSN = 0;
  #maxCmdSN = 1;
  #nextItt = 1;
  #targetMrdsl = DEFAULT_MRDSL;
  #firstBurst = 0;
  #maxBurst = 0;
  #immediateData = false;
  readonly #tasks = new Map<number, Pending>();
  readonly #tmfs = new Map<number, (response: number | 'lost') => void>();
  #windowWaiters: (() => void)[] = [];
  #onLoginPdu: ((p: Pdu | 'closed') => void) | undefined;
  #onLogoutPdu: ((p: Pdu | 'lost') => void) | undefined;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.slot = opts.slot;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** The commands sent and not yet answered or settled. */
  outstanding(): Task[] {
    return [...this.#tasks.values()];
  }

  /** Connects and logs in (reinstating an earlier session of this slot); resolves with why it failed, or undefined. */
  async login(): Promise<string | undefined> {
    this.generation++;
    const socket = await new Promise<Socket | string>((resolve) => {
      const s = connect(this.#opts.port, this.#opts.host);
      s.once('connect', () => { resolve(s); });
      s.once('error', (e) => { resolve(e.message); });
    });
    if (typeof socket === 'string') return `connect: ${socket}`;
    this.#attach(socket);
    const got = await this.#negotiate();
    this.#onLoginPdu = undefined;
    if (typeof got === 'string') {
      await this.drop();
      return got;
    }
    this.#targetMrdsl = Number(got.get('MaxRecvDataSegmentLength') ?? DEFAULT_MRDSL);
    this.#immediateData = got.get('ImmediateData') === 'Yes';
    this.#firstBurst = Number(got.get('FirstBurstLength') ?? OPERATIONAL_KEYS.FirstBurstLength);
    this.#maxBurst = Number(got.get('MaxBurstLength') ?? OPERATIONAL_KEYS.MaxBurstLength);
    if (got.get('InitialR2T') === 'No') this.#opts.onFinding('protocol', `slot ${this.slot}: InitialR2T=No although the initiator offered Yes (RFC 7143 §13.10: the result is OR)`);
    this.#alive = true;
    return undefined;
  }

  /** Security then operational stage (RFC 7143 §6.3); the keys the target answered, or why it failed. */
  async #negotiate(): Promise<Map<string, string> | string> {
    const isid = Buffer.from([0x80, 0x53, 0x4f, 0x41, 0x4b, this.slot & 0xff]); // Random format (T 10b, §11.12.5), then the slot
    const itt = this.#itt();
    const exchange = (csg: number, nsg: number, keys: Readonly<Record<string, string>>): Promise<Pdu | string> => new Promise((resolve) => {
      const timer = setTimeout(() => { resolve('no Login Response'); }, LOGIN_TIMEOUT_MS);
      this.#onLoginPdu = (p) => {
        clearTimeout(timer);
        resolve(p === 'closed' ? 'connection closed during login' : p);
      };
      this.#send(frame(loginRequest(itt, isid, this.#seq(), csg, nsg), encodeKeys(keys)));
    });
    let stage = STAGE_SECURITY;
    let keys: Readonly<Record<string, string>> = { InitiatorName: `iqn.2026-11.org.vtcam:soak-${this.slot}`, SessionType: 'Normal', TargetName: this.#opts.targetName, AuthMethod: 'None' };
    let offered = false;
    const got = new Map<string, string>();
    for (let round = 0; stage !== STAGE_FULL_FEATURE; round++) {
      if (round > 8) return 'login does not reach full feature phase';
      const r = await exchange(stage, stage === STAGE_SECURITY ? STAGE_OPERATIONAL : STAGE_FULL_FEATURE, keys);
      if (typeof r === 'string') return r;
      const cls = r.bhs.readUInt8(36); // STATUS-CLASS
      if (cls !== 0) return `login refused, status ${cls}/${r.bhs.readUInt8(37)}`;
      for (const [k, v] of decodeKeys(r.data)) got.set(k, v);
      this.#cmdSN = expCmdSNOf(r.bhs);
      this.#maxCmdSN = maxCmdSNOf(r.bhs);
      if ((r.bhs.readUInt8(1) & 0x80) !== 0) stage = r.bhs.readUInt8(1) & 0x03; // T, then NSG
      keys = stage === STAGE_OPERATIONAL && !offered ? OPERATIONAL_KEYS : {};
      if (stage === STAGE_OPERATIONAL) offered = true;
    }
    return got;
  }

  /** Sends a SCSI command once the window allows; the task handle comes first, the result when it is over. */
  async send(req: CommandRequest): Promise<{ readonly task: Task; readonly result: Promise<CommandResult> } | undefined> {
    while (this.#alive && snBefore(this.#maxCmdSN, this.#cmdSN)) await new Promise<void>((r) => this.#windowWaiters.push(r));
    if (!this.#alive) return undefined;
    const itt = this.#itt();
    const out = req.dataOut;
    const dir = out !== undefined ? 'out' : req.inLength !== undefined ? 'in' : 'none';
    let resolve: (r: CommandResult) => void = () => undefined;
    const result = new Promise<CommandResult>((r) => (resolve = r));
    const task: Pending = {
      itt, cmdSN: this.#cmdSN, label: req.label, exposed: false, aborting: false, done: false, request: req, resolve,
      inBuf: req.inLength === undefined ? undefined : Buffer.alloc(req.inLength),
      timer: setTimeout(() => { this.#hung(task); }, this.#opts.hangMs),
    };
    this.#tasks.set(itt, task);
    const edtl = out?.length ?? req.inLength ?? 0;
    const immediate = out !== undefined && this.#immediateData ? Math.min(out.length, this.#firstBurst, this.#targetMrdsl) : 0;
    // InitialR2T=Yes: everything past the immediate data waits for R2Ts, so the command is final.
    const bhs = scsiCommand(itt, this.#seq(), req.cdb, edtl, dir, true);
    this.#cmdSN = (this.#cmdSN + 1) >>> 0;
    this.#send(frame(bhs, immediate > 0 ? out?.subarray(0, immediate) : undefined));
    return { task, result };
  }

  /** Ends a task the caller knows is over without a response (a reset covered it). */
  settleAborted(task: Task): void {
    const t = this.#tasks.get(task.itt);
    if (t === undefined || t.done) return;
    this.#end(t, { kind: 'aborted' });
  }

  /**
   * ABORT TASK; after its response the task is over either way (settled as aborted if nothing answered it).
   * `unanswered` says whether the task was still waiting for its answer when the TMF response came.
   */
  async abortTask(task: Task): Promise<{ readonly response: number | 'lost' | 'skipped'; readonly unanswered: boolean }> {
    if (task.done || task.aborting || !this.#alive) return { response: 'skipped', unanswered: false };
    task.aborting = true;
    const generation = this.generation;
    const response = await this.#tmf(TmfFunction.ABORT_TASK, task);
    const unanswered = !task.done;
    if (response !== 'lost' && generation === this.generation) this.settleAborted(task);
    return { response, unanswered };
  }

  /** LOGICAL UNIT RESET of LUN 0: its response, or 'lost' when the connection went first. */
  lunReset(): Promise<number | 'lost'> {
    return this.#tmf(TmfFunction.LOGICAL_UNIT_RESET);
  }

  /** Logout (close the session): its response, then the connection is closed; outstanding tasks end as aborted. */
  async logout(): Promise<void> {
    if (!this.#alive) return;
    const response = await new Promise<Pdu | 'lost' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => { resolve('timeout'); }, this.#opts.hangMs);
      this.#onLogoutPdu = (p) => { clearTimeout(timer); resolve(p); };
      this.#send(frame(logoutRequest(this.#itt(), this.#seq())));
    });
    this.#onLogoutPdu = undefined;
    if (response === 'timeout') this.#opts.onFinding('hang', `slot ${this.slot}: no Logout Response after ${this.#opts.hangMs / 1000} s (${this.#tasks.size} outstanding)`);
    else if (response !== 'lost' && response.bhs.readUInt8(2) !== 0) this.#opts.onFinding('protocol', `slot ${this.slot}: Logout Response ${response.bhs.readUInt8(2)}`);
    // RFC 7143 §11.14: the Logout Response comes once every task of the connection is over.
    if (response !== 'lost') for (const t of this.#tasks.values()) this.#end(t, { kind: 'aborted' });
    await this.drop();
  }

  /** Destroys the connection (no logout) and waits until it is closed; outstanding tasks end as lost. */
  async drop(): Promise<void> {
    this.#socket?.destroy();
    await this.#closed;
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    socket.setNoDelay(true);
    const reader = new PduReader();
    const generation = this.generation;
    socket.on('data', (chunk: Buffer) => {
      if (generation !== this.generation) return;
      for (const p of reader.push(chunk)) this.#pdu(p);
    });
    socket.on('error', () => undefined);
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        if (generation === this.generation) this.#lost();
        resolve();
      });
    });
  }

  #lost(): void {
    this.#alive = false;
    for (const t of this.#tasks.values()) this.#end(t, { kind: 'lost' });
    for (const r of this.#tmfs.values()) r('lost');
    this.#tmfs.clear();
    const waiters = this.#windowWaiters;
    this.#windowWaiters = [];
    for (const w of waiters) w();
    this.#onLogoutPdu?.('lost');
    this.#onLoginPdu?.('closed');
  }

  #tmf(fn: TmfFunction, ref?: Task): Promise<number | 'lost'> {
    if (!this.#alive) return Promise.resolve('lost');
    const itt = this.#itt();
    return new Promise((resolve) => {
      const what = ref === undefined ? `LOGICAL UNIT RESET` : `ABORT TASK of ${ref.label}`;
      const timer = setTimeout(() => { this.#opts.onFinding('hang', `slot ${this.slot}: ${what}: no response after ${this.#opts.hangMs / 1000} s`); }, this.#opts.hangMs);
      this.#tmfs.set(itt, (r) => { clearTimeout(timer); resolve(r); });
      this.#send(frame(tmfRequest(itt, this.#seq(), fn, ref)));
    });
  }

  #hung(t: Pending): void {
    if (t.done) return;
    if (!t.exposed) this.#opts.onFinding('hang', `slot ${this.slot}: ${t.label} (ITT ${hex(t.itt)}, CmdSN ${t.cmdSN}) unanswered after ${this.#opts.hangMs / 1000} s`);
    void this.abortTask(t);
  }

  #end(t: Pending, r: CommandResult): void {
    if (t.done) return;
    t.done = true;
    clearTimeout(t.timer);
    this.#tasks.delete(t.itt);
    t.resolve(r);
  }

  #pdu(p: Pdu): void {
    const { bhs } = p;
    const op = opcodeOf(bhs);
    if (op === Op.LOGIN_RESPONSE) {
      this.#expStatSN = (statSNOf(bhs) + 1) >>> 0;
      this.#onLoginPdu?.(p);
      return;
    }
    this.#window(bhs);
    switch (op) {
      case Op.SCSI_RESPONSE: this.#status(bhs); this.#response(p, true); return;
      case Op.SCSI_DATA_IN: if (hasStatus(bhs)) this.#status(bhs); this.#response(p, false); return;
      case Op.R2T: this.#r2t(bhs); return;
      case Op.TASK_MGMT_RESPONSE: {
        this.#status(bhs);
        const done = this.#tmfs.get(ittOf(bhs));
        if (done === undefined) { this.#opts.onFinding('protocol', `slot ${this.slot}: TMF Response for unknown ITT ${hex(ittOf(bhs))}`); return; }
        this.#tmfs.delete(ittOf(bhs));
        done(bhs.readUInt8(2));
        return;
      }
      case Op.NOP_IN:
        if (bhs.readUInt32BE(20) !== RESERVED_TAG) this.#send(frame(nopOutReply(bhs, this.#seq()), p.data.length > 0 ? p.data : undefined));
        return;
      case Op.LOGOUT_RESPONSE: this.#status(bhs); this.#onLogoutPdu?.(p); return;
      case Op.ASYNC_MESSAGE: this.#status(bhs); return;
      case Op.REJECT:
        this.#status(bhs);
        this.#opts.onFinding('protocol', `slot ${this.slot}: Reject, reason ${hex(bhs.readUInt8(2))}, of a PDU with opcode ${hex(p.data.length > 0 ? p.data.readUInt8(0) & 0x3f : -1)}`);
        return;
      default:
        this.#opts.onFinding('protocol', `slot ${this.slot}: unexpected opcode ${hex(op)}`);
    }
  }

  #response(p: Pdu, isResponse: boolean): void {
    const { bhs, data } = p;
    const t = this.#tasks.get(ittOf(bhs));
    if (t === undefined) {
      this.#opts.onFinding('protocol', `slot ${this.slot}: ${isResponse ? 'SCSI Response' : 'Data-In'} for ITT ${hex(ittOf(bhs))}, which is not outstanding (answered, or ended by task management)`);
      return;
    }
    if (!isResponse) {
      const offset = bhs.readUInt32BE(40); // BUFFER OFFSET
      if (t.inBuf === undefined || offset + data.length > t.inBuf.length) {
        this.#opts.onFinding('protocol', `slot ${this.slot}: ${t.label}: Data-In at ${offset} + ${data.length} outside the ${t.inBuf?.length ?? 0}-byte buffer`);
      } else data.copy(t.inBuf, offset);
      if (!hasStatus(bhs)) return;
    }
    if (isResponse && bhs.readUInt8(2) !== 0) {
      this.#opts.onFinding('protocol', `slot ${this.slot}: ${t.label}: SCSI Response with iSCSI response ${hex(bhs.readUInt8(2))}`);
    }
    // SENSE LENGTH, then the sense data (RFC 7143 §11.4.7).
    const sense = isResponse && data.length >= 2 ? Buffer.from(data.subarray(2, 2 + data.readUInt16BE(0))) : undefined;
    this.#end(t, { kind: 'status', status: bhs.readUInt8(3), sense, data: t.inBuf });
  }

  #r2t(bhs: Buffer): void {
    const t = this.#tasks.get(ittOf(bhs));
    if (t === undefined) {
      this.#opts.onFinding('protocol', `slot ${this.slot}: R2T for ITT ${hex(ittOf(bhs))}, which is not outstanding`);
      return;
    }
    const out = t.request.dataOut;
    const offset = bhs.readUInt32BE(40);
    const length = bhs.readUInt32BE(44); // DESIRED DATA TRANSFER LENGTH
    // RFC 7143 §13.13: an R2T asks for at most MaxBurstLength.
    if (out === undefined || length === 0 || offset + length > out.length || length > this.#maxBurst) {
      this.#opts.onFinding('protocol', `slot ${this.slot}: ${t.label}: R2T for ${offset} + ${length}: outside the ${out?.length ?? 0}-byte buffer or above MaxBurstLength ${this.#maxBurst}`);
      return;
    }
    const ttt = bhs.readUInt32BE(20);
    let dataSN = 0;
    for (let at = offset; at < offset + length; at += this.#targetMrdsl) {
      const n = Math.min(this.#targetMrdsl, offset + length - at);
      this.#send(frame(dataOut(t.itt, ttt, this.#expStatSN, dataSN++, at, at + n === offset + length), out.subarray(at, at + n)));
      if (t.request.dropInDataOut === true) {
        this.#socket?.destroy();
        return;
      }
    }
  }

  /** StatSN from a PDU that carries one. */
  #status(bhs: Buffer): void {
    const statSN = statSNOf(bhs);
    if (!snBefore(statSN, this.#expStatSN)) this.#expStatSN = (statSN + 1) >>> 0;
  }

  /** ExpCmdSN/MaxCmdSN, RFC 7143 §4.2.2.1: a MaxCmdSN below ExpCmdSN - 1 is ignored. */
  #window(bhs: Buffer): void {
    const exp = expCmdSNOf(bhs);
    const max = maxCmdSNOf(bhs);
    if (snBefore(max, (exp - 1) >>> 0)) return;
    if (snBefore(this.#maxCmdSN, max)) this.#maxCmdSN = max;
    const waiters = this.#windowWaiters;
    this.#windowWaiters = [];
    for (const w of waiters) w();
  }

  #seq(): Sequence {
    return { cmdSN: this.#cmdSN, expStatSN: this.#expStatSN };
  }

  #itt(): number {
    const itt = this.#nextItt;
    this.#nextItt = this.#nextItt >= 0x7fffffff ? 1 : this.#nextItt + 1;
    return itt;
  }

  #send(bytes: Buffer): void {
    if (this.#socket !== undefined && !this.#socket.destroyed) this.#socket.write(bytes);
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;

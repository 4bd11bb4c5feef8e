// One iSCSI session of the soak initiator on one TCP connection: login, the
// command window, SCSI commands with their Data-Out and Data-In, ABORT TASK,
// LOGICAL UNIT RESET, logout and dropping the connection. It checks the
// target's side of the protocol as it goes (a response for a task that is no
// longer outstanding, Data-In outside the buffer, a Reject) and reports what
// it sees through `onFinding`; what a command's outcome means for the disk is
// the caller's business. Spec: RFC 7143 (§4.2.2 numbering, §6 login, §11 PDUs).

import { connect, type Socket } from 'node:net';
import { PLAIN_OFFER, negotiate, offerKeys, type LoginOffer, type Negotiated } from './login.js';
import {
  NO_DIGESTS, Op, PduReader, RESERVED_TAG, TRANSIT, TmfFunction, dataOut, decodeKeys, encodeKeys, expCmdSNOf, frame, hasStatus, ittOf,
  loginRequest, logoutRequest, maxCmdSNOf, nopOutReply, opcodeOf, scsiCommand, snBefore, statSNOf, tmfRequest, type Digests, type Pdu, type Sequence,
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
  #params: Negotiated = negotiate(PLAIN_OFFER, new Map()).params;
  /** Digests apply from the first PDU after the last Login Response, both ways (RFC 7143 §13.1). */
  #digests: Digests = NO_DIGESTS;
  #reader = new PduReader();
  #offer: LoginOffer = PLAIN_OFFER;
  readonly #loginKeys = new Map<string, string>();
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

  /** What the last login negotiated. */
  get params(): Negotiated {
    return this.#params;
  }

  /** The commands sent and not yet answered or settled. */
  outstanding(): Task[] {
    return [...this.#tasks.values()];
  }

  /** Connects and logs in with `offer` (reinstating an earlier session of this slot); resolves with why it failed, or undefined. */
  async login(offer: LoginOffer = PLAIN_OFFER): Promise<string | undefined> {
    this.generation++;
    const socket = await new Promise<Socket | string>((resolve) => {
      const s = connect(this.#opts.port, this.#opts.host);
      s.once('connect', () => { resolve(s); });
      s.once('error', (e) => { resolve(e.message); });
    });
    if (typeof socket === 'string') return `connect: ${socket}`;
    this.#offer = offer;
    this.#loginKeys.clear();
    this.#digests = NO_DIGESTS;
    this.#attach(socket);
    const why = await this.#negotiate();
    this.#onLoginPdu = undefined;
    if (why !== undefined) {
      await this.drop();
      return why;
    }
    const { params, problems } = negotiate(offer, this.#loginKeys);
    for (const p of problems) this.#opts.onFinding('protocol', `slot ${this.slot}: login: ${p}`);
    this.#params = params;
    this.#alive = true;
    return undefined;
  }

  /** Security then operational stage (RFC 7143 §6.3); why it failed, or undefined once in full feature phase. */
  async #negotiate(): Promise<string | undefined> {
    const isid = Buffer.from([0x80, 0x53, 0x4f, 0x41, 0x4b, this.slot & 0xff]); // Random format (T 10b, §11.12.5), then the slot
    const itt = this.#itt();
    const exchange = (csg: number, nsg: number, keys: Readonly<Record<string, string>>): Promise<Pdu | string> => new Promise((resolve) => {
      const timer = setTimeout(() => { resolve('no Login Response'); }, LOGIN_TIMEOUT_MS);
      this.#onLoginPdu = (p) => {
        clearTimeout(timer);
        resolve(p === 'closed' ? 'connection closed during login' : p);
      };
      this.#send(loginRequest(itt, isid, this.#seq(), csg, nsg), encodeKeys(keys));
    });
    let stage = STAGE_SECURITY;
    let keys: Readonly<Record<string, string>> = { InitiatorName: `iqn.2026-11.org.vtcam:soak-${this.slot}`, SessionType: 'Normal', TargetName: this.#opts.targetName, AuthMethod: 'None' };
    let offered = false;
    for (let round = 0; stage !== STAGE_FULL_FEATURE; round++) {
      if (round > 8) return 'login does not reach full feature phase';
      const r = await exchange(stage, stage === STAGE_SECURITY ? STAGE_OPERATIONAL : STAGE_FULL_FEATURE, keys);
      if (typeof r === 'string') return r;
      const cls = r.bhs.readUInt8(36); // STATUS-CLASS
      if (cls !== 0) return `login refused, status ${cls}/${r.bhs.readUInt8(37)}`;
      this.#cmdSN = expCmdSNOf(r.bhs);
      this.#maxCmdSN = maxCmdSNOf(r.bhs);
      if ((r.bhs.readUInt8(1) & TRANSIT) !== 0) stage = r.bhs.readUInt8(1) & 0x03; // NSG
      keys = stage === STAGE_OPERATIONAL && !offered ? offerKeys(this.#offer) : {};
      if (stage === STAGE_OPERATIONAL) offered = true;
    }
    return undefined;
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
      inBuf: req.inLength === undefined ? undefined : Buffer.alloc(req.inLength), dataSN: 0,
      timer: setTimeout(() => { this.#hung(task); }, this.#opts.hangMs),
    };
    this.#tasks.set(itt, task);
    const edtl = out?.length ?? req.inLength ?? 0;
    const { immediateData, initialR2T, firstBurst, targetMrdsl } = this.#params;
    const immediate = out !== undefined && immediateData ? Math.min(out.length, firstBurst, targetMrdsl) : 0;
    // InitialR2T=No: the first burst may go unsolicited after the command, which is then not final (RFC 7143 §11.3.1).
    const unsolicited = out !== undefined && !initialR2T ? Math.min(out.length, firstBurst) - immediate : 0;
    const bhs = scsiCommand(itt, this.#seq(), req.cdb, edtl, dir, unsolicited <= 0, req.attr);
    this.#cmdSN = (this.#cmdSN + 1) >>> 0;
    this.#send(bhs, immediate > 0 ? out?.subarray(0, immediate) : undefined);
    if (unsolicited > 0) this.#sendData(task, RESERVED_TAG, immediate, unsolicited);
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

  /** A function on the task set of LUN 0 (or the target): its response, or 'lost' when the connection went first. */
  taskSetFunction(fn: Exclude<TmfFunction, typeof TmfFunction.ABORT_TASK>): Promise<number | 'lost'> {
    return this.#tmf(fn);
  }

  /** Logout (close the session): its response, then the connection is closed; outstanding tasks end as aborted. */
  async logout(): Promise<void> {
    if (!this.#alive) return;
    const response = await new Promise<Pdu | 'lost' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => { resolve('timeout'); }, this.#opts.hangMs);
      this.#onLogoutPdu = (p) => { clearTimeout(timer); resolve(p); };
      this.#send(logoutRequest(this.#itt(), this.#seq()));
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
    this.#reader = reader;
    const generation = this.generation;
    socket.on('data', (chunk: Buffer) => {
      if (generation === this.generation) reader.push(chunk, (p) => { this.#pdu(p); });
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
      const what = ref === undefined ? `task management function ${fn}` : `ABORT TASK of ${ref.label}`;
      const timer = setTimeout(() => { this.#opts.onFinding('hang', `slot ${this.slot}: ${what}: no response after ${this.#opts.hangMs / 1000} s`); }, this.#opts.hangMs);
      this.#tmfs.set(itt, (r) => { clearTimeout(timer); resolve(r); });
      this.#send(tmfRequest(itt, this.#seq(), fn, ref));
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
    if (p.badDigest !== undefined) this.#opts.onFinding('protocol', `slot ${this.slot}: ${p.badDigest} digest wrong on a PDU with opcode ${hex(op)}`);
    if (op === Op.LOGIN_RESPONSE) {
      this.#expStatSN = (statSNOf(bhs) + 1) >>> 0;
      for (const [k, v] of decodeKeys(p.data)) this.#loginKeys.set(k, v);
      // The last Login Response: digests start with the next PDU, so switch before reading on.
      if ((bhs.readUInt8(1) & TRANSIT) !== 0 && (bhs.readUInt8(1) & 0x03) === STAGE_FULL_FEATURE && bhs.readUInt8(36) === 0) {
        this.#digests = negotiate(this.#offer, this.#loginKeys).params.digests;
        this.#reader.digests = this.#digests;
      }
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
        if (bhs.readUInt32BE(20) !== RESERVED_TAG) this.#send(nopOutReply(bhs, this.#seq()), p.data.length > 0 ? p.data : undefined);
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
      const dataSN = bhs.readUInt32BE(36);
      if (dataSN !== t.dataSN) this.#opts.onFinding('protocol', `slot ${this.slot}: ${t.label}: Data-In DataSN ${dataSN}, expected ${t.dataSN}`);
      t.dataSN = dataSN + 1;
      if (data.length > this.#params.ownMrdsl) this.#opts.onFinding('protocol', `slot ${this.slot}: ${t.label}: Data-In segment of ${data.length} bytes > MaxRecvDataSegmentLength ${this.#params.ownMrdsl}`);
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
    if (out === undefined || length === 0 || offset + length > out.length || length > this.#params.maxBurst) {
      this.#opts.onFinding('protocol', `slot ${this.slot}: ${t.label}: R2T for ${offset} + ${length}: outside the ${out?.length ?? 0}-byte buffer or above MaxBurstLength ${this.#params.maxBurst}`);
      return;
    }
    this.#sendData(t, bhs.readUInt32BE(20), offset, length);
  }

  /** Data-Out for `length` bytes at `offset`, in segments the target takes; `ttt` is the R2T's, or reserved for unsolicited data. */
  #sendData(t: Pending, ttt: number, offset: number, length: number): void {
    const out = t.request.dataOut;
    if (out === undefined) return;
    const segment = this.#params.targetMrdsl;
    let dataSN = 0;
    for (let at = offset; at < offset + length; at += segment) {
      const n = Math.min(segment, offset + length - at);
      this.#send(dataOut(t.itt, ttt, this.#expStatSN, dataSN++, at, at + n === offset + length), out.subarray(at, at + n));
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

  #send(bhs: Buffer, data?: Buffer): void {
    if (this.#socket !== undefined && !this.#socket.destroyed) this.#socket.write(frame(bhs, data, this.#digests));
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;

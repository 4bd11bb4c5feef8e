// Drives the soak's sessions: each runs its workload's decisions against the
// target, every outcome goes into the shadow disk, and every READ's data is
// checked against it. This module also knows what one session's task
// management does to the others': CLEAR TASK SET and the resets end every
// task on the unit, other sessions' ones without a response when TAS is 0
// (SAM-5), and ABORT TASK SET its own session's; so a command outstanding, or
// sent, while such a function was out is "exposed": its silence is no
// finding, and its session asks ABORT TASK about it once the function is
// answered (RFC 7143 §11.6.1: TASK DOES NOT EXIST, or FUNCTION COMPLETE, ends
// it either way).

import type { LoginOffer } from './login.js';
import { SAME_TAG, fillBlock, sameData, writeData } from './pattern.js';
import type { Tally } from './report.js';
import { classify, compareAndWriteCdb, rwCdb, syncCache10Cdb, unmapCommand, writeSameCdb, writeSameUnmapCdb, type Outcome } from './scsi.js';
import type { Session } from './session.js';
import type { CommandRequest, CommandResult, Task, TaskAttribute } from './task.js';
import { readsAsZeros, type Issue, type ShadowDisk, type WriteRecord } from './shadow.js';
import { TmfFunction, TmfResponse } from './wire.js';
import type { Decision, Workload } from './workload.js';

export interface DriverContext {
  readonly shadow: ShadowDisk;
  readonly tally: Tally;
  readonly blockLength: number;
  /** Unmapped blocks read as zeros (LBPRZ 001b). */
  readonly unmapZeros: boolean;
  readonly sessions: readonly Session[];
  readonly finding: (kind: 'data' | 'status' | 'tmf' | 'serve', text: string) => void;
  /** True once the run sends nothing new. */
  readonly stopped: () => boolean;
  /** True once --kill-at has killed the target: a login refused after that is the kill's doing, not a finding. */
  readonly killed: () => boolean;
}

interface TaskSetFunction {
  readonly fn: Exclude<TmfFunction, typeof TmfFunction.ABORT_TASK>;
  readonly name: string;
  /** Reaches other sessions' tasks too (SAM-5: CLEAR TASK SET with a shared task set, the resets), not only its own. */
  readonly everyone: boolean;
}

const TASK_SET_FUNCTIONS: Readonly<Record<'abort-task-set' | 'clear-task-set' | 'lu-reset' | 'target-warm-reset', TaskSetFunction>> = {
  'abort-task-set': { fn: TmfFunction.ABORT_TASK_SET, name: 'ABORT TASK SET', everyone: false },
  'clear-task-set': { fn: TmfFunction.CLEAR_TASK_SET, name: 'CLEAR TASK SET', everyone: true },
  'lu-reset': { fn: TmfFunction.LOGICAL_UNIT_RESET, name: 'LOGICAL UNIT RESET', everyone: true },
  'target-warm-reset': { fn: TmfFunction.TARGET_WARM_RESET, name: 'TARGET WARM RESET', everyone: true },
};

/** A write id the soak never gives out (ids count up from 1): verify data that cannot be on the medium. */
const FOREIGN_ID = 0x7fffffff;
const NEWEST_SHARE = 0.8;
const FOREIGN_FROM = 0.98;

/** A COMPARE AND WRITE's verify data for one block: the newest possible, another possible one, or none of them (undefined). */
function chooseVerify(possible: readonly WriteRecord[], pick: number): WriteRecord | undefined {
  if (pick >= FOREIGN_FROM) return undefined;
  if (pick < NEWEST_SHARE) return possible[possible.length - 1];
  return possible[Math.floor(((pick - NEWEST_SHARE) / (FOREIGN_FROM - NEWEST_SHARE)) * possible.length)];
}

const ATTRIBUTE_NAMES: Readonly<Record<TaskAttribute, string>> = { simple: 'SIMPLE', ordered: 'ORDERED', head: 'HEAD OF QUEUE' };
const attrText = (attr: TaskAttribute): string => (attr === 'simple' ? '' : ` ${ATTRIBUTE_NAMES[attr]}`);

const LOGIN_ATTEMPTS = 20;
const LOGIN_RETRY_MS = 100;

export class Driver {
  readonly #ctx: DriverContext;
  /** Task-set functions out that reach every session's tasks, and per session those that reach only its own. */
  #resetsOut = 0;
  readonly #ownOut = new Map<Session, number>();
  /** Writes whose connection went away, per session: settled once its next login reinstates (ends) the old session. */
  readonly #lost = new Map<Session, WriteRecord[]>();
  readonly #background = new Set<Promise<unknown>>();

  constructor(ctx: DriverContext) {
    this.#ctx = ctx;
  }

  /** Runs one session's workload until the run stops, then waits for everything it started. */
  async run(s: Session, w: Workload): Promise<void> {
    const inflight = new Set<Promise<void>>();
    let depth = 1;
    while (!this.#ctx.stopped()) {
      if (!s.alive) {
        if (!(await this.login(s, w.loginOffer()))) break;
        depth = w.depth();
      }
      while (inflight.size >= depth) await Promise.race(inflight);
      if (!s.alive) continue;
      const d = w.next();
      if (d.kind === 'drop' || d.kind === 'logout') {
        this.#ctx.tally.disruptions[d.kind]++;
        await (d.kind === 'drop' ? s.drop() : s.logout());
        continue;
      }
      const p = this.#decide(s, d);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await Promise.all(inflight);
    while (this.#background.size > 0) await Promise.all(this.#background);
  }

  /** Logs in (again), retrying a while; then the writes lost with the old connection are settled as unknown. */
  async login(s: Session, offer?: LoginOffer): Promise<boolean> {
    let why: string | undefined;
    for (let i = 0; i < LOGIN_ATTEMPTS; i++) {
      why = await s.login(offer);
      if (why === undefined) {
        const { tally } = this.#ctx;
        const p = s.params;
        tally.logins++;
        if (p.digests.header) tally.count(tally.loginKinds, 'header digest');
        if (p.digests.data) tally.count(tally.loginKinds, 'data digest');
        if (!p.initialR2T) tally.count(tally.loginKinds, 'InitialR2T=No');
        if (!p.immediateData) tally.count(tally.loginKinds, 'ImmediateData=No');
        this.settleLost(s);
        return true;
      }
      if (this.#ctx.killed()) return false;
      await new Promise((r) => setTimeout(r, LOGIN_RETRY_MS));
    }
    this.#ctx.finding('serve', `slot ${s.slot}: cannot log in: ${why ?? 'unknown'}`);
    return false;
  }

  /** The session's old tasks are over (reinstated or logged out): what its lost writes did is now fixed, if unknown. */
  settleLost(s: Session): void {
    for (const w of this.#lost.get(s) ?? []) this.#ctx.shadow.writeUnknown(w);
    this.#lost.delete(s);
  }

  #decide(s: Session, d: Decision): Promise<void> {
    switch (d.kind) {
      case 'read': return this.#read(s, d.lba, d.blocks, d.attr);
      case 'write': return this.#write(s, d.lba, d.blocks, d.attr, d.dropInDataOut);
      case 'write-same': return this.#writeSame(s, d.lba, d.blocks, d.attr);
      case 'compare-and-write': return this.#compareAndWrite(s, d.lba, d.verify, d.attr);
      case 'write-same-unmap': return this.#writeSameUnmap(s, d.lba, d.blocks, d.zeros, d.attr);
      case 'unmap': return this.#unmap(s, d.ranges, d.attr);
      case 'sync-cache': return this.#syncCache(s, d.attr, d.immed);
      case 'abort-task': {
        this.#ctx.tally.disruptions['abort-task']++;
        const out = s.outstanding();
        const t = out[d.pick % Math.max(1, out.length)];
        if (t !== undefined) this.#spawn(this.#abort(s, t));
        return Promise.resolve();
      }
      case 'abort-task-set':
      case 'clear-task-set':
      case 'lu-reset':
      case 'target-warm-reset':
        this.#ctx.tally.disruptions[d.kind]++;
        this.#spawn(this.#taskSetFunction(s, TASK_SET_FUNCTIONS[d.kind]));
        return Promise.resolve();
      case 'drop':
      case 'logout':
        throw new RangeError(`${d.kind} is run by the session loop`);
    }
  }

  /** The session's current nexus (a new login is a new one) and the attribute a command is sent with. */
  #issue(s: Session, attr: TaskAttribute): Issue {
    return { nexus: `${s.slot}/${s.generation}`, attr, cmdSN: undefined };
  }

  /**
   * Sends a command of kind `name`; its issue learns its CmdSN if it went out on the nexus it was drawn for. An
   * ORDERED one is a fence for the model (ShadowDisk.orderedSent) until answered: GOOD orders, anything else not.
   */
  async #send(s: Session, name: string, req: CommandRequest, issue: Issue): Promise<CommandResult | undefined> {
    const fence = issue.attr === 'ordered' ? this.#ctx.shadow.orderedSent(issue) : undefined;
    const sent = await s.send({ ...req, attr: issue.attr });
    if (sent === undefined) {
      if (fence !== undefined) this.#ctx.shadow.orderedDone(fence, false);
      return undefined;
    }
    if (issue.nexus === this.#issue(s, issue.attr).nexus) issue.cmdSN = sent.task.cmdSN;
    if (issue.attr !== 'simple') this.#ctx.tally.count(this.#ctx.tally.attributes, `${name} ${ATTRIBUTE_NAMES[issue.attr]}`);
    if (this.#resetsOut > 0 || (this.#ownOut.get(s) ?? 0) > 0) sent.task.exposed = true;
    const res = await sent.result;
    if (fence !== undefined) this.#ctx.shadow.orderedDone(fence, res.kind === 'status' && res.status === 0);
    return res;
  }

  async #read(s: Session, lba: number, blocks: number, attr: TaskAttribute): Promise<void> {
    const { shadow, tally, blockLength } = this.#ctx;
    const label = `READ${attrText(attr)} lba ${lba} n ${blocks}`;
    const issue = this.#issue(s, attr);
    const r = shadow.readSent(lba, blocks, issue);
    const res = await this.#send(s, 'READ', { cdb: rwCdb(false, lba, blocks, lba % 2 === 1), label, inLength: blocks * blockLength }, issue);
    if (res !== undefined) tally.commands.read++;
    if (res === undefined || this.#outcome(s, label, res) !== 'good' || res.kind !== 'status' || res.data === undefined) {
      shadow.readDropped(r);
      return;
    }
    tally.readsChecked++;
    tally.blocksChecked += blocks;
    await shadow.orderSettled(r);
    for (const m of shadow.readDone(r, res.data, blockLength)) this.#ctx.finding('data', `slot ${s.slot} ${label}: LBA ${m.lba} ${m.what}`);
  }

  async #write(s: Session, lba: number, blocks: number, attr: TaskAttribute, dropInDataOut: boolean): Promise<void> {
    const issue = this.#issue(s, attr);
    const w = this.#ctx.shadow.writeSent('write', lba, blocks, issue);
    const label = `WRITE${attrText(attr)} id ${w.id} lba ${lba} n ${blocks}`;
    const data = writeData(w.id, lba, blocks, this.#ctx.blockLength);
    const res = await this.#send(s, 'WRITE', { cdb: rwCdb(true, lba, blocks, lba % 2 === 1), label, dataOut: data, dropInDataOut }, issue);
    this.#ctx.tally.commands.write += res === undefined ? 0 : 1;
    this.#settleWrite(s, [w], label, res);
  }

  async #writeSame(s: Session, lba: number, blocks: number, attr: TaskAttribute): Promise<void> {
    const issue = this.#issue(s, attr);
    const w = this.#ctx.shadow.writeSent('same', lba, blocks, issue);
    const label = `WRITE SAME${attrText(attr)} id ${w.id} lba ${lba} n ${blocks}`;
    const data = sameData(w.id, this.#ctx.blockLength);
    const res = await this.#send(s, 'WRITE SAME', { cdb: writeSameCdb(lba, blocks, lba % 2 === 1), label, dataOut: data }, issue);
    this.#ctx.tally.commands['write-same'] += res === undefined ? 0 : 1;
    this.#settleWrite(s, [w], label, res);
  }

  /** WRITE SAME with UNMAP (SBC-4): each block deallocated or written, and it reads as the data sent either way. */
  async #writeSameUnmap(s: Session, lba: number, blocks: number, zeros: boolean, attr: TaskAttribute): Promise<void> {
    const issue = this.#issue(s, attr);
    const w = this.#ctx.shadow.writeSent(zeros ? 'unmap' : 'same', lba, blocks, issue);
    const label = `WRITE SAME UNMAP${attrText(attr)} id ${w.id} lba ${lba} n ${blocks}${zeros ? ' zeros' : ''}`;
    const data = zeros ? Buffer.alloc(this.#ctx.blockLength) : sameData(w.id, this.#ctx.blockLength);
    const res = await this.#send(s, 'WRITE SAME UNMAP', { cdb: writeSameUnmapCdb(lba, blocks, lba % 2 === 1), label, dataOut: data }, issue);
    this.#ctx.tally.commands['write-same-unmap'] += res === undefined ? 0 : 1;
    this.#settleWrite(s, [w], label, res);
  }

  /** UNMAP: one write per range to the model, settled together; zeros with LBPRZ 001b, else anything. */
  async #unmap(s: Session, ranges: readonly { readonly lba: number; readonly blocks: number }[], attr: TaskAttribute): Promise<void> {
    const issue = this.#issue(s, attr);
    const kind = this.#ctx.unmapZeros ? 'unmap' : 'deallocate';
    const ws = ranges.map((r) => this.#ctx.shadow.writeSent(kind, r.lba, r.blocks, issue));
    const label = `UNMAP${attrText(attr)} ids ${ws.map((w) => w.id).join(',')} ${ranges.map((r) => `lba ${r.lba} n ${r.blocks}`).join(', ')}`;
    const { cdb, parameters } = unmapCommand(ranges);
    const res = await this.#send(s, 'UNMAP', { cdb, label, dataOut: parameters }, issue);
    this.#ctx.tally.commands.unmap += res === undefined ? 0 : 1;
    this.#settleWrite(s, ws, label, res);
  }

  /**
   * SYNCHRONIZE CACHE (10): anything but GOOD, or an answer that it was not (or may not have been) executed, is a
   * finding. With IMMED its GOOD says only that the CDB was valid; the flush goes on, and its failure would be a
   * deferred error to this session's next command (SBC-4), a finding like any status the soak does not expect: a
   * device reset, which vtcam makes to recover what a task management function aborts, does not fail the flush (it
   * is issued again once the device is back, background-flush.ts), and nothing else here can.
   */
  async #syncCache(s: Session, attr: TaskAttribute, immed: boolean): Promise<void> {
    const label = `SYNCHRONIZE CACHE (10)${attrText(attr)}${immed ? ' IMMED' : ''}`;
    const res = await this.#send(s, 'SYNCHRONIZE CACHE', { cdb: syncCache10Cdb(immed), label }, this.#issue(s, attr));
    if (res === undefined) return;
    this.#ctx.tally.commands['sync-cache']++;
    if (immed) this.#ctx.tally.syncImmed++;
    this.#outcome(s, label, res);
  }

  /**
   * COMPARE AND WRITE (SBC-4): the compare reads the blocks, so GOOD says the verify data was on them (checked
   * as a READ), and MISCOMPARE where the model allows only the verify data is a finding; only GOOD writes.
   * Some verify data is what no write produced: GOOD for it is a finding too.
   */
  async #compareAndWrite(s: Session, lba: number, picks: readonly number[], attr: TaskAttribute): Promise<void> {
    const { shadow, blockLength } = this.#ctx;
    const n = picks.length;
    const chosen = picks.map((p, i) => chooseVerify(shadow.possible(lba + i), p));
    const issue = this.#issue(s, attr);
    const r = shadow.readSent(lba, n, issue);
    const w = shadow.writeSent('write', lba, n, issue);
    const label = `COMPARE AND WRITE${attrText(attr)} id ${w.id} lba ${lba} n ${n} verify ${chosen.map((c) => (c === undefined ? 'foreign' : c.id)).join(',')}`;
    const data = Buffer.concat([Buffer.alloc(n * blockLength), writeData(w.id, lba, n, blockLength)]);
    chosen.forEach((c, i) => {
      if (c === undefined) fillBlock(data, i * blockLength, blockLength, FOREIGN_ID, lba + i);
      else if (!readsAsZeros(c)) fillBlock(data, i * blockLength, blockLength, c.id, c.kind === 'same' ? SAME_TAG : lba + i);
    });
    const res = await this.#send(s, 'COMPARE AND WRITE', { cdb: compareAndWriteCdb(lba, n), label, dataOut: data }, issue);
    if (res !== undefined) this.#ctx.tally.commands['compare-and-write']++;
    const outcome = res?.kind === 'status' ? this.#outcome(s, label, res, true) : undefined;
    this.#settleWrite(s, [w], label, res, outcome === 'miscompare' ? 'not-done' : outcome);
    if (outcome === 'good' || outcome === 'miscompare') await shadow.orderSettled(r);
    if (outcome === 'good') {
      for (const m of shadow.readDone(r, data.subarray(0, n * blockLength), blockLength)) this.#ctx.finding('data', `slot ${s.slot} ${label}: GOOD, so the medium held the verify data, but LBA ${m.lba} ${m.what}`);
    } else {
      // What the compare may have read: as a READ would, an ORDERED one after every older GOOD write of the session.
      const allowed = shadow.allowed(r);
      shadow.readDropped(r);
      const onlyVerify = chosen.every((c, i) => {
        const may = (allowed[i] ?? []).filter((x) => x !== w);
        return c !== undefined && c.kind !== 'deallocate' && may.length === 1 && may[0] === c;
      });
      if (outcome === 'miscompare' && onlyVerify) this.#ctx.finding('data', `slot ${s.slot} ${label}: MISCOMPARE, but every block could only hold its verify data`);
    }
  }

  /** Settles the model's writes of one command (an UNMAP has one per range) by its result. */
  #settleWrite(s: Session, ws: readonly WriteRecord[], label: string, res: CommandResult | undefined, known?: Outcome): void {
    const { shadow } = this.#ctx;
    if (res === undefined) {
      for (const w of ws) shadow.writeNotDone(w);
      return;
    }
    if (res.kind === 'lost') {
      for (const w of ws) shadow.writeLost(w);
      this.#lost.set(s, [...(this.#lost.get(s) ?? []), ...ws]);
      return;
    }
    const outcome = known ?? this.#outcome(s, label, res);
    for (const w of ws) {
      if (outcome === 'good') shadow.writeGood(w);
      else if (outcome === 'not-done') shadow.writeNotDone(w);
      else shadow.writeUnknown(w);
    }
  }

  /** What an answer means; a status the soak does not accept is a finding. */
  #outcome(s: Session, label: string, res: CommandResult, compares = false): Outcome {
    if (res.kind !== 'status') return 'unknown';
    const { name, outcome } = classify(res.status, res.sense);
    this.#ctx.tally.count(this.#ctx.tally.statuses, name);
    if (outcome === 'miscompare' && compares) return outcome;
    if (outcome === 'bad' || outcome === 'miscompare') this.#ctx.finding('status', `slot ${s.slot} ${label}: ${name}${res.sense === undefined ? '' : ` (sense ${res.sense.toString('hex')})`}`);
    return outcome;
  }

  #spawn(p: Promise<void>): void {
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  async #abort(s: Session, t: Task): Promise<void> {
    const { response, unanswered } = await s.abortTask(t);
    if (response === 'skipped' || response === 'lost') return;
    this.#ctx.tally.count(this.#ctx.tally.abortResponses, response === TmfResponse.FUNCTION_COMPLETE ? 'FUNCTION COMPLETE' : response === TmfResponse.TASK_DOES_NOT_EXIST ? 'TASK DOES NOT EXIST' : `response ${response}`);
    if (response !== TmfResponse.FUNCTION_COMPLETE && response !== TmfResponse.TASK_DOES_NOT_EXIST) {
      this.#ctx.finding('tmf', `slot ${s.slot}: ABORT TASK of ${t.label}: response ${response}`);
    } else if (response === TmfResponse.TASK_DOES_NOT_EXIST && unanswered && !t.exposed) {
      // Received (sent before the TMF on this connection), never answered, and no reset was out: it was lost.
      this.#ctx.finding('tmf', `slot ${s.slot}: ABORT TASK of ${t.label} (CmdSN ${t.cmdSN}) answered TASK DOES NOT EXIST, but the command was never answered`);
    }
  }

  async #taskSetFunction(s: Session, f: TaskSetFunction): Promise<void> {
    const mine = s.outstanding();
    const reached = f.everyone ? this.#ctx.sessions : [s];
    for (const x of reached) for (const t of x.outstanding()) t.exposed = true;
    const generation = s.generation;
    const out = (by: number): void => {
      if (f.everyone) this.#resetsOut += by;
      else this.#ownOut.set(s, (this.#ownOut.get(s) ?? 0) + by);
    };
    out(1);
    const response = await s.taskSetFunction(f.fn);
    if (response === 'lost') {
      // The target may still act on it until the session is reinstated: what it reaches stays exposed till then.
      while (!(s.alive && s.generation !== generation) && !this.#ctx.stopped()) await new Promise((r) => setTimeout(r, 50));
    }
    out(-1);
    if (response !== 'lost' && response !== TmfResponse.FUNCTION_COMPLETE) {
      // Not carried out: the tasks go on and get their responses.
      this.#ctx.finding('tmf', `slot ${s.slot}: ${f.name}: response ${response}`);
      return;
    }
    // The function's own nexus gets no response for the tasks it ended (SAM-5).
    if (response !== 'lost' && generation === s.generation) for (const t of mine) s.settleAborted(t);
    for (const x of reached) for (const t of x.outstanding()) if (t.exposed && !t.aborting) this.#spawn(this.#abort(x, t));
  }
}

// One TCP connection of the target (RFC 7143 §6, §7): framing, the login
// phase, then full feature phase PDUs handed to the session, and the
// connection's own sequence numbers (StatSN). Every target PDU is stamped
// with StatSN, ExpCmdSN and MaxCmdSN by stamp.ts, which also encodes what the
// session sends, and leaves through the output queue of connection-output.ts
// (a turn's output reaches the socket as socket-write.ts has it). The login
// phase (what each PDU leads to, the login timeout) runs in login-phase.ts,
// NOP-Out, Text and Logout requests are answered in control-pdus.ts, and the
// NOP-In ping of an idle connection runs in nop-ping.ts; how its socket
// ends, at once, while the portal closes or on a fault, is connection-end.ts;
// what the portal provides is in connection-types.ts.
//
// Back-pressure: the socket is paused while its write side (with what this
// turn has queued) is over its high-water mark, and resumed on 'drain'
// (connection-output.ts); the command window (MaxCmdSN) bounds the tasks, and
// the PDU reader a PDU's size. Nothing a peer sends is buffered without bound.
//
// Error handling at ERL 0 (§7.1.4, §7.8): a header digest error or a PDU that
// cannot be framed closes the connection; a data digest error, or a data
// segment over our MaxRecvDataSegmentLength, drops the PDU with a Reject (a
// dropped Data-Out still ends its task, see #dataDiscarded); a PDU the
// session refuses gets a Reject (reason per §11.17.1) and the connection
// carries on.

import type { Socket } from 'node:net';
import { DATA_IN_HIGH_WATER, type DataInGate } from './data-in-gate.js';
import { PduReader, type FrameResult } from './framing.js';
import * as wire from './bhs.js';
import { IscsiOpcode, RejectReason, type Pdu } from './pdu-types.js';
import type { Session } from './session.js';
import type { SessionOutput } from './session-types.js';
import { PduStamper } from './stamp.js';
import { TextExchange } from './text-exchange.js';
import type { LoginResult } from './login-types.js';
import type { ConnectionHost, ConnectionTimers } from './connection-types.js';
import type { DataOutDiscard } from './task-types.js';
import { LoginPhase } from './login-phase.js';
import { logText } from './log-text.js';
import { NopPing } from './nop-ping.js';
import { ConnectionOutput } from './connection-output.js';
import { handleLogout, handleNopOut, handleText, type ControlPduHost } from './control-pdus.js';
import { END_GRACE_MS, destroyAfterGrace, endGracefully, endOnFault, endSocket, takenWhileDraining } from './connection-end.js';

export class IscsiConnection {
  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #reader = new PduReader();
  /** What the connection sends, queued per turn, and the pause of its reading (connection-output.ts). */
  readonly #out: ConnectionOutput;
  /** The login phase (login-phase.ts) until full feature phase begins. */
  #login: LoginPhase | undefined;
  #session: Session | undefined;
  #sendTargets: ((value: string) => Uint8Array) | undefined;
  /** The initiator's MaxRecvDataSegmentLength: Text and NOP-In data longer than this is cut (§13.12). */
  #maxSendSegment = 8192;
  readonly #textExchange: TextExchange;
  /** StatSN, and ExpCmdSN / MaxCmdSN, on every PDU sent. */
  readonly #stamps = new PduStamper();
  /** What NOP-Out, Text and Logout are answered through (control-pdus.ts). */
  readonly #control: ControlPduHost = {
    session: () => this.#session,
    closed: () => this.#closed,
    cid: () => this.#cid,
    stamps: this.#stamps,
    write: (pdu) => {
      this.#out.write(pdu);
    },
    reject: (header, reason) => {
      this.#reject(header, reason);
    },
    pingAnswered: (ttt) => this.#nopPing.answered(ttt),
    pingEcho: (data) => this.#pingEcho(data),
    textPart: (req) => this.#textExchange.answer(req, this.#maxSendSegment),
    end: () => {
      endSocket(this.#socket, this.#out);
    },
  };
  #closed = false;
  /** shutdown() waits for the session's tasks: only what they are owed is read (takenWhileDraining). */
  #draining = false;
  /** shutdown() has sent everything: what the peer still sends is dropped. */
  #shutDown = false;
  /** The CID the login gave this connection (§11.12.7). */
  #cid: number | undefined;
  readonly #nopPing: NopPing;
  readonly #onClose: (() => void)[] = [];
  /** While the portal closes: the longest its tasks' Data-Out may take, and then its peer to take what was written (the ping timeout). */
  readonly #closeCapMs: number;

  /** `dataInHighWater`: the limit of the connection's Data-In gate (data-in-gate.ts). */
  constructor(socket: Socket, host: ConnectionHost, timers: ConnectionTimers, dataInHighWater = DATA_IN_HIGH_WATER) {
    this.#socket = socket;
    this.#host = host;
    this.#closeCapMs = timers.pingTimeoutMs;
    this.#out = new ConnectionOutput(socket, host, dataInHighWater);
    this.dataInRoom = this.#out.dataInRoom;
    this.dataInGate = this.#out.dataInGate;
    this.#login = new LoginPhase(host.login(), timers.loginTimeoutMs, {
      write: (pdu) => {
        this.#out.write(pdu);
      },
      drop: (reason) => {
        this.#drop(reason);
      },
      refused: (reason) => {
        host.log(`iscsi: ${this.remote}: ${reason}`);
        this.close();
      },
      fullFeature: (result) => {
        this.#fullFeature(result);
      },
    });
    // A Text exchange left open waits for the initiator as long as a ping does (§11.11.4: the target may reset it).
    this.#textExchange = new TextExchange({
      sendTargets: (value) => this.#sendTargets?.(value),
      declareMaxRecvDataSegmentLength: (n) => {
        this.#maxSendSegment = n;
      },
      stalled: (itt) => {
        host.log(`iscsi: ${this.remote}: Text exchange of ITT ${itt.toString(16)}h dropped: no next request for ${timers.pingTimeoutMs / 1000} s; a part continuing it gets Reject 09h`);
      },
    }, timers.pingTimeoutMs);
    this.#nopPing = new NopPing(timers, {
      mayPing: () => !this.#closed && this.#login === undefined,
      ping: (ttt) => {
        this.#out.write(this.#stamps.nopPing(ttt));
      },
      unanswered: () => {
        this.#drop('no answer to NOP-In ping');
      },
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.#shutDown || this.#closed) return;
      try {
        this.#onData(chunk);
      } catch (e) {
        this.#fault(e);
      }
    });
    socket.on('error', () => {
      this.close();
    });
    socket.on('close', () => {
      this.close();
    });
  }

  get remote(): string {
    return `${this.#socket.remoteAddress ?? '?'}:${this.#socket.remotePort ?? '?'}`;
  }

  /** The address and port the peer connected to, or undefined once the socket is gone. */
  get local(): { address: string; port: number } | undefined {
    const { localAddress, localPort } = this.#socket;
    return localAddress === undefined || localPort === undefined ? undefined : { address: localAddress, port: localPort };
  }

  /** Runs `f` once when the connection ends. */
  onClose(f: () => void): void {
    this.#onClose.push(f);
  }

  /** Ends the connection now: the session's tasks are aborted, nothing more is sent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out.close();
    try {
      this.#login?.stop();
      this.#nopPing.stop();
      this.#textExchange.close();
      this.#session?.close();
      // What was already written (a refusal, a Reject) still goes out; a peer that does not read it is cut off.
      endSocket(this.#socket, this.#out);
    } finally {
      // Even after a fault above: the portal forgets the connection, and the socket goes in the end.
      destroyAfterGrace(this.#socket);
      this.#host.closed(this);
      for (const f of this.#onClose.splice(0)) f();
    }
  }

  /**
   * Lets the session's tasks finish and their responses go out, reading on meanwhile for the Data-Out they are
   * owed (a task waiting for it is in flight, and a paused socket would wait on itself), then closes.
   */
  async shutdown(): Promise<void> {
    this.#draining = true;
    const ended = (await this.#session?.drainClosing(END_GRACE_MS)) ?? 0;
    if (ended > 0) this.#host.log(`iscsi: ${this.remote}: closing: ${ended} task(s) ended without a response: the Data-Out they were owed stopped for ${END_GRACE_MS / 1000} s, or was not all in ${this.#closeCapMs / 1000} s after the close began`);
    this.#shutDown = true;
    await endGracefully(this.#socket, this.#out, () => this.#closed, this.#closeCapMs);
    this.close();
  }

  /** A bug of the target's while it handled the peer's bytes: this connection ends at once (endOnFault). */
  #fault(e: unknown): void {
    endOnFault(e, this.#socket, () => { this.close(); }, (line) => { this.#host.log(`iscsi: ${this.remote}: ${line}`); });
  }

  #drop(reason: string): void {
    this.#host.log(`iscsi: ${this.remote}: closing connection: ${reason}`);
    this.close();
  }

  #onData(chunk: Uint8Array): void {
    this.#reader.push(chunk);
    for (let r = this.#reader.next(); r !== undefined && !this.#closed; r = this.#reader.next()) this.#frame(r);
    this.#nopPing.arm();
    this.#host.touched();
    this.#out.pauseIfFull();
  }

  #frame(r: FrameResult): void {
    if (this.#draining && !takenWhileDraining(r)) return;
    switch (r.kind) {
      case 'pdu':
        this.#pdu(r.pdu);
        return;
      case 'data-digest-error':
        this.#reject(r.pdu.bhs, RejectReason.DATA_DIGEST_ERROR);
        this.#dataDiscarded(r.pdu.bhs, 'data-digest');
        return;
      case 'segment-too-long':
        // A data segment over our MaxRecvDataSegmentLength (§13.12) is a protocol error. The header (digest
        // checked) says how long it is, so the reader skipped it and the connection carries on after a Reject;
        // a login, where only Login Responses may answer, is refused instead.
        if (this.#login !== undefined) this.#login.segmentTooLong(r.bhs);
        else {
          this.#reject(r.bhs, RejectReason.PROTOCOL_ERROR);
          this.#dataDiscarded(r.bhs, 'segment-too-long');
        }
        return;
      case 'fatal':
        this.#drop(r.reason);
        return;
    }
  }

  /**
   * After the Reject of a PDU dropped for its data digest (§7.8) or its length (§13.12): a discarded SCSI
   * Command makes no task and takes no CmdSN (§7.3: a rejected command's CmdSN is not received), and the
   * initiator's retry (§7.2.1), or an ABORT TASK naming its CmdSN (§11.5.1), fills the gap. A discarded
   * Data-Out still counts for its task by its header, or the task would wait for that data for ever
   * (Session.dataDiscarded).
   */
  #dataDiscarded(bhs: Uint8Array, why: DataOutDiscard): void {
    const session = this.#session;
    if (session === undefined || wire.readOpcode(bhs) !== IscsiOpcode.SCSI_DATA_OUT) return;
    const d = wire.decodeDataOutHeader(bhs);
    if (!('reject' in d)) session.dataDiscarded(d, why);
  }

  #pdu(pdu: Pdu): void {
    if (this.#login !== undefined) {
      this.#login.pdu(pdu);
      return;
    }
    const op = wire.readOpcode(pdu.bhs);
    const session = this.#session;
    switch (op) {
      case IscsiOpcode.SCSI_COMMAND:
      case IscsiOpcode.SCSI_DATA_OUT:
      case IscsiOpcode.TASK_MGMT_REQUEST:
        if (session === undefined) {
          this.#reject(pdu.bhs, RejectReason.COMMAND_NOT_SUPPORTED);
          return;
        }
        this.#sessionPdu(op, pdu, session);
        return;
      case IscsiOpcode.NOP_OUT:
        handleNopOut(pdu, this.#control);
        return;
      case IscsiOpcode.TEXT_REQUEST:
        handleText(pdu, this.#control);
        return;
      case IscsiOpcode.LOGOUT_REQUEST:
        handleLogout(pdu, this.#control);
        return;
      case IscsiOpcode.SNACK_REQUEST:
        // §7.1.1 / §11.16: SNACK needs ErrorRecoveryLevel > 0, which this target never agrees to.
        this.#reject(pdu.bhs, RejectReason.PROTOCOL_ERROR);
        return;
      case IscsiOpcode.LOGIN_REQUEST:
        // §6.x: a Login Request in full feature phase is a protocol error.
        this.#reject(pdu.bhs, RejectReason.PROTOCOL_ERROR);
        this.#drop('login request in full feature phase');
        return;
      default:
        this.#reject(pdu.bhs, RejectReason.COMMAND_NOT_SUPPORTED);
    }
  }

  #sessionPdu(op: number, pdu: Pdu, session: Session): void {
    if (op === IscsiOpcode.SCSI_COMMAND) {
      const cmd = wire.decodeScsiCommand(pdu);
      if ('reject' in cmd) this.#reject(pdu.bhs, cmd.reject);
      else this.#maybeReject(pdu, session.command(cmd));
    } else if (op === IscsiOpcode.SCSI_DATA_OUT) {
      const d = wire.decodeDataOut(pdu);
      if ('reject' in d) this.#reject(pdu.bhs, d.reject);
      else this.#maybeReject(pdu, session.dataOut(d));
    } else {
      const t = wire.decodeTaskMgmtRequest(pdu);
      if ('reject' in t) this.#reject(pdu.bhs, t.reject);
      else session.taskManagement(t);
    }
  }

  #maybeReject(pdu: Pdu, reason: number | undefined): void {
    if (reason !== undefined) this.#reject(pdu.bhs, reason);
  }

  /** The final Login Response is queued: the negotiated values apply and the session is bound. */
  #fullFeature(result: LoginResult): void {
    this.#login = undefined;
    this.#cid = result.cid;
    this.#stamps.setStatSN(result.nextStatSN);
    this.#stamps.discoveryExpCmdSN = result.expCmdSN;
    // §13.x: digests and segment lengths take effect on the first PDU after the final Login Response.
    const p = result.parameters;
    const digests = { header: p.headerDigest === 'CRC32C', data: p.dataDigest === 'CRC32C' };
    this.#out.setDigests(digests);
    this.#reader.setHeaderDigest(digests.header);
    this.#reader.setDataDigest(digests.data);
    this.#reader.setMaxRecvDataSegmentLength(p.targetMaxRecvDataSegmentLength);
    this.#maxSendSegment = p.initiatorMaxRecvDataSegmentLength;
    const attached = this.#host.attach(result, this);
    this.#session = attached.session;
    this.#sendTargets = attached.sendTargets;
    this.#stamps.bind(this.#session, result.maxCmdSN);
    this.#host.log(`iscsi: ${this.remote}: ${result.sessionType} session for ${logText(result.initiatorName)}${result.targetName === undefined ? '' : ` on ${result.targetName}`}`);
  }

  /** The initiator's MaxRecvDataSegmentLength now: no PDU this connection sends carries a longer data segment (§13.12). */
  get maxSendSegment(): number {
    return this.#maxSendSegment;
  }

  /**
   * A Data-In room (data-in-rooms.ts) whose PDU reaches the socket with no copy, or undefined while digests
   * are on (ConnectionOutput.dataInRoom).
   */
  readonly dataInRoom: (bytes: number) => Uint8Array | undefined;

  /** The gate its commands with Data-In pass before their units (ConnectionOutput.dataInGate, data-in-gate.ts). */
  readonly dataInGate: DataInGate;

  /** Builds the session output handler for a session bound to this connection. */
  sessionSink(): (o: SessionOutput) => void {
    return (o) => {
      this.#sessionOut(o);
    };
  }

  #sessionOut(o: SessionOutput): void {
    if (this.#closed) return;
    const pdu = this.#stamps.sessionPdu(o.kind === 'nop-in' ? { ...o, data: this.#pingEcho(o.data) } : o);
    if (pdu !== undefined) this.#out.write(pdu);
  }

  /**
   * A ping's data as the NOP-In echoes it: up to the first MaxRecvDataSegmentLength bytes (§11.19), the
   * initiator's as the NOP-In goes out, which a Text exchange may have lowered since the NOP-Out came.
   */
  #pingEcho(data: Uint8Array): Uint8Array {
    return data.length > this.#maxSendSegment ? data.subarray(0, this.#maxSendSegment) : data;
  }

  #reject(header: Uint8Array, reason: number): void {
    if (this.#closed) return;
    this.#out.write(this.#stamps.reject(header, reason));
  }
}

// Back-pressure on what a connection's READs will send. A command's Data-In
// is made by its logical unit whether or not the initiator reads its socket,
// and waits in this process until the socket takes it; reading no more PDUs
// (connection-output.ts) cannot bound that, as one read chunk may hold a
// window's worth of 48-byte commands, each asking for MAXIMUM TRANSFER LENGTH
// (megabytes). So a command with Data-In goes to its unit only while the
// connection's output not yet sent (queued this turn, and the socket's unsent
// bytes) and the Data-In of its commands already at their units stay within
// DATA_IN_HIGH_WATER; else it waits, not at the unit, in the order it came,
// until commands end or the socket drains. One alone always goes once the
// output is under the mark, however long. Commands without Data-In pass.
//
// Its own module: the rule is the connection's (one per connection, every
// LUN), and a task asks it as it asks its task set order and its LUN's port
// before going to the unit (ScsiTask #admit, LunAdmittable).

/**
 * What one connection's READs at their units and its unsent output may hold together: 32 MiB, a queue depth
 * of 32 READs of 1 MiB. 16 MiB cost such a load (iscsi-perf, 1 MiB reads at QD 32) about 17 % of its
 * throughput; 32 MiB about 3 %, inside the run-to-run noise.
 */
export const DATA_IN_HIGH_WATER = 32 * 2 ** 20;

/** A command waiting for the gate: told once it may go to its unit (it asks admit again then). */
export interface DataInWaiter {
  admitted(): void;
}

interface Waiting {
  readonly cmd: DataInWaiter;
  readonly bytes: number;
}

/** One connection's gate for commands with Data-In. */
export class DataInGate {
  readonly #limit: number;
  readonly #backlog: () => number;
  /** Data-In bytes of the commands let go and not yet ended. */
  #committed = 0;
  readonly #waiting: Waiting[] = [];
  /** The waiter being told it may go: its admit() now passes ahead of the rest. */
  #waking: DataInWaiter | undefined;

  /**
   * @param backlog the connection's output not yet sent, in bytes (this turn's queue and the socket's)
   * @throws RangeError unless `limit` is a positive whole number of bytes.
   */
  constructor(backlog: () => number, limit = DATA_IN_HIGH_WATER) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`DataInGate: limit must be a positive whole number of bytes, got ${limit}`);
    this.#backlog = backlog;
    this.#limit = limit;
  }

  /** Data-In bytes of the commands let go and not yet ended. */
  get committed(): number {
    return this.#committed;
  }

  /** Commands waiting. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Lets `cmd`, bringing back `bytes` of Data-In, go now: undefined, and its bytes count until release(bytes).
   * Else it waits: `cmd.admitted()` is called once it may go, and the function returned withdraws it meanwhile.
   */
  admit(cmd: DataInWaiter, bytes: number): (() => void) | undefined {
    if (bytes === 0) return undefined;
    if ((this.#waking === cmd || this.#waiting.length === 0) && this.#fits(bytes)) {
      this.#committed += bytes;
      return undefined;
    }
    const w: Waiting = { cmd, bytes };
    this.#waiting.push(w);
    return () => {
      const i = this.#waiting.indexOf(w);
      if (i >= 0) this.#waiting.splice(i, 1);
    };
  }

  /** A command let go with `bytes` ended: its Data-In is in the output now, or never comes. */
  release(bytes: number): void {
    this.#committed -= bytes;
    this.wake();
  }

  /** The output went down (a turn reached the socket, the socket drained): let waiting commands go that fit now. */
  wake(): void {
    for (let w = this.#waiting[0]; w !== undefined && this.#waking === undefined && this.#fits(w.bytes); w = this.#waiting[0]) {
      this.#waiting.shift();
      this.#waking = w.cmd;
      try {
        w.cmd.admitted();
      } finally {
        this.#waking = undefined;
      }
    }
  }

  #fits(bytes: number): boolean {
    const backlog = this.#backlog();
    return backlog <= this.#limit && (this.#committed === 0 || this.#committed + backlog + bytes <= this.#limit);
  }
}

// A SCSI command as the soak's session sends it, tracks it while the target
// works on it, and hands back its result.

/** SAM-5 §8.6 task attributes the soak sends (RFC 7143 §11.3.1.2 ATTR). */
export type TaskAttribute = 'simple' | 'ordered' | 'head';

/** What a command came to. */
export type CommandResult =
  | { readonly kind: 'status'; readonly status: number; readonly sense: Buffer | undefined; readonly data: Buffer | undefined }
  /** Ended by task management: the target will not answer it. */
  | { readonly kind: 'aborted' }
  /** Its connection went away before an answer. */
  | { readonly kind: 'lost' };

export interface CommandRequest {
  readonly cdb: Buffer;
  /** For a log line: `WRITE lba 12 n 8`. */
  readonly label: string;
  readonly dataOut?: Buffer;
  readonly inLength?: number;
  /** SIMPLE unless said. */
  readonly attr?: TaskAttribute;
  /** Destroy the connection right after the first Data-Out PDU of this command. */
  readonly dropInDataOut?: boolean;
}

/** A command the target has been sent and has not yet answered. */
export interface Task {
  readonly itt: number;
  readonly cmdSN: number;
  readonly label: string;
  /** A reset may have ended it silently (set by whoever knows about resets). */
  exposed: boolean;
  /** An ABORT TASK for it is out: never a second one (two may be answered out of order, RFC 7143 §11.6.1). */
  aborting: boolean;
  done: boolean;
}

/** The session's own record of a task: what it needs to answer R2Ts, fill Data-In and end it. */
export interface Pending extends Task {
  readonly request: CommandRequest;
  readonly inBuf: Buffer | undefined;
  /** The DataSN the next Data-In must carry. */
  dataSN: number;
  readonly resolve: (r: CommandResult) => void;
  readonly timer: NodeJS.Timeout;
}

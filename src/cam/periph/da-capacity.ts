// How da re-reads its unit's capacity (on CAPACITY DATA HAS CHANGED, through
// recovery.ts, and on AC_GETDEV_CHANGED), one read at a time: READ CAPACITY
// (16), which also carries the provisioning bits LBPME and LBPRZ, else READ
// CAPACITY (10) when the unit rejects the 16-byte command as an unknown
// command (ASC 20h) or an unknown SERVICE ACTION IN (16) service action
// (ASC 24h). The parameter data is parsed by capacity.ts. Spec: SBC-4 (READ
// CAPACITY (10) and READ CAPACITY (16) commands), SPC-5 (INVALID COMMAND
// OPERATION CODE, INVALID FIELD IN CDB).

import { CamDir, CamPriority, type ScsiIoCcb } from '../xpt/periph-api.js';
import { encodeReadCapacity10, encodeReadCapacity16 } from '../../scsi/cdb/capacity.js';
import { SenseKey } from '../../scsi/sense.js';
import { CamError } from './errors.js';
import { parseReadCapacity10, parseReadCapacity16, RC16_LENGTH, type DaCapacity } from './capacity.js';
import type { RunRequest } from './recovery.js';

/** What a CapacityReader asks of the periph that owns it. */
export interface CapacityHooks {
  /** Issues one command with the periph's recovery; rejects with CamError. */
  run(req: RunRequest): Promise<ScsiIoCcb>;
  /** Takes a capacity just read as the device's (before the read's promise settles). */
  apply(cap: DaCapacity): void;
}

/** The unit has no READ CAPACITY (16): ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE or INVALID FIELD IN CDB. */
function lacksReadCapacity16(e: unknown): boolean {
  if (!(e instanceof CamError) || e.senseData?.key !== SenseKey.ILLEGAL_REQUEST) return false;
  return e.senseData.asc === 0x20 || e.senseData.asc === 0x24;
}

/** Reads one periph's capacity, one read at a time. */
export class CapacityReader {
  readonly #hooks: CapacityHooks;
  #refreshing: Promise<DaCapacity> | undefined;

  constructor(hooks: CapacityHooks) {
    this.#hooks = hooks;
  }

  /** Re-reads the capacity; a call while a read is under way gets that read. */
  refresh(): Promise<DaCapacity> {
    this.#refreshing ??= this.#read().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** refresh() for recovery and async events: resolves when done, never rejects. */
  refreshQuietly(): Promise<void> {
    // Called from recovery and async events, where nobody could take the error:
    // the command that asked is retried either way, and fails on its own if the
    // capacity really is unreadable.
    return this.refresh().then(
      () => undefined,
      () => undefined,
    );
  }

  async #read(): Promise<DaCapacity> {
    let cap: DaCapacity | undefined;
    let ccb: ScsiIoCcb;
    try {
      ccb = await this.#internal({ cdb: encodeReadCapacity16({ allocationLength: RC16_LENGTH }), dir: CamDir.IN, dataInLength: RC16_LENGTH });
      cap = parseReadCapacity16(ccb.dataIn ?? new Uint8Array(0));
    } catch (e) {
      if (!lacksReadCapacity16(e)) throw e;
      ccb = await this.#internal({ cdb: encodeReadCapacity10(), dir: CamDir.IN, dataInLength: 8 });
      cap = parseReadCapacity10(ccb.dataIn ?? new Uint8Array(0));
    }
    if (cap === undefined) throw CamError.fromCcb(ccb, 'READ CAPACITY data too short or zero block length', 0);
    this.#hooks.apply(cap);
    return cap;
  }

  #internal(req: Omit<RunRequest, 'internal' | 'priority'>): Promise<ScsiIoCcb> {
    return this.#hooks.run({ ...req, internal: true, priority: CamPriority.OOB });
  }
}

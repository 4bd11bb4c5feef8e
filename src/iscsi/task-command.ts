// A SCSI task as the command its SCSI Command PDU brought (RFC 7143 §11.3),
// fixed as the PDU arrives: its ITT, LUN and I bit, its task attribute
// (§11.3.1.2 ATTR, as SAM-5 names them), its Expected Data Transfer Length,
// and its data phase as planned from the CDB (transfer.ts); with what the
// logical unit reads of it that depends on nothing else (LunCommand, lun.ts:
// the CDB, the direction, the Data-In length, the tag). ScsiTask (task.ts)
// extends it with the command's life: Data-Out, execution, the answer, task
// management. A base class, not a member, so that the task stays the one
// object made per command and these are read from it directly.

import type { ScsiCommandPdu } from './pdu-types.js';
import type { TaskAttribute } from './lun.js';
import type { TaskIdentity } from './task-types.js';
import { planTransfer, type TransferPlan } from './transfer.js';

/** RFC 7143 §11.3.1.2 ATTR → SAM-5 task attribute: 0 untagged and 4 ACA run as simple (no ACA support). */
const ATTR_TAGS: readonly (TaskAttribute | undefined)[] = ['simple', 'simple', 'ordered', 'head', 'simple'];

/** What a task's SCSI Command PDU fixed, and the parts of LunCommand read from that alone. */
export abstract class TaskCommand implements TaskIdentity {
  readonly itt: number;
  readonly lun: bigint;
  /** Sent with the I bit: outside the command window (RFC 7143 §3.2.2.1). */
  readonly immediate: boolean;
  /** The Expected Data Transfer Length: what the initiator expects the command to move. */
  readonly edtl: number;
  readonly plan: TransferPlan;
  /** LunCommand: the task attribute. */
  readonly tag: TaskAttribute;

  /** `lun`: the block size of the LUN the command is for, and the most data one command may move there (probe.ts). */
  constructor(cmd: ScsiCommandPdu, lun: { readonly blockSize: number; readonly maxCommandBytes: number }) {
    this.itt = cmd.itt;
    this.lun = cmd.lun;
    this.immediate = cmd.immediate;
    this.edtl = cmd.expectedDataTransferLength;
    this.tag = ATTR_TAGS[cmd.attr] ?? 'simple';
    this.plan = planTransfer(cmd.cdb, cmd, cmd.expectedDataTransferLength, lun.blockSize, lun.maxCommandBytes);
  }

  /** The command's operation code (byte 0 of its CDB). */
  get opcode(): number {
    return this.plan.cdb[0] ?? 0;
  }

  /** LunCommand: the CDB, cut to the command's own length for a block command (transfer.ts). */
  get cdb(): Uint8Array {
    return this.plan.cdb;
  }

  get direction(): 'in' | 'out' | 'none' {
    return this.plan.direction;
  }

  /** LunCommand: the Data-In room ('in'). */
  get dataInLength(): number | undefined {
    return this.plan.direction === 'in' ? this.plan.length : undefined;
  }
}

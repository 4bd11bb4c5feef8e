// How much data a SCSI command moves versus what the initiator said it
// expects (Expected Data Transfer Length), and what the target does about a
// difference: RFC 7143 §11.4.5.1 residuals (overflow: the command wanted more
// than EDTL; underflow: it moved less) and SAM-5 §5.4.x data transfer rules.
//
// For the block read/write family the command's own length is TRANSFER
// LENGTH × block size (SBC-4 §5). For a Data-Out command that wants more than
// EDTL the target executes it on what EDTL covers: a whole number of blocks
// gets the CDB's TRANSFER LENGTH lowered to match (the blocks beyond are not
// written, as the initiator never sent them); a partial block goes to the
// device as is, which answers INVALID FIELD IN COMMAND INFORMATION UNIT for
// the short Data-Out and writes nothing. A Data-In command reads what it
// asked for and the target sends the first EDTL bytes. Other commands carry
// an allocation or parameter list length the device server checks itself:
// EDTL is their Data-Out buffer, and a Data-In command gets room for its
// ALLOCATION LENGTH when that is more, the target sending the first EDTL bytes
// of what comes back.

import { decodeReadWrite, decodeRw, RW_OPCODES, type RwOp } from '../scsi/cdb/rw.js';
import { dataInLimit, lookupCommand } from '../scsi/cdb/registry.js';

/** Largest Data-In buffer the target allocates for a command beyond its EDTL (a READ asking far more than EDTL is cut to EDTL). */
export const MAX_OVERFLOW_READ = 16 * 2 ** 20;

/** How the target runs one SCSI command's data phase. */
export interface TransferPlan {
  readonly direction: 'in' | 'out' | 'none';
  /** The CDB to execute (the original, or with TRANSFER LENGTH lowered). */
  readonly cdb: Uint8Array;
  /** Data-Out: bytes to collect from the initiator (≤ EDTL). Data-In: buffer room to give the device. */
  readonly length: number;
  /** What the command itself would move, when the target knows it (block commands); else EDTL. */
  readonly commandLength: number;
}

// SBC-4 §5.x: where TRANSFER LENGTH sits in each CDB size of the family (READ(6)/WRITE(6): byte 4, 8 bits,
// 0 = 256; 10: bytes 7..8; 12: bytes 6..9; 16: bytes 10..13). VERIFY keeps VERIFICATION LENGTH there too.
const LENGTH_FIELD: Readonly<Record<number, { readonly at: number; readonly size: 1 | 2 | 4 }>> = {
  6: { at: 4, size: 1 },
  10: { at: 7, size: 2 },
  12: { at: 6, size: 4 },
  16: { at: 10, size: 4 },
};


function withTransferLength(cdb: Uint8Array, blocks: number): Uint8Array | undefined {
  const field = LENGTH_FIELD[cdb.length];
  // READ(6)/WRITE(6) cannot say 0 blocks (0 means 256): leave such a CDB to the device.
  if (field === undefined || (field.size === 1 && blocks === 0)) return undefined;
  const out = Uint8Array.from(cdb);
  for (let i = field.size - 1, v = blocks; i >= 0; i--, v = Math.floor(v / 256)) out[field.at + i] = v & 0xff;
  return out;
}

/**
 * The data phase of one SCSI Command PDU. A command that would move more than
 * `maxBytes` (the LUN's MAXIMUM TRANSFER LENGTH, see probe.ts) gets no
 * Data-Out collected and at most `maxBytes` of Data-In room: the device server
 * refuses it with the right sense, and no initiator can make the target
 * allocate more than that for one command.
 * @param cdb the CDB as received.
 * @param flags the PDU's R and W bits.
 * @param edtl Expected Data Transfer Length.
 * @param blockSize the logical unit's block size in bytes.
 * @param maxBytes the most data one command may move.
 */
export function planTransfer(cdb: Uint8Array, flags: { readonly read: boolean; readonly write: boolean }, edtl: number, blockSize: number, maxBytes: number): TransferPlan {
  const plan = planUnbounded(cdb, flags, edtl, blockSize);
  if (plan.length <= maxBytes) return plan;
  return { ...plan, length: plan.direction === 'in' ? maxBytes : 0 };
}

function planUnbounded(received: Uint8Array, flags: { readonly read: boolean; readonly write: boolean }, edtl: number, blockSize: number): TransferPlan {
  // The CDB field of a SCSI Command PDU is 16 bytes whatever the command (§11.3.6): a block command is its
  // own length (6, 10, 12 or 16 bytes) from the start of it.
  const known = RW_OPCODES.includes(received[0] ?? -1) ? lookupCommand(received) : undefined;
  if (known?.ok !== true) return planByFlags(received, flags, edtl);
  const cdb = known.value.cdbLength <= received.length ? received.subarray(0, known.value.cdbLength) : received;
  // READ/WRITE (10)/(16), nearly every command, through the lighter decoder (the same fields as decodeRw's).
  const fast = decodeReadWrite(cdb);
  if (fast !== undefined) return planBlocks(cdb, fast.write ? 'WRITE' : 'READ', fast.blocks, 0, edtl, blockSize);
  const rw = decodeRw(cdb);
  return rw.ok ? planBlocks(cdb, rw.value.op, rw.value.blocks, rw.value.bytchk, edtl, blockSize) : planByFlags(received, flags, edtl);
}

/**
 * Not a well-formed block read/write: the PDU's flags say the direction, EDTL the buffer. A CDB the device
 * rejects is rejected there, with the right sense.
 */
function planByFlags(received: Uint8Array, flags: { readonly read: boolean; readonly write: boolean }, edtl: number): TransferPlan {
  const direction = flags.write ? 'out' : flags.read ? 'in' : 'none';
  if (direction === 'none') return { direction, cdb: received, length: 0, commandLength: 0 };
  // §11.4.5.1: parameter data longer than EDTL is cut to EDTL with an overflow residual, so the device server
  // gets room for all it may return (its ALLOCATION LENGTH), not a buffer it would overrun.
  const length = direction === 'in' && !flags.write ? Math.max(edtl, dataInLimit(received)?.bytes ?? 0) : edtl;
  return { direction, cdb: received, length, commandLength: edtl };
}

/** A well-formed block command (`cdb` cut to its own length) moving `blocks` blocks, BYTCHK `bytchk`. */
function planBlocks(cdb: Uint8Array, op: RwOp, blocks: number, bytchk: number, edtl: number, blockSize: number): TransferPlan {
  // SBC-4 §5.x: READ, WRITE and WRITE AND VERIFY always move their blocks (BYTCHK only picks how WRITE AND
  // VERIFY verifies); VERIFY sends data only when BYTCHK asks it to compare.
  const carriesData = op !== 'VERIFY' || bytchk !== 0;
  const commandLength = carriesData ? blocks * blockSize : 0;
  if (commandLength === 0) return { direction: 'none', cdb, length: 0, commandLength };
  if (op === 'READ') {
    if (commandLength <= Math.max(edtl, MAX_OVERFLOW_READ)) return { direction: 'in', cdb, length: commandLength, commandLength };
    const cut = withTransferLength(cdb, Math.ceil(edtl / blockSize));
    return cut === undefined ? { direction: 'in', cdb, length: commandLength, commandLength } : { direction: 'in', cdb: cut, length: Math.ceil(edtl / blockSize) * blockSize, commandLength };
  }
  if (commandLength <= edtl) return { direction: 'out', cdb, length: commandLength, commandLength };
  const cut = edtl % blockSize === 0 ? withTransferLength(cdb, edtl / blockSize) : undefined;
  return { direction: 'out', cdb: cut ?? cdb, length: edtl, commandLength };
}

/** A residual (RFC 7143 §11.4.5): what the target reports in the SCSI Response or the final Data-In. */
export interface ResidualCount {
  readonly overflow: boolean;
  readonly underflow: boolean;
  readonly count: number;
}

const NONE: ResidualCount = { overflow: false, underflow: false, count: 0 };

/**
 * The residual for a command that would move `commandLength` bytes, of which
 * `moved` did (Data-In sent, or Data-Out used), with `edtl` expected: an
 * overflow when the command wanted more than EDTL, else an underflow when
 * fewer than EDTL bytes moved.
 */
export function residualOf(edtl: number, commandLength: number, moved: number): ResidualCount {
  if (commandLength > edtl) return { overflow: true, underflow: false, count: commandLength - edtl };
  if (moved < edtl) return { overflow: false, underflow: true, count: edtl - moved };
  return NONE;
}

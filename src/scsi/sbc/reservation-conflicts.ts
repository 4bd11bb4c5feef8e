// Which commands an I_T nexus that holds no reservation may run while the
// logical unit is reserved, as data. Spec: SPC-5 "SPC commands that are
// allowed in the presence of various reservations" and "PERSISTENT RESERVE OUT
// service actions that are allowed in the presence of various reservations";
// SBC-4 "SBC commands that are allowed in the presence of various
// reservations"; SPC-2 (RESERVE/RELEASE reservations: the commands another
// initiator may still send to a reserved logical unit).
//
// Columns, for a nexus that is not the reservation holder:
//   spc2        an SPC-2 RESERVE(6)/(10) reservation is held by another nexus
//   we, ea      a Write Exclusive / Exclusive Access persistent reservation
//               (registered or not makes no difference)
//   registered  a registrants only or all registrants persistent reservation,
//               the nexus is registered
//   weRoAr,     the same, the nexus is not registered, for the Write
//   eaRoAr      Exclusive and the Exclusive Access flavours
// PERSISTENT RESERVE OUT service actions depend only on whether the nexus is
// registered. Rules outside the table, in reservations.ts: the holder is
// never in conflict; under an SPC-2 reservation every PERSISTENT RESERVE IN and
// OUT conflicts, whoever sends it (SPC-2); RESERVE and RELEASE under a
// persistent reservation follow SPC-5's exceptions to SPC-2 RESERVE and
// RELEASE behavior (the handlers apply them, so the table allows them here).
//
// A command the unit implements but the table does not list is treated as
// a medium write (DEFAULT_ROW): a new command conflicts until its row is added.

import { PrType } from '../pr-data.js';

/** What happens to a command from a nexus that holds no reservation. */
export type Access = 'allowed' | 'conflict';

/** Persistent reservation columns by reservation type and registration. */
export interface TypeColumns {
  readonly kind: 'type';
  readonly we: Access;
  readonly ea: Access;
  readonly registered: Access;
  readonly weRoAr: Access;
  readonly eaRoAr: Access;
}

/** Persistent reservation columns by registration alone (PERSISTENT RESERVE OUT). */
export interface RegistrationColumns {
  readonly kind: 'registration';
  readonly registered: Access;
  readonly unregistered: Access;
}

/** One row: a command (an operation code, a service action, or a CDB field value), and its access. */
export interface ConflictRow {
  /** T10 command name. */
  readonly name: string;
  readonly opcode: number;
  /** Service action (CDB byte 1 bits 4..0), for rows of one service action. */
  readonly serviceAction?: number;
  /** A CDB field the row depends on (PREVENT, START STOP UNIT's START/POWER CONDITION); first matching row wins. */
  readonly when?: (cdb: Uint8Array) => boolean;
  readonly spc2: Access;
  readonly pr: TypeColumns | RegistrationColumns;
}

const A: Access = 'allowed';
const C: Access = 'conflict';
const cols = (we: Access, ea: Access, registered: Access, weRoAr: Access, eaRoAr: Access): TypeColumns => ({ kind: 'type', we, ea, registered, weRoAr, eaRoAr });
const byRegistration = (registered: Access, unregistered: Access): RegistrationColumns => ({ kind: 'registration', registered, unregistered });

/** Allowed through every persistent reservation. */
const ALL = cols(A, A, A, A, A);
/** Reads the medium or the unit's state: allowed through Write Exclusive, not Exclusive Access. */
const READS = cols(A, C, A, A, C);
/** Changes the medium or the unit's state: only registrants of a registrants only / all registrants reservation. */
const WRITES = cols(C, C, A, C, C);

type Options = Pick<ConflictRow, 'serviceAction' | 'when'>;
const row = (name: string, opcode: number, spc2: Access, pr: TypeColumns | RegistrationColumns, opts: Options = {}): ConflictRow => ({ name, opcode, spc2, pr, ...opts });
const sa = (serviceAction: number): Options => ({ serviceAction });

// CDB fields rows depend on.
const prevent = (cdb: Uint8Array): boolean => ((cdb[4] ?? 0) & 0x03) !== 0; // PREVENT ALLOW MEDIUM REMOVAL byte 4 bits 1..0
/** START STOP UNIT with START = 1 (byte 4 bit 0) and POWER CONDITION 0h (byte 4 bits 7..4). */
const startOnly = (cdb: Uint8Array): boolean => ((cdb[4] ?? 0) & 0xf1) === 0x01;

/** The table: SPC-5 rows, then SBC-4 rows, by operation code. */
export const CONFLICT_TABLE: readonly ConflictRow[] = [
  // SPC-5
  row('TEST UNIT READY', 0x00, C, ALL),
  row('REQUEST SENSE', 0x03, A, ALL),
  row('INQUIRY', 0x12, A, ALL),
  row('MODE SELECT(6)', 0x15, C, WRITES),
  row('RESERVE(6)', 0x16, C, ALL),
  row('RELEASE(6)', 0x17, A, ALL),
  row('MODE SENSE(6)', 0x1a, C, READS),
  row('RECEIVE DIAGNOSTIC RESULTS', 0x1c, C, READS),
  row('SEND DIAGNOSTIC', 0x1d, C, WRITES),
  row('PREVENT ALLOW MEDIUM REMOVAL (PREVENT ≠ 0)', 0x1e, C, WRITES, { when: prevent }),
  row('PREVENT ALLOW MEDIUM REMOVAL (PREVENT 0)', 0x1e, A, ALL),
  row('WRITE BUFFER', 0x3b, C, WRITES),
  row('READ BUFFER', 0x3c, C, READS),
  row('LOG SELECT', 0x4c, C, WRITES),
  row('LOG SENSE', 0x4d, A, ALL),
  row('MODE SELECT(10)', 0x55, C, WRITES),
  row('RESERVE(10)', 0x56, C, ALL),
  row('RELEASE(10)', 0x57, A, ALL),
  row('MODE SENSE(10)', 0x5a, C, READS),
  row('PERSISTENT RESERVE IN', 0x5e, C, ALL),
  row('PERSISTENT RESERVE OUT REGISTER', 0x5f, C, byRegistration(A, A), sa(0x00)),
  row('PERSISTENT RESERVE OUT RESERVE', 0x5f, C, byRegistration(C, C), sa(0x01)),
  row('PERSISTENT RESERVE OUT RELEASE', 0x5f, C, byRegistration(A, C), sa(0x02)),
  row('PERSISTENT RESERVE OUT CLEAR', 0x5f, C, byRegistration(A, C), sa(0x03)),
  row('PERSISTENT RESERVE OUT PREEMPT', 0x5f, C, byRegistration(A, C), sa(0x04)),
  row('PERSISTENT RESERVE OUT PREEMPT AND ABORT', 0x5f, C, byRegistration(A, C), sa(0x05)),
  row('PERSISTENT RESERVE OUT REGISTER AND IGNORE EXISTING KEY', 0x5f, C, byRegistration(A, A), sa(0x06)),
  row('PERSISTENT RESERVE OUT REGISTER AND MOVE', 0x5f, C, byRegistration(C, C), sa(0x07)),
  row('EXTENDED COPY', 0x83, C, WRITES),
  row('RECEIVE COPY RESULTS', 0x84, C, READS),
  row('READ ATTRIBUTE', 0x8c, C, READS),
  row('WRITE ATTRIBUTE', 0x8d, C, WRITES),
  row('REPORT LUNS', 0xa0, A, ALL),
  row('SECURITY PROTOCOL IN', 0xa2, C, READS),
  row('REPORT TARGET PORT GROUPS', 0xa3, A, ALL, sa(0x0a)),
  row('REPORT SUPPORTED OPERATION CODES', 0xa3, C, READS, sa(0x0c)),
  row('REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS', 0xa3, C, READS, sa(0x0d)),
  row('READ MEDIA SERIAL NUMBER', 0xab, A, ALL, sa(0x01)),
  row('SECURITY PROTOCOL OUT', 0xb5, C, WRITES),
  // SBC-4
  row('FORMAT UNIT', 0x04, C, WRITES),
  row('REASSIGN BLOCKS', 0x07, C, WRITES),
  row('READ(6)', 0x08, C, READS),
  row('WRITE(6)', 0x0a, C, WRITES),
  row('START STOP UNIT (START 1, POWER CONDITION 0h)', 0x1b, C, ALL, { when: startOnly }),
  row('START STOP UNIT', 0x1b, C, WRITES),
  row('READ CAPACITY(10)', 0x25, C, ALL),
  row('READ(10)', 0x28, C, READS),
  row('WRITE(10)', 0x2a, C, WRITES),
  row('WRITE AND VERIFY(10)', 0x2e, C, WRITES),
  row('VERIFY(10)', 0x2f, C, READS),
  row('PRE-FETCH(10)', 0x34, C, READS),
  row('SYNCHRONIZE CACHE(10)', 0x35, C, WRITES),
  row('READ DEFECT DATA(10)', 0x37, C, READS),
  row('READ LONG(10)', 0x3e, C, WRITES),
  row('WRITE LONG(10)', 0x3f, C, WRITES),
  row('WRITE SAME(10)', 0x41, C, WRITES),
  row('UNMAP', 0x42, C, WRITES),
  row('SANITIZE', 0x48, C, WRITES),
  row('READ(16)', 0x88, C, READS),
  row('COMPARE AND WRITE', 0x89, C, WRITES),
  row('WRITE(16)', 0x8a, C, WRITES),
  row('ORWRITE(16)', 0x8b, C, WRITES),
  row('WRITE AND VERIFY(16)', 0x8e, C, WRITES),
  row('VERIFY(16)', 0x8f, C, READS),
  row('PRE-FETCH(16)', 0x90, C, READS),
  row('SYNCHRONIZE CACHE(16)', 0x91, C, WRITES),
  row('WRITE SAME(16)', 0x93, C, WRITES),
  row('WRITE ATOMIC(16)', 0x9c, C, WRITES),
  row('READ CAPACITY(16)', 0x9e, C, ALL, sa(0x10)),
  row('READ LONG(16)', 0x9e, C, WRITES, sa(0x11)),
  row('GET LBA STATUS', 0x9e, C, READS, sa(0x12)),
  row('REPORT REFERRALS', 0x9e, C, READS, sa(0x13)),
  row('WRITE LONG(16)', 0x9f, C, WRITES, sa(0x11)),
  row('READ(12)', 0xa8, C, READS),
  row('WRITE(12)', 0xaa, C, WRITES),
  row('WRITE AND VERIFY(12)', 0xae, C, WRITES),
  row('VERIFY(12)', 0xaf, C, READS),
  row('READ DEFECT DATA(12)', 0xb7, C, READS),
];

/** For an implemented command the table does not list: a medium write, the safe guess. */
export const DEFAULT_ROW: ConflictRow = row('(not listed)', -1, C, WRITES);

const SERVICE_ACTION = 0x1f; // CDB byte 1 bits 4..0
const BY_OPCODE = new Map<number, ConflictRow[]>();
for (const r of CONFLICT_TABLE) {
  const list = BY_OPCODE.get(r.opcode) ?? [];
  list.push(r);
  BY_OPCODE.set(r.opcode, list);
}

/** The row for a CDB (first match by operation code, service action and field predicate), or DEFAULT_ROW. */
export function conflictRow(cdb: Uint8Array): ConflictRow {
  const rows = BY_OPCODE.get(cdb[0] ?? -1);
  if (rows === undefined) return DEFAULT_ROW;
  const saValue = (cdb[1] ?? 0) & SERVICE_ACTION;
  for (const r of rows) {
    if (r.serviceAction !== undefined && r.serviceAction !== saValue) continue;
    if (r.when !== undefined && !r.when(cdb)) continue;
    return r;
  }
  return DEFAULT_ROW;
}

/** A row's access for a nexus that holds no persistent reservation of type `type`. */
export function persistentAccess(r: ConflictRow, type: PrType, registered: boolean): Access {
  const pr = r.pr;
  if (pr.kind === 'registration') return registered ? pr.registered : pr.unregistered;
  switch (type) {
    case PrType.WRITE_EXCLUSIVE:
      return pr.we;
    case PrType.EXCLUSIVE_ACCESS:
      return pr.ea;
    case PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY:
    case PrType.WRITE_EXCLUSIVE_ALL_REGISTRANTS:
      return registered ? pr.registered : pr.weRoAr;
    case PrType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY:
    case PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS:
      return registered ? pr.registered : pr.eaRoAr;
  }
}

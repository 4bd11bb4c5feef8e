// Lookup and checking of CDBs against a command table: the per-opcode index
// (operation code, then SERVICE ACTION) built once per table, the faults for an
// unknown operation code or service action, a short CDB and a bit set outside
// the usage mask, and the views derived from a table (restrictUsage for a
// logical unit's narrowed table, reservedBits for fuzzers, formatCommandTable
// for docs). The table itself (descriptor shape, vtcam's commands, the usage
// mask convention) is command-table.ts; this module re-exports it, so callers
// import both from here.
// Spec: SPC-5 (ASC and ASCQ assignments: INVALID COMMAND OPERATION CODE,
// INVALID FIELD IN CDB; field pointer sense key specific data; REPORT SUPPORTED
// OPERATION CODES one_command format: CDB USAGE DATA).

import { Asc, invalidFieldInCdb, senseIllegalRequest, type Decoded, type SenseData } from '../sense.js';
import { COMMANDS, type CommandDescriptor } from './command-table.js';

export {
  COMMANDS,
  DPO_FUA_COMMANDS,
  DPO_FUA_MASK,
  PROTECT_COMMANDS,
  PROTECT_MASK,
  type CommandDescriptor,
  type DataDirection,
} from './command-table.js';

/** SERVICE ACTION: CDB byte 1 bits 4..0 for every service-action command in the command table. */
export const SERVICE_ACTION_MASK = 0x1f;
/** The service action field's byte and most significant bit (field pointer for an unknown service action). */
export const SERVICE_ACTION_FIELD = { byte: 1, bit: 4 } as const;

/** A successful lookup; made once per descriptor (lookups run for every command, and a Decoded is read-only). */
type Found = Decoded<CommandDescriptor> & { readonly ok: true };

// Per-opcode index: a plain descriptor, or the descriptors by service action.
interface OpcodeEntry {
  readonly plain?: Found;
  readonly bySa?: ReadonlyMap<number, Found>;
}

const indexes = new WeakMap<readonly CommandDescriptor[], readonly (OpcodeEntry | undefined)[]>();

function indexOf(commands: readonly CommandDescriptor[]): readonly (OpcodeEntry | undefined)[] {
  const cached = indexes.get(commands);
  if (cached !== undefined) return cached;
  const index = buildIndex(commands);
  indexes.set(commands, index);
  return index;
}

// Out of indexOf, which runs for every command: the closures here would give
// each of its calls a context object.
function buildIndex(commands: readonly CommandDescriptor[]): readonly (OpcodeEntry | undefined)[] {
  const plain = new Map<number, CommandDescriptor>();
  const bySa = new Map<number, Map<number, CommandDescriptor>>();
  for (const d of commands) {
    if (d.serviceAction === undefined) {
      if (plain.has(d.opcode) || bySa.has(d.opcode)) throw new RangeError(`command table: opcode 0x${hex2(d.opcode)} listed twice`);
      plain.set(d.opcode, d);
    } else {
      if (plain.has(d.opcode)) throw new RangeError(`command table: opcode 0x${hex2(d.opcode)} both with and without service actions`);
      const m = bySa.get(d.opcode) ?? new Map<number, CommandDescriptor>();
      if (m.has(d.serviceAction)) throw new RangeError(`command table: 0x${hex2(d.opcode)}/${d.serviceAction} listed twice`);
      m.set(d.serviceAction, d);
      bySa.set(d.opcode, m);
    }
  }
  const found = (d: CommandDescriptor): Found => ({ ok: true, value: d });
  const index: (OpcodeEntry | undefined)[] = [];
  for (let op = 0; op < 256; op++) {
    const p = plain.get(op);
    const s = bySa.get(op);
    index.push(p !== undefined ? { plain: found(p) } : s !== undefined ? { bySa: new Map([...s].map(([sa, d]) => [sa, found(d)])) } : undefined);
  }
  return index;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Fault for a CDB shorter than its operation code's CDB length. That is a
 * framing problem (iSCSI always carries 16 bytes, so only a raw pass-through
 * caller can cause it); it is reported as INVALID FIELD IN CDB pointing at the
 * OPERATION CODE byte (no bit): "this operation code does not fit this CDB".
 */
export function shortCdbFault(): SenseData {
  return invalidFieldInCdb(0);
}

/** True when `opcode` has service actions in `commands`. */
export function hasServiceActions(opcode: number, commands: readonly CommandDescriptor[] = COMMANDS): boolean {
  return indexOf(commands)[opcode & 0xff]?.bySa !== undefined;
}

/** The descriptor for `opcode` (and `serviceAction` when the opcode has service actions), if implemented. */
export function findCommand(
  opcode: number,
  serviceAction?: number,
  commands: readonly CommandDescriptor[] = COMMANDS,
): CommandDescriptor | undefined {
  const e = indexOf(commands)[opcode & 0xff];
  if (e === undefined) return undefined;
  if (e.plain !== undefined) return serviceAction === undefined ? e.plain.value : undefined;
  return serviceAction === undefined ? undefined : e.bySa?.get(serviceAction)?.value;
}

/**
 * Finds the descriptor for a CDB. Faults (all ILLEGAL REQUEST):
 * - empty CDB or unknown operation code: INVALID COMMAND OPERATION CODE (20h/00h), field byte 0;
 * - known operation code with an unknown service action: INVALID FIELD IN CDB at byte 1 bit 4
 *   (the SERVICE ACTION field's most significant bit);
 * - CDB shorter than the command's CDB length: see shortCdbFault().
 * Bytes past cdbLength are ignored (iSCSI pads every CDB to 16 bytes).
 */
export function lookupCommand(cdb: Uint8Array, commands: readonly CommandDescriptor[] = COMMANDS): Decoded<CommandDescriptor> {
  // Indexed reads, not a DataView: this runs for every command, and a DataView
  // over a small Uint8Array first moves its bytes off the V8 heap.
  const op = cdb[0];
  if (op === undefined) return { ok: false, fault: senseIllegalRequest(Asc.INVALID_COMMAND_OPERATION_CODE, { cdb: true, byte: 0 }) };
  const e = indexOf(commands)[op];
  if (e === undefined) return { ok: false, fault: senseIllegalRequest(Asc.INVALID_COMMAND_OPERATION_CODE, { cdb: true, byte: 0 }) };
  let d = e.plain;
  if (d === undefined) {
    const b1 = cdb[1];
    if (b1 === undefined) return { ok: false, fault: shortCdbFault() };
    d = e.bySa?.get(b1 & SERVICE_ACTION_MASK);
    if (d === undefined) return { ok: false, fault: invalidFieldInCdb(SERVICE_ACTION_FIELD.byte, SERVICE_ACTION_FIELD.bit) };
  }
  if (cdb.length < d.value.cdbLength) return { ok: false, fault: shortCdbFault() };
  return d;
}

/**
 * Checks the CDB against the descriptor's usage mask: the first bit set outside
 * both `usage` and `ignored` (lowest byte, then highest bit) gives INVALID FIELD
 * IN CDB with that byte and bit, or with the first bit of the multiple-bit field
 * that holds it (CommandDescriptor.fields). Byte 0 (the operation code) is not
 * checked; bytes past cdbLength are ignored. A CDB shorter than cdbLength gives
 * shortCdbFault().
 */
export function checkUsage(cdb: Uint8Array, desc: CommandDescriptor): SenseData | undefined {
  if (cdb.length < desc.cdbLength) return shortCdbFault();
  // Indexed reads (every index is below cdbLength, checked above): see lookupCommand.
  const { usage, ignored } = desc;
  for (let i = 1; i < desc.cdbLength; i++) {
    const allowed = (usage[i] ?? 0) | (ignored?.[i] ?? 0);
    const extra = (cdb[i] ?? 0) & ~allowed & 0xff;
    if (extra !== 0) return invalidFieldInCdb(i, pointedBit(desc, i, 31 - Math.clz32(extra)));
  }
  return undefined;
}

/**
 * The BIT POINTER for refused bit `bit` of byte `byte`: `bit` itself, unless a
 * multiple-bit field holds it — then the field's first (left-most) bit, SPC-5
 * 4.4.2.4.2, whichever of its bits are set.
 */
function pointedBit(desc: CommandDescriptor, byte: number, bit: number): number {
  const field = desc.fields?.find((f) => f.byte === byte && (f.mask & (1 << bit)) !== 0);
  return field === undefined ? bit : 31 - Math.clz32(field.mask);
}

/**
 * Whether `cdb` names a command whose second execution does not end as one
 * does (CommandDescriptor.once): what a SIM reads before it re-issues a
 * command its reset cut short, and a periph before it retries one that may
 * have acted. False for a CDB that names no command in `commands` (unknown operation
 * code or service action, too short): the device server rejects it without
 * acting, however often it is sent.
 */
export function executesOnce(cdb: Uint8Array, commands: readonly CommandDescriptor[] = COMMANDS): boolean {
  const d = lookupCommand(cdb, commands);
  return d.ok && d.value.once === true;
}

/**
 * The most parameter data a Data-In command may return, from its table entry (CommandDescriptor.dataIn):
 * the value of its ALLOCATION LENGTH field, or its fixed length. Undefined for a CDB the table does not know,
 * one cut short, a command that is not Data-In, and the block reads (their TRANSFER LENGTH says it).
 */
export function dataInLimit(cdb: Uint8Array, commands: readonly CommandDescriptor[] = COMMANDS): { readonly name: string; readonly bytes: number } | undefined {
  const d = lookupCommand(cdb, commands);
  if (!d.ok || d.value.dataDir !== 'in' || cdb.length < d.value.cdbLength || d.value.dataIn === undefined) return undefined;
  const bound = d.value.dataIn;
  if ('fixed' in bound) return { name: d.value.name, bytes: bound.fixed };
  let n = 0;
  for (let i = 0; i < bound.size; i++) n = n * 256 + (cdb[bound.byte + i] ?? 0);
  return { name: d.value.name, bytes: n };
}

/** lookupCommand then checkUsage: the syntax check every CDB gets before its fields are looked at. */
export function validateCdb(cdb: Uint8Array, commands: readonly CommandDescriptor[] = COMMANDS): Decoded<CommandDescriptor> {
  const found = lookupCommand(cdb, commands);
  if (!found.ok) return found;
  const fault = checkUsage(cdb, found.value);
  return fault === undefined ? found : { ok: false, fault };
}

/** Every (byte, bit) a descriptor rejects (neither in usage nor ignored), in checkUsage's order — for fuzzers and docs. */
export function reservedBits(desc: CommandDescriptor): { byte: number; bit: number }[] {
  const out: { byte: number; bit: number }[] = [];
  for (let byte = 1; byte < desc.cdbLength; byte++) {
    const allowed = (desc.usage[byte] ?? 0) | (desc.ignored?.[byte] ?? 0);
    for (let bit = 7; bit >= 0; bit--) if ((allowed & (1 << bit)) === 0) out.push({ byte, bit });
  }
  return out;
}

/**
 * A copy of `commands` where the descriptors named in `names` no longer allow
 * the `clear` bits of CDB byte `byte` — how a logical unit turns off a feature
 * (protection information, DPO/FUA) so that both CDB checking and REPORT
 * SUPPORTED OPERATION CODES agree. `oneField`: the `clear` bits are one
 * multiple-bit field (RDPROTECT), pointed at by its first bit when set
 * (CommandDescriptor.fields); otherwise each is a field of its own (DPO, FUA).
 */
export function restrictUsage(
  commands: readonly CommandDescriptor[],
  names: readonly string[],
  byte: number,
  clear: number,
  oneField = false,
): CommandDescriptor[] {
  return commands.map((d) => {
    if (!names.includes(d.name) || byte <= 0 || byte >= d.cdbLength) return d;
    const usage = Uint8Array.from(d.usage);
    usage[byte] = (usage[byte] ?? 0) & ~clear & 0xff;
    return oneField ? { ...d, usage, fields: [...(d.fields ?? []), { byte, mask: clear }] } : { ...d, usage };
  });
}

/**
 * The command table as Markdown (name, operation code / service action, CDB
 * length, data direction, CDB USAGE DATA, ignored bits) — the docs view of the
 * same data that drives checking and REPORT SUPPORTED OPERATION CODES.
 */
export function formatCommandTable(commands: readonly CommandDescriptor[] = COMMANDS): string {
  const hexBytes = (b: Uint8Array): string => Array.from(b, hex2).join(' ');
  const rows = commands.map((d) => {
    const code = d.serviceAction === undefined ? `${hex2(d.opcode)}h` : `${hex2(d.opcode)}h/${hex2(d.serviceAction)}h`;
    const ignored = d.ignored === undefined ? '' : `\`${hexBytes(d.ignored)}\``;
    return `| ${d.name} | ${code} | ${d.cdbLength} | ${d.dataDir} | \`${hexBytes(d.usage)}\` | ${ignored} |`;
  });
  return ['| command | opcode/SA | length | data | CDB usage data | ignored |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
}

import { describe, expect, it } from 'vitest';
import {
  checkUsage,
  COMMANDS,
  dataInLimit,
  DPO_FUA_COMMANDS,
  DPO_FUA_MASK,
  executesOnce,
  findCommand,
  formatCommandTable,
  hasServiceActions,
  lookupCommand,
  PROTECT_COMMANDS,
  PROTECT_MASK,
  reservedBits,
  restrictUsage,
  validateCdb,
  type CommandDescriptor,
} from '../../../src/scsi/cdb/registry.js';
import { decodeCdb } from '../../../src/scsi/cdb/decode.js';
import { cdbLengthByGroup, handMasks, ignoredMasks } from './registry.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16));
const byName = (name: string): CommandDescriptor => {
  const d = COMMANDS.find((c) => c.name === name);
  if (d === undefined) throw new Error(`no ${name}`);
  return d;
};
/** The smallest valid-looking CDB for a descriptor: opcode, service action, zeros. */
const baseCdb = (d: CommandDescriptor): Uint8Array => {
  const cdb = new Uint8Array(d.cdbLength);
  cdb[0] = d.opcode;
  if (d.serviceAction !== undefined) cdb[1] = d.serviceAction;
  return cdb;
};
const invalidField = (byte: number, bit?: number) => ({
  key: 0x5,
  asc: 0x24,
  ascq: 0x00,
  field: bit === undefined ? { cdb: true, byte } : { cdb: true, byte, bit },
});

describe('COMMANDS table invariants', () => {
  it('is sorted by operation code then service action, with unique names and (opcode, SA)', () => {
    const keys = COMMANDS.map((d) => d.opcode * 0x10000 + (d.serviceAction ?? 0));
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(COMMANDS.map((d) => d.name)).size).toBe(COMMANDS.length);
  });

  it.each(COMMANDS.map((d) => [d.name, d] as const))('%s: usage[0] is the opcode, length follows the opcode group, CONTROL is 00', (_n, d) => {
    expect(d.usage.length).toBe(d.cdbLength);
    expect(d.usage[0]).toBe(d.opcode);
    expect(d.cdbLength).toBe(cdbLengthByGroup[d.opcode >> 5]);
    expect(d.usage[d.cdbLength - 1]).toBe(0x00);
    if (d.serviceAction !== undefined) expect((d.usage[1] ?? 0) & 0x1f).toBe(0x1f); // SANITIZE adds IMMED and AUSE beside it
    if (d.ignored !== undefined) {
      expect(d.ignored.length).toBe(d.cdbLength);
      expect(d.usage.every((u, i) => (u & (d.ignored?.[i] ?? 0)) === 0)).toBe(true);
    }
  });

  it('service-action opcodes are all-or-nothing; SANITIZE has no CRYPTOGRAPHIC ERASE', () => {
    for (const op of new Set(COMMANDS.map((d) => d.opcode))) {
      const ds = COMMANDS.filter((d) => d.opcode === op);
      const withSa = ds.filter((d) => d.serviceAction !== undefined).length;
      expect(withSa === 0 || withSa === ds.length).toBe(true);
      expect(hasServiceActions(op)).toBe(withSa > 0);
    }
    expect(findCommand(0x48)).toBeUndefined();
    expect(findCommand(0x48, 0x01)?.name).toBe('SANITIZE_OVERWRITE');
    expect(findCommand(0x48, 0x03)).toBeUndefined();
    expect(findCommand(0x9e, 0x10)?.name).toBe('READ_CAPACITY_16');
    expect(findCommand(0x9e)).toBeUndefined();
    expect(findCommand(0x28, 0)).toBeUndefined();
  });

  it('every Data-In command but the block reads says how much it may return, at the ALLOCATION LENGTH of the T10 tables', () => {
    // SPC-5/SBC-4: (byte, size) of each ALLOCATION LENGTH; READ CAPACITY (10) returns 8 bytes and has none.
    const expected: Record<string, string> = {
      REQUEST_SENSE: '4/1',
      INQUIRY: '3/2',
      MODE_SENSE_6: '4/1',
      READ_CAPACITY_10: 'fixed 8',
      READ_DEFECT_DATA_10: '7/2',
      MODE_SENSE_10: '7/2',
      PERSISTENT_RESERVE_IN_READ_KEYS: '7/2',
      PERSISTENT_RESERVE_IN_READ_RESERVATION: '7/2',
      PERSISTENT_RESERVE_IN_REPORT_CAPABILITIES: '7/2',
      PERSISTENT_RESERVE_IN_READ_FULL_STATUS: '7/2',
      RECEIVE_COPY_STATUS_LID1: '10/4',
      RECEIVE_COPY_OPERATING_PARAMETERS: '10/4',
      READ_CAPACITY_16: '10/4',
      GET_LBA_STATUS: '10/4',
      REPORT_LUNS: '6/4',
      REPORT_SUPPORTED_OPERATION_CODES: '6/4',
      REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS: '6/4',
      READ_DEFECT_DATA_12: '6/4',
    };
    const blockReads = ['READ_6', 'READ_10', 'READ_16', 'READ_12']; // in opcode order: 08h, 28h, 88h, A8h
    const got: Record<string, string> = {};
    for (const d of COMMANDS) {
      if (d.dataIn === undefined) continue;
      got[d.name] = 'fixed' in d.dataIn ? `fixed ${d.dataIn.fixed}` : `${d.dataIn.byte}/${d.dataIn.size}`;
      // The field is in the CDB and every one of its bits may be set.
      if (!('fixed' in d.dataIn)) expect([...d.usage.subarray(d.dataIn.byte, d.dataIn.byte + d.dataIn.size)]).toEqual(new Array<number>(d.dataIn.size).fill(0xff));
    }
    expect(got).toEqual(expected);
    expect(COMMANDS.filter((d) => d.dataDir === 'in' && d.dataIn === undefined).map((d) => d.name)).toEqual(blockReads);
  });

  it('dataInLimit reads that field from a CDB; nothing for block reads, Data-Out, unknown or short CDBs', () => {
    expect(dataInLimit(Uint8Array.of(0x12, 0, 0, 0x01, 0x02, 0))).toEqual({ name: 'INQUIRY', bytes: 0x102 });
    expect(dataInLimit(Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0, 0))).toEqual({ name: 'REPORT_LUNS', bytes: 0x01020304 });
    expect(dataInLimit(Uint8Array.of(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toEqual({ name: 'READ_CAPACITY_10', bytes: 8 });
    expect(dataInLimit(Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0))).toBeUndefined();
    expect(dataInLimit(Uint8Array.of(0x15, 0x10, 0, 0, 16, 0))).toBeUndefined();
    expect(dataInLimit(Uint8Array.of(0xc0, 0, 0, 0, 0xff, 0))).toBeUndefined();
    expect(dataInLimit(Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 1))).toBeUndefined();
  });
});

describe('hand-written masks from the T10 tables', () => {
  it.each(Object.entries(handMasks))('%s', (name, mask) => {
    const d = byName(name);
    expect(hex(d.usage)).toBe(norm(mask));
    const allowed = bytes(mask);
    const ignored = ignoredMasks[name] === undefined ? new Uint8Array(d.cdbLength) : bytes(ignoredMasks[name]);
    // Every bit outside the hand mask: exactly INVALID FIELD IN CDB at that byte and bit.
    for (let byte = 1; byte < d.cdbLength; byte++) {
      for (let bit = 7; bit >= 0; bit--) {
        const m = 1 << bit;
        const cdb = baseCdb(d);
        cdb[byte] = (cdb[byte] ?? 0) | m;
        const inMask = (((allowed[byte] ?? 0) | (ignored[byte] ?? 0)) & m) !== 0;
        expect(checkUsage(cdb, d), `${name} byte ${byte} bit ${bit}`).toEqual(inMask ? undefined : invalidField(byte, bit));
      }
    }
  });
});

/**
 * The bit a field pointer names for refused bit `bit` of byte `byte` (SPC-5 4.4.2.4.2): a multiple-bit field
 * in error is pointed at by its first, left-most bit, whichever of its bits is set; any other bit by itself.
 */
const expectedBit = (d: CommandDescriptor, byte: number, bit: number): number => {
  const field = d.fields?.find((x) => x.byte === byte && ((x.mask >> bit) & 1) === 1);
  if (field === undefined) return bit;
  let first = 7;
  while (((field.mask >> first) & 1) === 0) first--;
  return first;
};
/** A logical unit without protection information (unit-description.ts): RDPROTECT and its kin refused as one field. */
const withoutPi = restrictUsage(COMMANDS, PROTECT_COMMANDS, 1, PROTECT_MASK, true);
const fuzzTables = [
  ...COMMANDS.map((d) => [d.name, d, COMMANDS] as const),
  ...withoutPi.filter((d) => PROTECT_COMMANDS.includes(d.name)).map((d) => [`${d.name} without protection information`, d, withoutPi] as const),
];

describe('reserved-bit fuzz over the whole table', () => {
  it.each(fuzzTables)('%s: each reserved bit alone is INVALID FIELD IN CDB at that bit, or its field\'s first bit', (_n, d, table) => {
    const bits = reservedBits(d);
    expect(bits.length).toBeGreaterThan(0); // every CDB has at least the CONTROL byte
    for (const { byte, bit } of bits) {
      const cdb = baseCdb(d);
      cdb[byte] = (cdb[byte] ?? 0) | (1 << bit);
      const fault = invalidField(byte, expectedBit(d, byte, bit));
      expect(validateCdb(cdb, table)).toEqual({ ok: false, fault });
      // The usage check runs before any field check, so decodeCdb reports the same.
      expect(decodeCdb(cdb, table)).toEqual({ ok: false, fault });
    }
    // NACA in particular: CONTROL byte bit 2.
    expect(bits).toContainEqual({ byte: d.cdbLength - 1, bit: 2 });
  });

  it.each(fuzzTables)('%s: a multiple-bit field is contiguous and wholly refused', (_n, d) => {
    for (const { byte, mask } of d.fields ?? []) {
      expect(mask & (mask - 1), 'more than one bit').not.toBe(0);
      expect((mask + (mask & -mask)) & mask, 'contiguous').toBe(0);
      for (let bit = 0; bit < 8; bit++) if (((mask >> bit) & 1) === 1) expect(reservedBits(d)).toContainEqual({ byte, bit });
    }
  });

  it('the multiple-bit fields of the table: FORMAT UNIT FFMT (byte 4 bits 1..0); RDPROTECT and kin (byte 1 bits 7..5) once refused', () => {
    expect(COMMANDS.filter((d) => d.fields !== undefined).map((d) => [d.name, d.fields])).toEqual([['FORMAT_UNIT', [{ byte: 4, mask: 0x03 }]]]);
    for (const d of withoutPi.filter((x) => PROTECT_COMMANDS.includes(x.name))) expect(d.fields).toEqual([{ byte: 1, mask: 0xe0 }]);
  });

  it.each(COMMANDS.map((d) => [d.name, d] as const))('%s: no allowed bit trips the usage check', (_n, d) => {
    const cdb = baseCdb(d);
    for (let i = 1; i < d.cdbLength; i++) cdb[i] = (cdb[i] ?? 0) | (d.usage[i] ?? 0) | (d.ignored?.[i] ?? 0);
    expect(checkUsage(cdb, d)).toBeUndefined();
  });
});

describe('lookupCommand', () => {
  it('unknown operation code: INVALID COMMAND OPERATION CODE (20h/00h), field pointer byte 0', () => {
    for (const op of [0x01, 0x02, 0x7f, 0xa5, 0xc0, 0xff]) {
      expect(lookupCommand(Uint8Array.of(op, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toEqual({
        ok: false,
        fault: { key: 0x5, asc: 0x20, ascq: 0x00, field: { cdb: true, byte: 0 } },
      });
    }
  });

  it('known operation code, unknown service action: INVALID FIELD IN CDB at byte 1 bit 4', () => {
    expect(lookupCommand(bytes('9e 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00'))).toEqual({ ok: false, fault: invalidField(1, 4) });
    expect(lookupCommand(bytes('a3 1f 00 00 00 00 00 00 00 00 00 00'))).toEqual({ ok: false, fault: invalidField(1, 4) });
  });

  it('the service action ignores reserved bits 7..5 (the usage check reports them)', () => {
    const cdb = bytes('9e f0 00 00 00 00 00 00 00 00 00 00 00 20 00 00');
    expect(lookupCommand(cdb)).toMatchObject({ ok: true, value: { name: 'READ_CAPACITY_16' } });
    expect(validateCdb(cdb)).toEqual({ ok: false, fault: invalidField(1, 7) });
  });

  it('a CDB shorter than its operation code needs: INVALID FIELD IN CDB at byte 0, no bit', () => {
    expect(lookupCommand(bytes('28 00 00 00 00 00 00 00 01'))).toEqual({ ok: false, fault: invalidField(0) });
    expect(lookupCommand(bytes('a3'))).toEqual({ ok: false, fault: invalidField(0) });
    expect(checkUsage(bytes('28 00'), byName('READ_10'))).toEqual(invalidField(0));
  });

  it('bytes past the CDB length are not looked at (iSCSI carries 16)', () => {
    expect(validateCdb(bytes('00 00 00 00 00 00 ff ff ff ff ff ff ff ff ff ff'))).toMatchObject({ ok: true, value: { name: 'TEST_UNIT_READY' } });
  });

  it('checkUsage reports the lowest byte first, then its highest bit', () => {
    expect(checkUsage(bytes('28 07 00 00 00 00 c0 00 01 04'), byName('READ_10'))).toEqual(invalidField(1, 2));
    expect(checkUsage(bytes('28 00 00 00 00 00 c0 00 01 04'), byName('READ_10'))).toEqual(invalidField(6, 7));
  });

  it('works on a subarray (non-zero byteOffset)', () => {
    const buf = bytes('ff ff 28 04 00 00 00 00 00 00 01 00');
    expect(validateCdb(buf.subarray(2))).toEqual({ ok: false, fault: invalidField(1, 2) });
  });

  it('rejects a table listing a command twice (a table bug throws)', () => {
    const d = byName('READ_10');
    expect(() => lookupCommand(bytes('28 00 00 00 00 00 00 00 01 00'), [d, d])).toThrow(RangeError);
  });
});

describe('restrictUsage: a logical unit without a feature', () => {
  it('without protection information, RDPROTECT ≠ 0 is INVALID FIELD IN CDB at its first bit (libiscsi Read10.RdProtect)', () => {
    const lu = restrictUsage(COMMANDS, PROTECT_COMMANDS, 1, PROTECT_MASK, true);
    expect(hex(lu.find((d) => d.name === 'READ_10')?.usage ?? new Uint8Array())).toBe('28 18 ff ff ff ff 3f ff ff 00');
    for (let p = 1; p < 8; p++) {
      const cdb = bytes('28 00 00 00 00 00 00 00 01 00');
      cdb[1] = p << 5;
      // RDPROTECT is byte 1 bits 7..5: one field, pointed at by bit 7 whatever its value (SPC-5 4.4.2.4.2).
      expect(validateCdb(cdb, lu)).toEqual({ ok: false, fault: invalidField(1, 7) });
      expect(decodeCdb(cdb, lu).ok).toBe(false);
    }
    // COMMANDS itself is untouched.
    expect(byName('READ_10').usage[1]).toBe(0xf8);
  });

  it('without DPO/FUA, both are rejected and RSOC stops reporting them (libiscsi Read10.DpoFua)', () => {
    const lu = restrictUsage(COMMANDS, DPO_FUA_COMMANDS, 1, DPO_FUA_MASK);
    expect(validateCdb(bytes('28 10 00 00 00 00 00 00 01 00'), lu)).toEqual({ ok: false, fault: invalidField(1, 4) });
    expect(validateCdb(bytes('28 08 00 00 00 00 00 00 01 00'), lu)).toEqual({ ok: false, fault: invalidField(1, 3) });
    expect((lu.find((d) => d.name === 'VERIFY_10')?.usage[1] ?? 0) & 0x18).toBe(0);
  });

  it('ignores byte 0 and bytes past the CDB', () => {
    expect(restrictUsage(COMMANDS, ['READ_10'], 0, 0xff)).toEqual(COMMANDS);
    expect(restrictUsage(COMMANDS, ['READ_10'], 10, 0xff)).toEqual(COMMANDS);
  });
});

describe('formatCommandTable (docs from the same data)', () => {
  it('has a header and one row per command', () => {
    const lines = formatCommandTable().split('\n');
    expect(lines.length).toBe(2 + COMMANDS.length);
    expect(lines).toContain('| READ_10 | 28h | 10 | in | `28 f8 ff ff ff ff 3f ff ff 00` |  |');
    expect(lines).toContain('| READ_6 | 08h | 6 | in | `08 1f ff ff ff 00` | `00 e0 00 00 00 00` |');
    expect(lines).toContain('| READ_CAPACITY_16 | 9eh/10h | 16 | in | `9e 1f ff ff ff ff ff ff ff ff ff ff ff ff 01 00` |  |');
  });
});

describe('executesOnce: commands whose second execution does not end as one does', () => {
  // From the commands' semantics, not from the table: COMPARE AND WRITE (SBC-4) miscompares against its own
  // write; PERSISTENT RESERVE OUT (SPC-5) meets the registration or reservation it changed; EXTENDED COPY
  // (SPC-5) re-reads what an overlapping destination overwrote; SANITIZE (SBC-4) finds its own sanitize running.
  const ONCE = [
    'COMPARE_AND_WRITE',
    'EXTENDED_COPY_LID1',
    'PERSISTENT_RESERVE_OUT_CLEAR',
    'PERSISTENT_RESERVE_OUT_PREEMPT',
    'PERSISTENT_RESERVE_OUT_PREEMPT_AND_ABORT',
    'PERSISTENT_RESERVE_OUT_REGISTER',
    'PERSISTENT_RESERVE_OUT_REGISTER_AND_IGNORE_EXISTING_KEY',
    'PERSISTENT_RESERVE_OUT_RELEASE',
    'PERSISTENT_RESERVE_OUT_RESERVE',
    'SANITIZE_BLOCK_ERASE',
    'SANITIZE_EXIT_FAILURE_MODE',
    'SANITIZE_OVERWRITE',
  ];

  it('the table marks exactly these', () => {
    expect(COMMANDS.filter((d) => d.once === true).map((d) => d.name).sort()).toEqual(ONCE);
  });

  it.each(COMMANDS.map((d) => [d.name, d] as const))('%s, from its CDB', (name, d) => {
    expect(executesOnce(baseCdb(d))).toBe(ONCE.includes(name));
  });

  it('a CDB that names no command in the table is not one (the device server rejects it, however often)', () => {
    expect(executesOnce(new Uint8Array(0))).toBe(false);
    // Operation code FFh: not implemented.
    expect(executesOnce(bytes('ff 00 00 00 00 00'))).toBe(false);
    // PERSISTENT RESERVE OUT REGISTER AND MOVE (service action 07h): not in the table.
    expect(executesOnce(bytes('5f 07 00 00 00 00 00 00 18 00'))).toBe(false);
    // COMPARE AND WRITE cut to 10 bytes: shorter than its 16.
    expect(executesOnce(bytes('89 00 00 00 00 00 00 00 00 00'))).toBe(false);
  });

  it("a unit's own table answers the same (restrictUsage keeps the mark)", () => {
    const unit = restrictUsage(COMMANDS, PROTECT_COMMANDS, 1, PROTECT_MASK);
    expect(executesOnce(bytes('89 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00'), unit)).toBe(true);
    expect(executesOnce(bytes('88 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00'), unit)).toBe(false);
  });
});

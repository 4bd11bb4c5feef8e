// Property tests over the whole command table: random CDB bytes never make a
// decoder throw, every fault is ILLEGAL REQUEST 20h or 24h with a field
// pointer inside the CDB, and every CDB that decodes encodes back to itself.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { COMMANDS } from '../../../src/scsi/cdb/registry.js';
import { decodeCdb, encodeCdb } from '../../../src/scsi/cdb/decode.js';
import { decodeRw, encodeRw, type RwOp } from '../../../src/scsi/cdb/rw.js';

const opcodes = [...new Set(COMMANDS.map((d) => d.opcode))];

/** A command from the table with random bytes kept inside its usage mask, now and then one bit outside. */
const maskedArb = fc
  .tuple(fc.constantFrom(...COMMANDS), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.option(fc.nat(127), { freq: 4 }))
  .map(([d, rnd, flip]) => {
    const cdb = new Uint8Array(d.cdbLength);
    cdb[0] = d.opcode;
    for (let i = 1; i < d.cdbLength; i++) cdb[i] = (rnd[i] ?? 0) & (d.usage[i] ?? 0);
    if (d.serviceAction !== undefined) cdb[1] = d.serviceAction;
    if (flip !== null) {
      const byte = 1 + (flip % (d.cdbLength - 1));
      cdb[byte] = (cdb[byte] ?? 0) ^ (1 << (flip >> 4) % 8);
    }
    return cdb;
  });

/** Mostly known opcodes (with their service actions), sometimes anything, at lengths 0..16. */
const cdbArb = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...opcodes) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...COMMANDS.map((d) => d.serviceAction ?? 0)) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    ),
    fc.uint8Array({ minLength: 0, maxLength: 16 }),
    fc.boolean(),
  )
  .map(([op, b1, rest, sparse]) => {
    const cdb = new Uint8Array(rest.length + 1);
    cdb[0] = op;
    // Sparse CDBs (mostly zero) reach the field checks more often than random bytes.
    for (let i = 1; i < cdb.length; i++) {
      const b = rest[i - 1] ?? 0;
      cdb[i] = sparse && b % 4 !== 0 ? 0 : b;
    }
    if (cdb.length > 1) cdb[1] = sparse ? b1 & 0x1f : b1;
    return cdb;
  });

const anyCdbArb = fc.oneof(cdbArb, maskedArb);

describe('decodeCdb on arbitrary bytes', () => {
  it('the generator reaches both outcomes (a fuzzer that only sees faults proves little)', () => {
    const sample = fc.sample(anyCdbArb, { numRuns: 5_000, seed: 1 });
    const ok = sample.filter((c) => decodeCdb(c).ok).length;
    expect(ok).toBeGreaterThan(250);
    expect(sample.length - ok).toBeGreaterThan(250);
  });

  it('never throws; faults are ILLEGAL REQUEST 20h/24h pointing inside the CDB', () => {
    fc.assert(
      fc.property(anyCdbArb, (cdb) => {
        const r = decodeCdb(cdb);
        if (r.ok) return;
        expect(r.fault.key).toBe(0x5);
        expect([0x20, 0x24]).toContain(r.fault.asc);
        expect(r.fault.ascq).toBe(0);
        expect(r.fault.field?.cdb).toBe(true);
        expect(r.fault.field?.byte).toBeGreaterThanOrEqual(0);
        expect(r.fault.field?.byte).toBeLessThan(Math.max(cdb.length, 1));
        if (r.fault.asc === 0x20) expect(r.fault.field).toEqual({ cdb: true, byte: 0 });
      }),
      { numRuns: 20_000 },
    );
  });

  it('whatever decodes re-encodes to the same CDB bytes (minLength = its length)', () => {
    fc.assert(
      fc.property(anyCdbArb, (cdb) => {
        const r = decodeCdb(cdb);
        if (!r.ok) return;
        const { descriptor, ...fields } = r.value;
        const back = encodeCdb(fields, { minLength: descriptor.cdbLength });
        // READ(6)/WRITE(6) ignore the former LUN bits, which do not come back.
        const expected = cdb.slice(0, descriptor.cdbLength);
        if (descriptor.ignored !== undefined) expected.forEach((b, i) => (expected[i] = b & ~(descriptor.ignored?.[i] ?? 0)));
        expect(Array.from(back)).toEqual(Array.from(expected));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('encodeRw on arbitrary valid requests', () => {
  const opArb = fc.constantFrom<RwOp>('READ', 'WRITE', 'VERIFY', 'WRITE_AND_VERIFY');
  const reqArb = fc
    .record({
      op: opArb,
      lba: fc.oneof(fc.bigInt({ min: 0n, max: 0x1fffffn }), fc.bigInt({ min: 0n, max: 0xffff_ffffn }), fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn })),
      blocks: fc.oneof(fc.integer({ min: 0, max: 256 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff_ffff })),
      dpo: fc.boolean(),
      fua: fc.boolean(),
      protect: fc.integer({ min: 0, max: 7 }),
      bytchk: fc.constantFrom(0, 1, 3),
      groupNumber: fc.integer({ min: 0, max: 63 }),
      minLength: fc.constantFrom(6, 10, 12, 16),
    })
    .map(({ minLength, ...r }) => {
      const hasBytchk = r.op === 'VERIFY' || r.op === 'WRITE_AND_VERIFY';
      const bytchk = !hasBytchk ? 0 : r.op === 'WRITE_AND_VERIFY' ? r.bytchk & 1 : r.bytchk;
      return { cmd: { ...r, fua: hasBytchk ? false : r.fua, bytchk }, minLength };
    });

  it('decodes back to the request, in the smallest CDB allowed', () => {
    fc.assert(
      fc.property(reqArb, ({ cmd, minLength }) => {
        const cdb = encodeRw(cmd, { minLength });
        expect(cdb.length).toBeGreaterThanOrEqual(minLength);
        const r = decodeRw(cdb);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value).toEqual(cmd);
        // No smaller length at or above minLength would have carried it.
        for (const smaller of [6, 10, 12].filter((l) => l >= minLength && l < cdb.length)) {
          let fits = true;
          try {
            fits = encodeRw(cmd, { minLength: smaller }).length === smaller;
          } catch {
            fits = false;
          }
          expect(fits).toBe(false);
        }
      }),
      { numRuns: 5_000 },
    );
  });
});

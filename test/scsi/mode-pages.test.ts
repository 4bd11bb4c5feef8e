import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MODE_PAGE_LAYOUTS,
  ModePageCode,
  ModeSubpageCode,
  applyModeSelect,
  buildModeSense,
  defaultModeState,
  type ModeSelectRequest,
  type ModeSenseRequest,
  type ModeState,
  type PageControl,
} from '../../src/scsi/mode-pages.js';
import { bigReadOnly, disk } from './inquiry.vectors.js';
import { CACHING_WCE0, CONTROL_DSENSE1, modeSelectVectors, modeSenseFaultVectors, modeSenseVectors, stateDefault } from './mode-pages.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => (norm(h) === '' ? new Uint8Array(0) : Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16)));

const ALLOWED_SELECT_ASC = [0x1a, 0x24, 0x26, 0x39];

describe('constants (SPC-5 / SBC-4)', () => {
  it('page codes and PAGE LENGTHs match the spec', () => {
    expect(ModePageCode).toEqual({ READ_WRITE_ERROR_RECOVERY: 0x01, CACHING: 0x08, CONTROL: 0x0a, INFORMATIONAL_EXCEPTIONS_CONTROL: 0x1c, ALL_PAGES: 0x3f });
    expect(ModeSubpageCode).toEqual({ PAGE_0: 0x00, ALL_SUBPAGES: 0xff });
    expect(MODE_PAGE_LAYOUTS.map((l) => [l.code, l.pageLength])).toEqual([
      [0x01, 0x0a],
      [0x08, 0x12],
      [0x0a, 0x0a],
      [0x1c, 0x0a],
    ]);
  });

  for (const layout of MODE_PAGE_LAYOUTS) {
    it(`${layout.name} table covers every bit of bytes 2..${layout.pageLength + 1} exactly once`, () => {
      const owner = new Array<string | undefined>(8 * (2 + layout.pageLength)).fill(undefined);
      for (const field of layout.fields) {
        const start = field.byte * 8 + (7 - field.msb);
        expect(field.msb).toBeGreaterThanOrEqual(0);
        expect(field.msb).toBeLessThanOrEqual(7);
        // A field either sits inside one byte or is whole big-endian bytes.
        expect(field.bits <= field.msb + 1 || (field.msb === 7 && field.bits % 8 === 0)).toBe(true);
        for (let p = start; p < start + field.bits; p++) {
          expect(owner[p], `bit ${p} of ${layout.name}`).toBeUndefined();
          owner[p] = field.name;
        }
      }
      expect(owner.slice(0, 16).every((x) => x === undefined)).toBe(true); // bytes 0..1 are the page header
      expect(owner.slice(16).every((x) => x !== undefined)).toBe(true);
    });
  }
});

describe('defaultModeState', () => {
  it('WCE from the info, D_SENSE 0', () => {
    expect(defaultModeState(disk)).toEqual({ wce: true, dSense: false, swp: false });
    expect(defaultModeState(bigReadOnly)).toEqual({ wce: false, dSense: false, swp: false });
  });
});

describe('buildModeSense vectors', () => {
  for (const v of modeSenseVectors) {
    it(v.name, () => {
      const r = buildModeSense(v.req, v.state, v.info);
      if (!r.ok) throw new Error(`unexpected fault ${JSON.stringify(r.fault)}`);
      expect(hex(r.value)).toBe(norm(v.hex));
    });
  }

  for (const v of modeSenseFaultVectors) {
    it(`fault: ${v.name}`, () => {
      expect(buildModeSense(v.req, stateDefault, disk)).toEqual({ ok: false, fault: v.fault });
    });
  }

  it('caller bugs throw and the builder keeps working', () => {
    const req: ModeSenseRequest = { six: true, dbd: true, llbaa: false, pc: 'current', page: 0x08, subpage: 0 };
    expect(() => buildModeSense({ ...req, page: 0x40 }, stateDefault, disk)).toThrow(RangeError);
    expect(() => buildModeSense({ ...req, page: -1 }, stateDefault, disk)).toThrow(RangeError);
    expect(() => buildModeSense({ ...req, subpage: 0x100 }, stateDefault, disk)).toThrow(RangeError);
    expect(() => buildModeSense({ ...req, llbaa: true }, stateDefault, disk)).toThrow(/LLBAA/);
    expect(() => buildModeSense(req, stateDefault, { ...disk, vendor: 'X'.repeat(9) })).toThrow(RangeError);
    expect(buildModeSense(req, stateDefault, disk).ok).toBe(true);
  });

  it('MODE DATA LENGTH and BLOCK DESCRIPTOR LENGTH describe the data for every request', () => {
    const req = fc.record({
      six: fc.boolean(),
      dbd: fc.boolean(),
      llbaa: fc.boolean(),
      pc: fc.constantFrom<PageControl>('current', 'changeable', 'default', 'saved'),
      page: fc.integer({ min: 0, max: 0x3f }),
      subpage: fc.oneof(fc.constantFrom(0x00, 0xff), fc.integer({ min: 0, max: 0xff })),
    });
    const state = fc.record({ wce: fc.boolean(), dSense: fc.boolean(), swp: fc.boolean() });
    fc.assert(
      fc.property(req, state, fc.constantFrom(disk, bigReadOnly), (r0, s, info) => {
        const r: ModeSenseRequest = { ...r0, llbaa: r0.llbaa && !r0.six };
        const out = buildModeSense(r, s, info);
        if (!out.ok) return out.fault.key === 5 && [0x24, 0x39].includes(out.fault.asc);
        const v = new DataView(out.value.buffer);
        const mdl = r.six ? v.getUint8(0) + 1 : v.getUint16(0) + 2;
        const bdl = r.six ? v.getUint8(3) : v.getUint16(6);
        const expectedBdl = r.dbd ? 0 : r.llbaa ? 16 : 8;
        return mdl === out.value.length && bdl === expectedBdl && (v.getUint8(r.six ? 2 : 3) & 0x80) === (info.readOnly || s.swp ? 0x80 : 0);
      }),
    );
  });
});

describe('applyModeSelect vectors', () => {
  for (const v of modeSelectVectors) {
    it(v.name, () => {
      const r = applyModeSelect(bytes(v.params), v.req, v.state, v.info);
      if ('fault' in v.result) expect(r).toEqual({ ok: false, fault: v.result.fault });
      else expect(r).toEqual({ ok: true, value: v.result });
    });
  }

  it('reads a parameter list that sits at an offset in a larger buffer', () => {
    const whole = bytes('ee ee 00 00 00 00 ' + CACHING_WCE0 + ' ee');
    const r = applyModeSelect(whole.subarray(2, 2 + 4 + 20), { six: true, pf: true, sp: false }, stateDefault, disk);
    expect(r).toEqual({ ok: true, value: { state: { wce: false, dSense: false, swp: false }, changed: true } });
  });

  it('does not mutate the state it is given and keeps working after a fault', () => {
    const state: ModeState = Object.freeze({ wce: true, dSense: false, swp: false });
    const bad = applyModeSelect(bytes('00 00 00 00 ' + CACHING_WCE0 + ' 0a 0a 22 10 00 00 00 00 00 00 00 00'), { six: true, pf: true, sp: false }, state, disk);
    expect(bad.ok).toBe(false);
    expect(state).toEqual({ wce: true, dSense: false, swp: false });
    const good = applyModeSelect(bytes('00 00 00 00 ' + CONTROL_DSENSE1), { six: true, pf: true, sp: false }, state, disk);
    expect(good).toEqual({ ok: true, value: { state: { wce: true, dSense: true, swp: false }, changed: true } });
  });

  it('a select round-trips through MODE SENSE current values', () => {
    const state: ModeState = { wce: false, dSense: true, swp: false };
    const sensed = buildModeSense({ six: false, dbd: false, llbaa: true, pc: 'current', page: 0x3f, subpage: 0 }, state, disk);
    if (!sensed.ok) throw new Error('MODE SENSE refused');
    expect(applyModeSelect(sensed.value, { six: false, pf: true, sp: false }, stateDefault, disk)).toEqual({ ok: true, value: { state, changed: true } });
    expect(applyModeSelect(sensed.value, { six: false, pf: true, sp: false }, state, disk)).toEqual({ ok: true, value: { state, changed: false } });
  });
});

describe('applyModeSelect never throws on hostile parameter lists', () => {
  const selectReq = fc.record({ six: fc.boolean(), pf: fc.boolean(), sp: fc.boolean() });
  const stateArb = fc.record({ wce: fc.boolean(), dSense: fc.boolean(), swp: fc.boolean() });
  const infoArb = fc.constantFrom(disk, bigReadOnly);

  /** A valid list (what MODE SENSE would return, turned into a MODE SELECT list), then mutated. */
  const nearValid = fc
    .record({
      six: fc.boolean(),
      dbd: fc.boolean(),
      llbaa: fc.boolean(),
      page: fc.constantFrom(0x01, 0x08, 0x0a, 0x1c, 0x3f),
      state: stateArb,
      info: infoArb,
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xff })), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    })
    .map((x) => {
      const sensed = buildModeSense({ six: x.six, dbd: x.dbd, llbaa: x.llbaa && !x.six, pc: 'current', page: x.page, subpage: 0 }, x.state, x.info);
      const list = sensed.ok ? Uint8Array.from(sensed.value) : new Uint8Array(0);
      for (const [at, value] of x.edits) if (list.length > 0) list[at % list.length] = value;
      const cut = x.cut === undefined ? list : list.subarray(0, x.cut % (list.length + 1));
      return { params: cut, six: x.six, info: x.info };
    });

  const check = (r: ReturnType<typeof applyModeSelect>, state: ModeState): boolean => {
    if (r.ok) return typeof r.value.changed === 'boolean' && r.value.changed === (r.value.state.wce !== state.wce || r.value.state.dSense !== state.dSense || r.value.state.swp !== state.swp);
    return r.fault.key === 0x5 && ALLOWED_SELECT_ASC.includes(r.fault.asc) && r.fault.ascq === 0;
  };

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), selectReq, stateArb, infoArb, (params, req: ModeSelectRequest, state, info) => check(applyModeSelect(params, req, state, info), state)),
      { numRuns: 2000 },
    );
  });

  it('mutated and truncated MODE SENSE data', () => {
    fc.assert(
      fc.property(nearValid, fc.boolean(), fc.boolean(), stateArb, ({ params, six, info }, pf, sp, state) => check(applyModeSelect(params, { six, pf, sp }, state, info), state)),
      { numRuns: 2000 },
    );
  });

  it('an accepted list re-reads as the state it produced', () => {
    fc.assert(
      fc.property(nearValid, stateArb, ({ params, six, info }, state) => {
        const r = applyModeSelect(params, { six, pf: true, sp: false }, state, info);
        if (!r.ok) return true;
        const again = buildModeSense({ six: true, dbd: true, llbaa: false, pc: 'current', page: 0x3f, subpage: 0 }, r.value.state, info);
        if (!again.ok) return false;
        const reapplied = applyModeSelect(Uint8Array.from(again.value), { six: true, pf: true, sp: false }, r.value.state, info);
        return reapplied.ok && !reapplied.value.changed;
      }),
      { numRuns: 1000 },
    );
  });
});

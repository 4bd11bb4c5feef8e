import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../src/scsi/cdb/registry.js';
import {
  buildRsocData,
  buildRstmfData,
  decodeRsocCdb,
  encodeRsocCdb,
  type RsocCdb,
  type TaskManagementFunction,
} from '../../../src/scsi/cdb/rsoc.js';
import { rsocDataFaults, rsocDataVectors, rstmfVectors, smallSet } from './rsoc.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

const request = (rctd: boolean, reportingOptions: 0 | 1 | 2 | 3, opcode: number, sa: number, allocationLength = 0xffff): RsocCdb => ({
  rctd,
  reportingOptions,
  requestedOperationCode: opcode,
  requestedServiceAction: sa,
  allocationLength,
});

describe('buildRsocData byte-exact (small command set)', () => {
  it.each(rsocDataVectors)('$name', (v) => {
    const r = buildRsocData(smallSet, request(v.rctd, v.reportingOptions, v.opcode, v.sa));
    expect(r.ok).toBe(true);
    if (r.ok) expect(hex(r.value)).toBe(norm(v.hex));
  });

  it.each(rsocDataFaults)('fault: $name', (v) => {
    expect(buildRsocData(smallSet, request(false, v.reportingOptions, v.opcode, v.sa))).toEqual({
      ok: false,
      fault: { key: 0x5, asc: 0x24, ascq: 0x00, field: { cdb: true, byte: 2, bit: 2 } },
    });
  });

  it('returns the full data whatever the ALLOCATION LENGTH (truncation is the caller’s)', () => {
    const r = buildRsocData(smallSet, request(false, 0, 0, 0, 4));
    expect(r.ok && r.value.length).toBe(28);
  });

  it('does not reorder the caller’s array', () => {
    const copy = [...smallSet];
    buildRsocData(copy, request(false, 0, 0, 0));
    expect(copy.map((d) => d.name)).toEqual(smallSet.map((d) => d.name));
  });
});

describe('RSOC over the full table (the libiscsi ReportSupportedOpcodes checks)', () => {
  const all = buildRsocData(COMMANDS, request(false, 0, 0, 0));
  if (!all.ok) throw new Error('all_commands failed');
  const data = new DataView(all.value.buffer);
  const n = data.getUint32(0) / 8;

  it('lists every command once, SERVACTV iff it has a service action, SA 0 otherwise', () => {
    expect(n).toBe(COMMANDS.length);
    for (let k = 0; k < n; k++) {
      const at = 4 + 8 * k;
      const op = data.getUint8(at);
      const sa = data.getUint16(at + 2);
      const servactv = (data.getUint8(at + 5) & 1) === 1;
      const d = COMMANDS.find((c) => c.opcode === op && (c.serviceAction ?? 0) === sa);
      expect(d).toBeDefined();
      expect(servactv).toBe(d?.serviceAction !== undefined);
      if (!servactv) expect(sa).toBe(0);
      expect(data.getUint16(at + 6)).toBe(d?.cdbLength);
      // one_command with the option libiscsi uses works; the other fails.
      const one = buildRsocData(COMMANDS, request(false, servactv ? 2 : 1, op, sa));
      expect(one.ok).toBe(true);
      if (one.ok) {
        expect(one.value[1]).toBe(0x03);
        expect(new DataView(one.value.buffer).getUint16(2)).toBe(d?.cdbLength);
        expect(one.value[4]).toBe(op);
        // The usage map, with the SERVICE ACTION queried in byte 1 bits 4..0 in place of its mask (SPC-5 one_command).
        const usage = Uint8Array.from(d?.usage ?? []);
        if (servactv) usage[1] = ((usage[1] ?? 0) & 0xe0) | sa;
        expect(hex(one.value.subarray(4))).toBe(hex(usage));
        if (servactv) expect((one.value[5] ?? 0) & 0x1f).toBe(sa);
      }
      expect(buildRsocData(COMMANDS, request(false, servactv ? 1 : 2, op, sa)).ok).toBe(false);
    }
  });

  it('RCTD: every descriptor has CTDP and DESCRIPTOR LENGTH 0Ah', () => {
    const r = buildRsocData(COMMANDS, request(true, 0, 0, 0));
    if (!r.ok) throw new Error('RCTD failed');
    const v = new DataView(r.value.buffer);
    expect(v.getUint32(0)).toBe(20 * COMMANDS.length);
    for (let k = 0; k < COMMANDS.length; k++) {
      expect(v.getUint8(4 + 20 * k + 5) & 2).toBe(2);
      expect(v.getUint16(4 + 20 * k + 8)).toBe(0x0a);
    }
  });

  it('the RSOC CDB itself round-trips through decodeRsocCdb', () => {
    const cdb = encodeRsocCdb({ rctd: true, reportingOptions: 3, requestedOperationCode: 0x9e, requestedServiceAction: 0x10, allocationLength: 512 });
    expect(hex(cdb)).toBe('a3 0c 83 9e 00 10 00 00 02 00 00 00');
    expect(decodeRsocCdb(cdb)).toEqual({
      ok: true,
      value: { rctd: true, reportingOptions: 3, requestedOperationCode: 0x9e, requestedServiceAction: 0x10, allocationLength: 512 },
    });
  });
});

describe('buildRstmfData (SPC-5 basic and extended formats)', () => {
  it.each(rstmfVectors)('$name', (v) => {
    const timeouts =
      v.timeouts === undefined
        ? undefined
        : { longTimeout100ms: v.timeouts.long, shortTimeout100ms: v.timeouts.short, useLong: v.timeouts.useLong as TaskManagementFunction[] };
    expect(hex(buildRstmfData(v.tmfs as TaskManagementFunction[], { repd: v.repd }, timeouts))).toBe(norm(v.hex));
  });

  it('basic format ignores timeouts; TARGET RESET and WAKEUP have no timeout selector', () => {
    expect(hex(buildRstmfData(['ABORT_TASK'], { repd: false }, { longTimeout100ms: 1, shortTimeout100ms: 1, useLong: ['ABORT_TASK'] }))).toBe('80 00 00 00');
    expect(() => buildRstmfData([], { repd: true }, { longTimeout100ms: 1, shortTimeout100ms: 1, useLong: ['WAKEUP'] })).toThrow(RangeError);
    expect(() => buildRstmfData([], { repd: true }, { longTimeout100ms: -1, shortTimeout100ms: 1, useLong: [] })).toThrow(RangeError);
  });
});

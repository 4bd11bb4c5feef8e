// Persistent reservation parameter data and iSCSI TransportIDs, byte by byte
// against vectors written from the SPC-5 tables (pr-data.vectors.ts).

import { describe, expect, it } from 'vitest';
import {
  LU_SCOPE,
  PROUT_PARAMETER_LIST_LENGTH,
  PrType,
  decodeProutParameters,
  encodeProutParameters,
  encodeReadFullStatus,
  encodeReadKeys,
  encodeReadReservation,
  encodeReportCapabilities,
  isAllRegistrants,
  isPrType,
  isRegistrantsOnly,
} from '../../src/scsi/pr-data.js';
import { IscsiTransportIdFormat, MAX_TRANSPORT_ID_LENGTH, PROTOCOL_ISCSI, encodeIscsiTransportId, transportIdLengthFault } from '../../src/scsi/transport-id.js';
import { proutFaultVectors, proutVectors, transportIdVectors } from './pr-data.vectors.js';

const norm = (h: string): string => h.trim().split(/\s+/).filter((x) => x !== '').join(' ');
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const bytes = (h: string): Uint8Array => (norm(h) === '' ? new Uint8Array(0) : Uint8Array.from(norm(h).split(' '), (x) => parseInt(x, 16)));

describe('constants (SPC-5)', () => {
  it('TYPE codes, LU_SCOPE, the basic parameter list length', () => {
    expect(PrType).toEqual({
      WRITE_EXCLUSIVE: 1,
      EXCLUSIVE_ACCESS: 3,
      WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 5,
      EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 6,
      WRITE_EXCLUSIVE_ALL_REGISTRANTS: 7,
      EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 8,
    });
    expect([LU_SCOPE, PROUT_PARAMETER_LIST_LENGTH, PROTOCOL_ISCSI]).toEqual([0, 24, 5]);
    expect(IscsiTransportIdFormat).toEqual({ INITIATOR_DEVICE: 0, INITIATOR_PORT: 1 });
  });

  it('type predicates', () => {
    expect(Array.from({ length: 16 }, (_, t) => isPrType(t))).toEqual([false, true, false, true, false, true, true, true, true, false, false, false, false, false, false, false]);
    expect(Object.values(PrType).filter(isAllRegistrants)).toEqual([7, 8]);
    expect(Object.values(PrType).filter(isRegistrantsOnly)).toEqual([5, 6]);
  });
});

describe('PERSISTENT RESERVE OUT parameter list', () => {
  for (const v of proutVectors) {
    it(v.name, () => {
      const p = { reservationKey: v.rk, serviceActionReservationKey: v.sark, specIPt: v.specIPt, allTgPt: v.allTgPt, aptpl: v.aptpl };
      expect(hex(encodeProutParameters(p))).toBe(norm(v.hex));
      expect(decodeProutParameters(bytes(v.hex))).toEqual({ ok: true, value: p });
    });
  }

  for (const v of proutFaultVectors) {
    it(`refuses: ${v.name}`, () => {
      const d = decodeProutParameters(bytes(v.hex));
      const fault = v.field === undefined ? { key: 5, asc: v.asc, ascq: 0 } : { key: 5, asc: v.asc, ascq: 0, field: { cdb: false, ...v.field } };
      expect(d).toEqual({ ok: false, fault });
    });
  }

  it('decodes only the first 24 bytes of a longer list, and ignores the obsolete bytes', () => {
    const list = bytes(`${proutVectors[0]?.hex ?? ''} ff ff ff ff`);
    list.set([9, 9, 9, 9], 16);
    list.set([9, 9], 22);
    expect(decodeProutParameters(list)).toEqual({ ok: true, value: { reservationKey: 0n, serviceActionReservationKey: 1n, specIPt: false, allTgPt: false, aptpl: false } });
  });

  it('a key outside 64 bits is a caller bug', () => {
    expect(() => encodeProutParameters({ reservationKey: 1n << 64n })).toThrow(/reservationKey must fit 64 bits/);
    expect(() => encodeProutParameters({ serviceActionReservationKey: -1n })).toThrow(/serviceActionReservationKey/);
  });
});

describe('PERSISTENT RESERVE IN data', () => {
  it('READ KEYS: PRGENERATION, ADDITIONAL LENGTH 8n, the keys', () => {
    expect(hex(encodeReadKeys(0, []))).toBe('00 00 00 00 00 00 00 00');
    expect(hex(encodeReadKeys(0x0102_0304, [1n, 0xffff_ffff_ffff_ffffn]))).toBe(
      norm('01 02 03 04 00 00 00 10  00 00 00 00 00 00 00 01  ff ff ff ff ff ff ff ff'),
    );
  });

  it('READ RESERVATION: header only, or 16 more bytes with the key and SCOPE | TYPE at byte 21', () => {
    expect(hex(encodeReadReservation(7, undefined))).toBe('00 00 00 07 00 00 00 00');
    expect(hex(encodeReadReservation(0xffff_ffff, { key: 0xa1n, scope: 0, type: PrType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY }))).toBe(
      norm('ff ff ff ff 00 00 00 10  00 00 00 00 00 00 00 a1  00 00 00 00  00  06  00 00'),
    );
  });

  it('REPORT CAPABILITIES: each bit where SPC-5 puts it', () => {
    const none = { rlrC: false, crh: false, sipC: false, atpC: false, ptplC: false, allowCommands: 0, ptplA: false, types: [] };
    expect(hex(encodeReportCapabilities(none))).toBe('00 08 00 80 00 00 00 00');
    const all = { rlrC: true, crh: true, sipC: true, atpC: true, ptplC: true, allowCommands: 7, ptplA: true, types: Object.values(PrType) };
    expect(hex(encodeReportCapabilities(all))).toBe('00 08 9d f1 ea 01 00 00');
    expect(hex(encodeReportCapabilities({ ...none, types: [PrType.WRITE_EXCLUSIVE] }))).toBe('00 08 00 80 02 00 00 00');
    expect(hex(encodeReportCapabilities({ ...none, types: [PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS] }))).toBe('00 08 00 80 00 01 00 00');
    expect(() => encodeReportCapabilities({ ...none, allowCommands: 8 })).toThrow(/allowCommands is 3 bits/);
  });

  it('READ FULL STATUS: a holder and a registrant with ALL_TG_PT, TransportIDs of their own lengths', () => {
    const t1 = bytes('05 00 00 14  69 71 6e 2e 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
    const t2 = bytes(`${norm('45 00 00 18')} ${Array.from({ length: 24 }, () => '41').join(' ')}`);
    const data = encodeReadFullStatus(3, [
      { key: 0xa1n, allTgPt: false, holder: true, scope: 0, type: 3, relativeTargetPort: 1, transportId: t1 },
      // SCOPE and TYPE are only reported for a holder.
      { key: 0xb2n, allTgPt: true, holder: false, scope: 0, type: 3, relativeTargetPort: 0x1234, transportId: t2 },
    ]);
    expect(hex(data)).toBe(
      norm(`00 00 00 03  00 00 00 64
        00 00 00 00 00 00 00 a1  00 00 00 00  01  03  00 00 00 00  00 01  00 00 00 18  ${hex(t1)}
        00 00 00 00 00 00 00 b2  00 00 00 00  02  00  00 00 00 00  12 34  00 00 00 1c  ${hex(t2)}`),
    );
  });
});

describe('iSCSI TransportIDs', () => {
  for (const v of transportIdVectors) {
    it(v.name, () => {
      expect(hex(encodeIscsiTransportId(v.iscsiName, v.isid))).toBe(norm(v.hex));
      expect(transportIdLengthFault(bytes(v.hex))).toBeUndefined();
    });
  }

  it('names that cannot be iSCSI names, and ISIDs beyond 48 bits, are caller bugs', () => {
    expect(() => encodeIscsiTransportId('')).toThrow(RangeError);
    expect(() => encodeIscsiTransportId('iqn.a\0b')).toThrow(/without NUL/);
    expect(() => encodeIscsiTransportId('i'.repeat(224))).toThrow(/224 bytes/);
    expect(encodeIscsiTransportId('i'.repeat(223)).length).toBe(4 + 224);
    expect(() => encodeIscsiTransportId('iqn.x', 1n << 48n)).toThrow(/48 bits/);
    expect(() => encodeIscsiTransportId('iqn.x', -1n)).toThrow(/48 bits/);
  });

  it('lengths a TransportID can have: 24.. a multiple of 4 .. 4 + FFFCh', () => {
    for (const n of [24, 28, MAX_TRANSPORT_ID_LENGTH]) expect(transportIdLengthFault(new Uint8Array(n))).toBeUndefined();
    for (const n of [0, 20, 23, 25, 26, 27, MAX_TRANSPORT_ID_LENGTH + 4]) expect(transportIdLengthFault(new Uint8Array(n))).toMatch(/a multiple of 4/);
  });
});

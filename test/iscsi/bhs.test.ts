import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BhsView,
  decodeDataOut,
  decodeDataOutHeader,
  decodeLoginRequest,
  decodeLogoutRequest,
  decodeNopOut,
  decodeScsiCommand,
  decodeSnackRequest,
  decodeTaskMgmtRequest,
  decodeTextRequest,
  encodeAsyncMessage,
  encodeDataIn,
  encodeLoginResponse,
  encodeLogoutResponse,
  encodeNopIn,
  encodeR2t,
  encodeReject,
  encodeScsiResponse,
  encodeTaskMgmtResponse,
  encodeTextResponse,
  readDataSegmentLength,
  readImmediate,
  readItt,
  readOpcode,
  readTotalAhsLength,
  type PduDecoded,
} from '../../src/iscsi/bhs.js';
import type { DataInFields, LoginResponseFields, Pdu, ScsiResponseFields } from '../../src/iscsi/pdu-types.js';
import { READ10_COMMAND_BHS, decodeVectors, rejectVectors, type DecodeKind } from './bhs-decode.vectors.js';
import { encodeVectors, type EncodeVector } from './bhs-encode.vectors.js';
import { bytes, concat, hex, norm } from './hex.js';

const decoders: Record<DecodeKind, (pdu: Pdu) => PduDecoded<object>> = {
  scsiCommand: decodeScsiCommand,
  dataOut: decodeDataOut,
  nopOut: decodeNopOut,
  taskMgmtRequest: decodeTaskMgmtRequest,
  loginRequest: decodeLoginRequest,
  textRequest: decodeTextRequest,
  logoutRequest: decodeLogoutRequest,
  snackRequest: decodeSnackRequest,
};

/** Byte arrays as hex, so decoded values compare with the vectors. */
const plain = (value: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(value).map(([k, x]) => [k, x instanceof Uint8Array ? hex(x) : x]));

const pduOf = (v: { bhs: string; ahs?: string; data?: string }): Pdu => ({ bhs: bytes(v.bhs), ahs: bytes(v.ahs ?? ''), data: bytes(v.data ?? '') });

function encode(v: EncodeVector): Pdu {
  switch (v.kind) {
    case 'scsiResponse': return encodeScsiResponse(v.fields);
    case 'dataIn': return encodeDataIn(v.fields);
    case 'r2t': return encodeR2t(v.fields);
    case 'nopIn': return encodeNopIn(v.fields);
    case 'taskMgmtResponse': return encodeTaskMgmtResponse(v.fields);
    case 'loginResponse': return encodeLoginResponse(v.fields);
    case 'textResponse': return encodeTextResponse(v.fields);
    case 'logoutResponse': return encodeLogoutResponse(v.fields);
    case 'reject': return encodeReject(v.fields);
    case 'asyncMessage': return encodeAsyncMessage(v.fields);
  }
}

describe('vectors are well formed', () => {
  it.each([...decodeVectors, ...rejectVectors, ...encodeVectors])('$name: the BHS is 48 bytes', (v) => {
    expect(bytes(v.bhs)).toHaveLength(48);
  });
});

describe('initiator PDU decoders (RFC 7143 §11)', () => {
  it.each(decodeVectors)('$name', (v) => {
    const r = decoders[v.kind](pduOf(v));
    expect('reject' in r).toBe(false);
    expect(plain(r)).toEqual(v.value);
  });

  it.each(rejectVectors)('reject $reject: $name', (v) => {
    const r = decoders[v.kind](pduOf(v));
    expect(Object.keys(r).sort()).toEqual(['message', 'reject']);
    if (!('reject' in r)) throw new Error('expected a reject');
    expect(r.reject).toBe(v.reject);
    expect(r.message).toMatch(v.message);
  });

  it.each(decodeVectors.filter((v) => v.kind === 'dataOut'))('a Data-Out header alone (its data segment discarded): $name', (v) => {
    const { data, ...header } = v.value;
    expect(decodeDataOutHeader(bytes(v.bhs))).toEqual({ ...header, dataSegmentLength: bytes(typeof data === 'string' ? data : '').length });
  });

  it('a Data-Out header alone: an AHS is refused as decodeDataOut refuses it, another opcode is a caller bug', () => {
    const v = rejectVectors.find((x) => x.kind === 'dataOut');
    if (v === undefined) throw new Error('vector missing');
    const r = decodeDataOutHeader(bytes(v.bhs));
    expect('reject' in r ? [r.reject, r.message] : r).toEqual([0x09, expect.stringMatching(v.message)]);
    expect(() => decodeDataOutHeader(bytes(READ10_COMMAND_BHS))).toThrow(/opcode 0x1 is not 0x5/);
  });

  it('reads a BHS, AHS and data that are views into one larger buffer at odd offsets', () => {
    const v = decodeVectors.find((x) => x.name.includes('bidirectional'));
    if (v?.ahs === undefined) throw new Error('vector missing');
    const wire = concat(bytes('ee ee ee'), bytes(v.bhs), bytes(v.ahs), bytes('ee'));
    const pdu = { bhs: wire.subarray(3, 51), ahs: wire.subarray(51, 51 + bytes(v.ahs).length), data: new Uint8Array(0) };
    expect(plain(decodeScsiCommand(pdu))).toEqual(v.value);
  });

  it('a 16-byte CDB is a view of the BHS; an extended CDB is a fresh copy', () => {
    const plainCmd = pduOf({ bhs: READ10_COMMAND_BHS });
    const r = decodeScsiCommand(plainCmd);
    if ('reject' in r) throw new Error(r.message);
    expect(r.cdb.buffer).toBe(plainCmd.bhs.buffer);
    const ext = decodeVectors.find((x) => x.name.includes('32-byte CDB'));
    if (ext === undefined) throw new Error('vector missing');
    const pdu = pduOf(ext);
    const e = decodeScsiCommand(pdu);
    if ('reject' in e) throw new Error(e.message);
    expect(e.cdb).toHaveLength(32);
    expect(e.cdb.buffer).not.toBe(pdu.bhs.buffer);
  });

  it('a decoder called for another opcode is a caller bug', () => {
    expect(() => decodeDataOut(pduOf({ bhs: READ10_COMMAND_BHS }))).toThrow(/opcode 0x1 is not 0x5/);
    expect(() => decodeScsiCommand(pduOf({ bhs: READ10_COMMAND_BHS.replace(/^01/, '3f') }))).toThrow(RangeError);
  });

  it('a Pdu whose segments disagree with its BHS lengths is a caller bug', () => {
    expect(() => decodeScsiCommand({ ...pduOf({ bhs: READ10_COMMAND_BHS }), data: bytes('00') })).toThrow(/1 data bytes, DataSegmentLength says 0/);
    expect(() => decodeScsiCommand({ ...pduOf({ bhs: READ10_COMMAND_BHS }), ahs: bytes('00 01 3c 00') })).toThrow(/4 AHS bytes, TotalAHSLength says 0/);
    expect(() => decodeScsiCommand({ ...pduOf({ bhs: READ10_COMMAND_BHS }), bhs: bytes(READ10_COMMAND_BHS).subarray(0, 47) })).toThrow(/48 bytes, not 47/);
  });

  it('never throws on any BHS whose segments match its lengths: a value or a reject', () => {
    const opcodes: Record<DecodeKind, number> = {
      nopOut: 0x00, scsiCommand: 0x01, taskMgmtRequest: 0x02, loginRequest: 0x03, textRequest: 0x04, dataOut: 0x05, logoutRequest: 0x06, snackRequest: 0x10,
    };
    const kinds = Object.keys(opcodes) as DecodeKind[];
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.uint8Array({ minLength: 48, maxLength: 48 }), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 40 }), (kind, bhs, ahsRaw, data) => {
        const ahs = ahsRaw.subarray(0, ahsRaw.length & ~3);
        bhs[0] = ((bhs[0] ?? 0) & 0xc0) | opcodes[kind];
        bhs[4] = ahs.length / 4;
        bhs.set([data.length >> 16, (data.length >> 8) & 0xff, data.length & 0xff], 5);
        const r = decoders[kind]({ bhs, ahs, data });
        return typeof r === 'object';
      }),
    );
  });
});

/** An independent SCSI Command builder: offsets typed from the RFC 7143 §11.3 figure, not from BhsField. */
function buildScsiCommand(f: { immediate: boolean; flags: number; lun: bigint; itt: number; edtl: number; cmdSN: number; expStatSN: number; cdb: Uint8Array }): Uint8Array {
  const b = new Uint8Array(48);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, (f.immediate ? 0x40 : 0) | 0x01);
  dv.setUint8(1, f.flags);
  dv.setBigUint64(8, f.lun);
  dv.setUint32(16, f.itt);
  dv.setUint32(20, f.edtl);
  dv.setUint32(24, f.cmdSN);
  dv.setUint32(28, f.expStatSN);
  b.set(f.cdb, 32);
  return b;
}

describe('decodeScsiCommand over random fields', () => {
  it('reads every field back at its min, max and anything between', () => {
    const u32 = fc.oneof(fc.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff), fc.nat({ max: 0xffff_ffff }));
    // ITT FFFFFFFFh is reserved (§11.2.1.8): the largest an initiator may assign is FFFFFFFEh.
    const itt32 = fc.oneof(fc.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe), fc.nat({ max: 0xffff_fffe }));
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 0, max: 7 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), itt32, u32, u32, u32, fc.uint8Array({ minLength: 16, maxLength: 16 }), (immediate, attr, lun, itt, edtl, cmdSN, expStatSN, cdb) => {
        // F=1 R=1 W=1 keeps every transfer length legal.
        const bhs = buildScsiCommand({ immediate, flags: 0xe0 | attr, lun, itt, edtl, cmdSN, expStatSN, cdb });
        const r = decodeScsiCommand({ bhs, ahs: new Uint8Array(0), data: new Uint8Array(0) });
        if ('reject' in r) return false;
        expect(r).toMatchObject({ immediate, attr, lun, itt, expectedDataTransferLength: edtl, cmdSN, expStatSN, final: true, read: true, write: true });
        expect(hex(r.cdb)).toBe(hex(cdb));
        return true;
      }),
    );
  });
});

describe('target PDU encoders (RFC 7143 §11)', () => {
  it.each(encodeVectors)('$name', (v) => {
    const pdu = encode(v);
    expect(hex(pdu.bhs)).toBe(norm(v.bhs));
    expect(hex(pdu.data)).toBe(norm(v.data));
    expect(pdu.ahs).toHaveLength(0);
  });

  it.each(encodeVectors.filter((v) => v.kind === 'dataIn'))('$name, encoded into 48 given bytes that held garbage', (v) => {
    const at = new Uint8Array(60).fill(0xee).subarray(5, 53);
    const pdu = encodeDataIn({ ...v.fields, bhs: at });
    expect(pdu.bhs).toBe(at);
    expect(hex(at)).toBe(norm(v.bhs));
    expect(hex(pdu.data)).toBe(norm(v.data));
  });

  it('each encoder returns a fresh BHS: changing one PDU leaves the next alone', () => {
    const fields = { lun: 0n, itt: 1, ttt: 2, statSN: 3, expCmdSN: 4, maxCmdSN: 5, data: new Uint8Array(0) };
    const a = encodeNopIn(fields);
    a.bhs[20] = 0xff;
    expect(encodeNopIn(fields).bhs[20]).toBe(0);
  });

  it('DataSegmentLength: 24-bit maximum encodes, one more is a RangeError', () => {
    const base = { final: true, ack: false, lun: 0n, itt: 1, ttt: 0xffff_ffff, expCmdSN: 1, maxCmdSN: 1, dataSN: 0, bufferOffset: 0 };
    const max = encodeDataIn({ ...base, data: new Uint8Array(0xff_ffff) });
    expect(hex(max.bhs.subarray(4, 8))).toBe('00 ff ff ff');
    expect(readDataSegmentLength(max.bhs)).toBe(0xff_ffff);
    expect(() => encodeDataIn({ ...base, data: new Uint8Array(0x100_0000) })).toThrow(/24 bits/);
  });

  const scsiResponse: ScsiResponseFields = { itt: 1, response: 0, status: 0, statSN: 1, expCmdSN: 1, maxCmdSN: 1, expDataSN: 0, residual: { overflow: false, underflow: false, count: 0 } };
  const dataIn: DataInFields = { final: true, ack: false, lun: 0n, itt: 1, ttt: 0xffff_ffff, expCmdSN: 1, maxCmdSN: 1, dataSN: 0, bufferOffset: 0, data: new Uint8Array(1) };
  const good = { statSN: 1, scsiStatus: 0, residual: { overflow: false, underflow: false, count: 0 } };
  const login: LoginResponseFields = {
    transit: false, cont: false, csg: 0, nsg: 0, versionMax: 0, versionActive: 0, isid: 0n, tsih: 0, itt: 0, statSN: 0, expCmdSN: 0, maxCmdSN: 0,
    statusClass: 0, statusDetail: 0, data: new Uint8Array(0),
  };

  it.each([
    ['ITT 2^32', () => encodeScsiResponse({ ...scsiResponse, itt: 2 ** 32 })],
    ['negative StatSN', () => encodeScsiResponse({ ...scsiResponse, statSN: -1 })],
    ['fractional MaxCmdSN', () => encodeScsiResponse({ ...scsiResponse, maxCmdSN: 1.5 })],
    ['status 256', () => encodeScsiResponse({ ...scsiResponse, status: 256 })],
    ['overflow and underflow', () => encodeScsiResponse({ ...scsiResponse, residual: { overflow: true, underflow: true, count: 1 } })],
    ['bidirectional overflow and underflow', () => encodeScsiResponse({ ...scsiResponse, bidiReadResidual: { overflow: true, underflow: true, count: 1 } })],
    ['65536 sense bytes', () => encodeScsiResponse({ ...scsiResponse, sense: new Uint8Array(0x1_0000) })],
    ['Data-In S without F', () => encodeDataIn({ ...dataIn, final: false, status: good })],
    ['Data-In S with CHECK CONDITION', () => encodeDataIn({ ...dataIn, status: { ...good, scsiStatus: 0x02 } })],
    ['Data-In LUN 2^64', () => encodeDataIn({ ...dataIn, lun: 2n ** 64n })],
    ['Data-In negative LUN', () => encodeDataIn({ ...dataIn, lun: -1n })],
    ['Login Response T and C', () => encodeLoginResponse({ ...login, transit: true, cont: true })],
    ['Login Response CSG 4', () => encodeLoginResponse({ ...login, csg: 4 })],
    ['Login Response NSG -1', () => encodeLoginResponse({ ...login, nsg: -1 })],
    ['Login Response ISID 2^48', () => encodeLoginResponse({ ...login, isid: 2n ** 48n })],
    ['Login Response TSIH 65536', () => encodeLoginResponse({ ...login, tsih: 0x1_0000 })],
    ['Text Response F and C', () => encodeTextResponse({ final: true, cont: true, lun: 0n, itt: 0, ttt: 0, statSN: 0, expCmdSN: 0, maxCmdSN: 0, data: new Uint8Array(0) })],
    ['Reject with a 47-byte header', () => encodeReject({ reason: 9, statSN: 0, expCmdSN: 0, maxCmdSN: 0, dataSN: 0, header: new Uint8Array(47) })],
    ['Logout Response Time2Wait 65536', () => encodeLogoutResponse({ itt: 0, response: 0, statSN: 0, expCmdSN: 0, maxCmdSN: 0, time2Wait: 0x1_0000, time2Retain: 0 })],
  ])('%s is a RangeError', (_name, f) => {
    expect(f).toThrow(RangeError);
  });

  it('Data-In with status accepts GOOD, CONDITION MET, INTERMEDIATE, INTERMEDIATE-CONDITION MET', () => {
    for (const scsiStatus of [0x00, 0x04, 0x10, 0x14]) expect(encodeDataIn({ ...dataIn, status: { ...good, scsiStatus } }).bhs[3]).toBe(scsiStatus);
  });
});

describe('header readers and BhsView', () => {
  const wire = concat(bytes(READ10_COMMAND_BHS.replace(/^01 c1 00 00 00 00 00 00/, '41 c1 00 00 03 01 02 03')), new Uint8Array(8));

  it('read the dispatch fields from the first 48 bytes of a longer buffer', () => {
    expect(readOpcode(wire)).toBe(0x01);
    expect(readImmediate(wire)).toBe(true);
    expect(readItt(wire)).toBe(0x12345678);
    expect(readTotalAhsLength(wire)).toBe(3); // words, as on the wire
    expect(readDataSegmentLength(wire)).toBe(0x010203);
    expect(readImmediate(bytes(READ10_COMMAND_BHS))).toBe(false);
  });

  it('opcode ignores bits 0..1 of byte 0', () => {
    const b = bytes(READ10_COMMAND_BHS);
    b[0] = 0xff;
    expect(readOpcode(b)).toBe(0x3f);
  });

  it('refuse fewer than 48 bytes', () => {
    for (const f of [readOpcode, readImmediate, readItt, readTotalAhsLength, readDataSegmentLength]) expect(() => f(new Uint8Array(47))).toThrow(RangeError);
  });

  it('BhsView stores and loads big-endian at every width, and refuses what does not fit', () => {
    const v = BhsView.create(0x21, 0x80);
    v.setUint16(38, 0xabcd);
    v.setUint24(5, 0xff_ffff);
    v.setUint32(44, 0xffff_fffe);
    v.setBigUint48(8, 0x0102_0304_0506n);
    expect(hex(v.bytes.subarray(0, 16))).toBe('21 80 00 00 00 ff ff ff 01 02 03 04 05 06 00 00');
    expect([v.getUint16(38), v.getUint24(5), v.getUint32(44), v.getBigUint48(8), v.dataSegmentLength]).toEqual([0xabcd, 0xff_ffff, 0xffff_fffe, 0x0102_0304_0506n, 0xff_ffff]);
    expect(() => { v.setUint24(5, 0x100_0000); }).toThrow(/24-bit/);
    expect(() => { v.setUint8(0, 256); }).toThrow(RangeError);
    expect(() => { v.setUint32(45, 0); }).toThrow(/outside 48 bytes/);
    expect(() => v.getUint8(48)).toThrow(RangeError);
    expect(() => new BhsView(new Uint8Array(49))).toThrow(RangeError);
  });
});

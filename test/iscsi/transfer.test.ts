import { describe, expect, it } from 'vitest';
import { MAX_OVERFLOW_READ, planTransfer, residualOf } from '../../src/iscsi/transfer.js';
import { snAdd, snLe, snLt } from '../../src/iscsi/serial.js';
import { initiatorPort, lunNumber } from '../../src/iscsi/nexus.js';

const BS = 512;
const MAX = 2 ** 30;
// CDBs by hand from SBC-4: READ (10) 28h, LBA bytes 2..5, TRANSFER LENGTH bytes 7..8; WRITE (10) 2Ah;
// WRITE AND VERIFY (10) 2Eh with BYTCHK byte 1 bit 1; READ (16) 88h, TRANSFER LENGTH bytes 10..13; WRITE (6) 0Ah.
const read10 = (blocks: number): Uint8Array => Uint8Array.of(0x28, 0, 0, 0, 0, 9, 0, blocks >> 8, blocks & 0xff, 0);
const write10 = (blocks: number): Uint8Array => Uint8Array.of(0x2a, 0, 0, 0, 0, 9, 0, blocks >> 8, blocks & 0xff, 0);
const wav10 = (blocks: number, bytchk: boolean): Uint8Array => Uint8Array.of(0x2e, bytchk ? 0x02 : 0, 0, 0, 0, 9, 0, blocks >> 8, blocks & 0xff, 0);
const read16 = (blocks: number): Uint8Array => Uint8Array.of(0x88, 0, 0, 0, 0, 0, 0, 0, 0, 7, (blocks >>> 24) & 0xff, (blocks >> 16) & 0xff, (blocks >> 8) & 0xff, blocks & 0xff, 0, 0);
const R = { read: true, write: false };
const W = { read: false, write: true };

describe('planTransfer: the block read/write family', () => {
  it('a READ reads what its TRANSFER LENGTH says, whatever EDTL is (the overflow is reported, not cut)', () => {
    expect(planTransfer(read10(2), R, BS, BS, MAX)).toEqual({ direction: 'in', cdb: read10(2), length: 2 * BS, commandLength: 2 * BS });
    expect(planTransfer(read10(1), R, 0, BS, MAX)).toMatchObject({ direction: 'in', length: BS, commandLength: BS });
    expect(planTransfer(read10(1), R, 10000, BS, MAX)).toMatchObject({ direction: 'in', length: BS, commandLength: BS });
  });

  it('a READ asking far more than EDTL and the overflow cap is cut to EDTL rounded up to blocks', () => {
    const blocks = MAX_OVERFLOW_READ / BS + 8;
    const p = planTransfer(read16(blocks), R, 1000, BS, MAX);
    expect(p.length).toBe(2 * BS);
    expect(p.commandLength).toBe(blocks * BS);
    expect([...p.cdb.subarray(10, 14)]).toEqual([0, 0, 0, 2]);
    expect([...p.cdb.subarray(0, 10)]).toEqual([...read16(blocks).subarray(0, 10)]);
  });

  it('a WRITE with EDTL short by whole blocks gets its TRANSFER LENGTH lowered; a partial block goes as is', () => {
    const cut = planTransfer(write10(2), W, BS, BS, MAX);
    expect(cut).toEqual({ direction: 'out', cdb: write10(1), length: BS, commandLength: 2 * BS });
    const zero = planTransfer(write10(1), W, 0, BS, MAX);
    expect(zero).toEqual({ direction: 'out', cdb: write10(0), length: 0, commandLength: BS });
    const partial = planTransfer(write10(1), W, 200, BS, MAX);
    expect(partial).toEqual({ direction: 'out', cdb: write10(1), length: 200, commandLength: BS });
  });

  it('a WRITE with EDTL larger than the command collects only what the command uses', () => {
    expect(planTransfer(write10(1), W, 2 * BS, BS, MAX)).toEqual({ direction: 'out', cdb: write10(1), length: BS, commandLength: BS });
  });

  it('WRITE AND VERIFY always carries its blocks, BYTCHK or not; VERIFY only with BYTCHK', () => {
    expect(planTransfer(wav10(2, true), W, 2 * BS, BS, MAX)).toMatchObject({ direction: 'out', length: 2 * BS });
    expect(planTransfer(wav10(2, false), W, BS, BS, MAX)).toMatchObject({ direction: 'out', cdb: wav10(1, false), length: BS, commandLength: 2 * BS });
    const verify10 = (bytchk: boolean): Uint8Array => Uint8Array.of(0x2f, bytchk ? 0x02 : 0, 0, 0, 0, 9, 0, 0, 2, 0);
    expect(planTransfer(verify10(false), { read: false, write: false }, 0, BS, MAX)).toMatchObject({ direction: 'none', length: 0, commandLength: 0 });
    expect(planTransfer(verify10(true), W, 2 * BS, BS, MAX)).toMatchObject({ direction: 'out', length: 2 * BS });
  });

  it('a READ sent with the W flag is still a READ (direction from the CDB)', () => {
    expect(planTransfer(read10(1), { read: false, write: true }, BS, BS, MAX)).toMatchObject({ direction: 'in', length: BS });
  });

  it('a CDB as the PDU carries it (16 bytes, zero-padded) is cut at its own length before TRANSFER LENGTH is lowered', () => {
    const padded = new Uint8Array(16);
    padded.set(write10(2));
    expect(planTransfer(padded, W, BS, BS, MAX)).toEqual({ direction: 'out', cdb: write10(1), length: BS, commandLength: 2 * BS });
    const r = new Uint8Array(16);
    r.set(read10(3));
    expect(planTransfer(r, R, 3 * BS, BS, MAX)).toEqual({ direction: 'in', cdb: read10(3), length: 3 * BS, commandLength: 3 * BS });
  });

  it('WRITE (6) cannot say zero blocks: a zero-EDTL WRITE (6) goes to the device unchanged', () => {
    const w6 = Uint8Array.of(0x0a, 0, 0, 5, 1, 0);
    expect(planTransfer(w6, W, 0, BS, MAX)).toEqual({ direction: 'out', cdb: w6, length: 0, commandLength: BS });
  });
});

describe('planTransfer: the per-command bound', () => {
  it('a command over the bound collects no Data-Out and gets at most the bound of Data-In room', () => {
    expect(planTransfer(write10(16), W, 16 * BS, BS, 8 * BS)).toEqual({ direction: 'out', cdb: write10(16), length: 0, commandLength: 16 * BS });
    expect(planTransfer(read10(16), R, 16 * BS, BS, 8 * BS)).toEqual({ direction: 'in', cdb: read10(16), length: 8 * BS, commandLength: 16 * BS });
    const unmap = Uint8Array.of(0x42, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0);
    expect(planTransfer(unmap, W, 2 ** 31, BS, 8 * BS)).toMatchObject({ direction: 'out', length: 0 });
  });
});

describe('planTransfer: other commands', () => {
  it('take direction from the R/W bits and EDTL as their buffer', () => {
    const inquiry = Uint8Array.of(0x12, 0, 0, 0, 96, 0);
    expect(planTransfer(inquiry, R, 96, BS, MAX)).toEqual({ direction: 'in', cdb: inquiry, length: 96, commandLength: 96 });
    const tur = new Uint8Array(6);
    expect(planTransfer(tur, { read: false, write: false }, 0, BS, MAX)).toEqual({ direction: 'none', cdb: tur, length: 0, commandLength: 0 });
    const modeSelect = Uint8Array.of(0x15, 0x10, 0, 0, 16, 0);
    expect(planTransfer(modeSelect, W, 16, BS, MAX)).toMatchObject({ direction: 'out', length: 16 });
  });

  it('a Data-In command gets room for its ALLOCATION LENGTH when EDTL is shorter (the overflow is sent cut, §11.4.5.1)', () => {
    // SPC-5: INQUIRY ALLOCATION LENGTH bytes 3..4; MODE SENSE (6) byte 4; MODE SENSE (10) bytes 7..8;
    // REPORT LUNS bytes 6..9; SBC-4: READ CAPACITY (10) has none and returns 8 bytes.
    const inquiry = Uint8Array.of(0x12, 0, 0, 0x01, 0x02, 0);
    expect(planTransfer(inquiry, R, 36, BS, MAX)).toEqual({ direction: 'in', cdb: inquiry, length: 0x102, commandLength: 36 });
    expect(planTransfer(Uint8Array.of(0x1a, 0x08, 0x3f, 0, 0xff, 0), R, 4, BS, MAX)).toMatchObject({ length: 255, commandLength: 4 });
    expect(planTransfer(Uint8Array.of(0x5a, 0, 0x3f, 0, 0, 0, 0, 0x10, 0x00, 0), R, 8, BS, MAX)).toMatchObject({ length: 4096, commandLength: 8 });
    expect(planTransfer(Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0x00, 0x01, 0x00, 0x00, 0, 0), R, 16, BS, MAX)).toMatchObject({ length: 65536, commandLength: 16 });
    expect(planTransfer(Uint8Array.of(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), R, 4, BS, MAX)).toMatchObject({ length: 8, commandLength: 4 });
    // An ALLOCATION LENGTH past the per-command bound gets the bound; one below EDTL leaves EDTL the buffer.
    expect(planTransfer(Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0), R, 16, BS, 4096)).toMatchObject({ length: 4096, commandLength: 16 });
    expect(planTransfer(Uint8Array.of(0x12, 0, 0, 0, 36, 0), R, 255, BS, MAX)).toMatchObject({ length: 255, commandLength: 255 });
    // Flags rule: the R bit alone asks for Data-In; a CDB the table does not know, or one cut short, keeps EDTL.
    expect(planTransfer(inquiry, { read: true, write: true }, 36, BS, MAX)).toMatchObject({ direction: 'out', length: 36 });
    expect(planTransfer(Uint8Array.of(0xc0, 0, 0, 0, 0xff, 0), R, 36, BS, MAX)).toMatchObject({ length: 36 });
    expect(planTransfer(Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 1), R, 16, BS, MAX)).toMatchObject({ length: 16 });
  });

  it('a malformed block CDB (reserved bit set) is left to the device: flags and EDTL decide', () => {
    const bad = read10(1);
    bad[1] = 0x01;
    expect(planTransfer(bad, R, BS, BS, MAX)).toEqual({ direction: 'in', cdb: bad, length: BS, commandLength: BS });
  });
});

describe('residualOf (RFC 7143 §11.4.5.1)', () => {
  it('overflow when the command wanted more than EDTL; underflow when less moved; none when equal', () => {
    expect(residualOf(0, BS, 0)).toEqual({ overflow: true, underflow: false, count: BS });
    expect(residualOf(200, BS, 200)).toEqual({ overflow: true, underflow: false, count: BS - 200 });
    expect(residualOf(10000, BS, BS)).toEqual({ overflow: false, underflow: true, count: 10000 - BS });
    expect(residualOf(BS, BS, BS)).toEqual({ overflow: false, underflow: false, count: 0 });
  });
});

describe('serial number arithmetic (RFC 1982, 32 bits)', () => {
  it('compares across the wrap', () => {
    expect(snLt(0xffff_fffe, 1)).toBe(true);
    expect(snLt(1, 0xffff_fffe)).toBe(false);
    expect(snLt(5, 5)).toBe(false);
    expect(snLe(5, 5)).toBe(true);
    expect(snAdd(0xffff_ffff, 2)).toBe(1);
    expect(snAdd(7, -1)).toBe(6);
  });
});

describe('initiator ports and LUNs', () => {
  it('the TransportID is SPC-5 §7.6.4.6 format 01b: 45h, ADDITIONAL LENGTH a multiple of 4, NUL-terminated name', () => {
    const p = initiatorPort('iqn.a', 0x23d0_0000_0001n);
    expect(p.id).toBe('iqn.a,i,0x23d000000001');
    const name = 'iqn.a,i,0x23d000000001';
    // 22 name bytes + NUL = 23 → padded to 24.
    expect([...p.transportId.subarray(0, 4)]).toEqual([0x45, 0x00, 0x00, 24]);
    expect(new TextDecoder().decode(p.transportId.subarray(4, 4 + name.length))).toBe(name);
    expect([...p.transportId.subarray(4 + name.length)]).toEqual([0, 0]);
    expect(p.transportId.length).toBe(28);
  });

  it('the TransportID is at least 20 bytes of name field (SPC-5: ADDITIONAL LENGTH ≥ 20)', () => {
    expect([...initiatorPort('i', 0n).transportId.subarray(0, 4)]).toEqual([0x45, 0, 0, 20]);
  });

  it('reads peripheral and flat-space LUN fields; refuses other forms', () => {
    expect(lunNumber(0n)).toBe(0);
    expect(lunNumber(0x0005_0000_0000_0000n)).toBe(5);
    expect(lunNumber(0x4105_0000_0000_0000n)).toBe(0x105);
    expect(lunNumber(0x0105_0000_0000_0000n)).toBeUndefined();
    expect(lunNumber(0x0000_0000_0000_0001n)).toBeUndefined();
    expect(lunNumber(0xc100_0000_0000_0000n)).toBeUndefined();
  });
});

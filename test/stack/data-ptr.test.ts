// Data-In into the issuer's own buffer (CAM's ccb_scsiio data_ptr), through
// the whole stack: da.readInto and pass.scsi's `into`. The READ fast path
// transfers straight into the buffer (no pooled Data-In buffer is cut), any
// other command's Data-In is copied there, a split read fills its pieces in
// place, and bad requests are refused before anything is issued.

import { constants } from 'node:buffer';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { DataInPool } from '../../src/scsi/sbc/data-in-pool.js';
import { rw10 } from './helpers.js';
import { BS, CHECK_CONDITION, DEV_QFRZN, AUTOSNS_VALID, REQ_CMP, SCSI_STATUS_ERROR, camErrorOf, counter, expectIdle, fill, rig, touching, triple } from './fault-rig.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('da.readInto', () => {
  test('one CCB: the blocks land in the caller buffer, and no Data-In buffer is made for them', async () => {
    const r = await rig(1024);
    await fill(r, 0, 64, 3);
    const da = r.stack.da(0);
    const pooled = vi.spyOn(DataInPool.prototype, 'alloc');
    const into = new Uint8Array(8 * BS).fill(0xee);
    await da.readInto(10n, into);
    expect(r.shadow.mismatch(10, into)).toBeUndefined();
    expect(pooled).not.toHaveBeenCalled();
    // da.read on the same path does cut one: the spy sees the path the test claims is skipped.
    await da.read(10n, 8);
    expect(pooled).toHaveBeenCalledTimes(1);
    expectIdle(r.stack);
    await r.stack.close();
  });

  test('a view into a larger buffer: only its bytes are written', async () => {
    const r = await rig(1024);
    await fill(r, 0, 16, 5);
    const whole = new Uint8Array(6 * BS).fill(0x77);
    await r.stack.da(0).readInto(2n, whole.subarray(BS, 5 * BS));
    expect(r.shadow.mismatch(2, whole.subarray(BS, 5 * BS))).toBeUndefined();
    expect(whole.subarray(0, BS).every((b) => b === 0x77)).toBe(true);
    expect(whole.subarray(5 * BS).every((b) => b === 0x77)).toBe(true);
    await r.stack.close();
  });

  test('split past the maximum transfer: every piece is read in place', async () => {
    // Max I/O 64 KiB = 128 blocks: 300 blocks take three CCBs.
    const r = await rig(4096, { device: { sizeMax: 4096, segMax: 16 } });
    await fill(r, 0, 512, 9);
    const before = r.ledger.actions;
    const into = new Uint8Array(300 * BS);
    await r.stack.da(0).readInto(100n, into);
    expect(r.shadow.mismatch(100, into)).toBeUndefined();
    expect(r.ledger.actions - before).toBe(3);
    await r.stack.close();
  });

  test('IOERR: MEDIUM ERROR after the retries, naming no block of the four (the device does not say which failed), then the same buffer reads whole once the fault is gone', async () => {
    const r = await rig(1024);
    await fill(r, 0, 64, 1);
    r.faulty.failRange({ offset: 20 * BS, length: BS, ops: ['read'] });
    const tries = counter(r.probe, touching('read', 20));
    const into = new Uint8Array(4 * BS);
    const e = await camErrorOf(r.stack.da(0).readInto(18n, into));
    expect({ cam: e.camStatus, sense: triple(e.senseData), lba: e.lba, retries: e.retries }).toEqual({ cam: SCSI_STATUS_ERROR, sense: [0x03, 0x11, 0x00], lba: undefined, retries: 4 });
    expect(tries.n).toBe(5);
    r.faulty.clearFaults();
    await r.stack.da(0).readInto(18n, into);
    expect(r.shadow.mismatch(18, into)).toBeUndefined();
    expectIdle(r.stack);
    await r.stack.close();
  });

  test('past the capacity: ILLEGAL REQUEST, LBA OUT OF RANGE', async () => {
    const r = await rig(1024);
    const e = await camErrorOf(r.stack.da(0).readInto(1020n, new Uint8Array(8 * BS)));
    expect(triple(e.senseData)).toEqual([0x05, 0x21, 0x00]);
    await r.stack.close();
  });

  test('a split request past the capacity fails as one command does, LBA OUT OF RANGE, and writes nothing', async () => {
    // Max I/O 4096 bytes = 8 blocks: a 32-block write at 1000 of 1024 is four pieces, the last past the end.
    const r = await rig(1024, { device: { sizeMax: 4096, segMax: 1 } });
    const da = r.stack.da(0);
    expect(da.maxTransferBlocks).toBe(8);
    await fill(r, 992, 32, 3);
    const e = await camErrorOf(da.write(1000n, new Uint8Array(32 * BS).fill(0xee)));
    expect(triple(e.senseData)).toEqual([0x05, 0x21, 0x00]);
    expect(r.shadow.mismatch(992, await da.read(992n, 32))).toBeUndefined();
    // A read past the end too, however large: the unit's answer, not an allocation error.
    expect(triple((await camErrorOf(da.read(1000n, 32))).senseData)).toEqual([0x05, 0x21, 0x00]);
    expect(triple((await camErrorOf(da.read(0n, 10_000_000))).senseData)).toEqual([0x05, 0x21, 0x00]);
    expectIdle(r.stack);
    await r.stack.close();
  });

  // Node 20 makes Uint8Arrays of up to 4 GiB (buffer.constants.MAX_LENGTH); a sparse disk just past that.
  test.skipIf(constants.MAX_LENGTH > 2 ** 40)('a read inside the capacity larger than one Uint8Array is a RangeError that points to readInto', async () => {
    const blocks = Math.floor(constants.MAX_LENGTH / BS) + 1;
    const r = await rig(2 * blocks, {}, 1);
    await expect(r.stack.da(0).read(0n, blocks)).rejects.toThrow(/more than one Uint8Array holds .*read them in parts with readInto/);
    expectIdle(r.stack);
    await r.stack.close();
  });

  test('bad arguments throw RangeError before anything is issued', async () => {
    const r = await rig(1024);
    const da = r.stack.da(0);
    const issued = counter(r.probe, () => true);
    expect(() => da.readInto(0n, new Uint8Array(BS + 1))).toThrow(/da.readInto: into must be whole 512-byte blocks, got 513 bytes/);
    expect(() => da.readInto(0n, [0, 1] as unknown as Uint8Array)).toThrow(/into must be whole 512-byte blocks, got object/);
    expect(() => da.readInto(-1n, new Uint8Array(BS))).toThrow(/lba must be a non-negative bigint/);
    expect(() => da.readInto(2n ** 64n - 1n, new Uint8Array(2 * BS))).toThrow(/passes 2\^64/);
    // Zero blocks: nothing to read, and nothing is sent.
    await da.readInto(5n, new Uint8Array(0));
    expect(issued.n).toBe(0);
    await r.stack.close();
  });
});

describe('pass.scsi into', () => {
  test('READ (10): data is a view of `into`, length defaults to its size', async () => {
    const r = await rig(1024);
    await fill(r, 0, 8, 4);
    const into = new Uint8Array(2 * BS);
    const p = await r.stack.pass(0).scsi({ cdb: rw10('read', 3, 2), direction: 'in', into });
    expect({ cam: p.camStatus, resid: p.resid }).toEqual({ cam: REQ_CMP, resid: 0 });
    expect(p.data?.buffer).toBe(into.buffer);
    expect(p.data?.byteOffset).toBe(into.byteOffset);
    expect(r.shadow.mismatch(3, into)).toBeUndefined();
    await r.stack.close();
  });

  test('INQUIRY (the generic path) copies its Data-In into `into`; the rest of it stays as it was', async () => {
    const r = await rig(1024);
    const into = new Uint8Array(64).fill(0xcc);
    const p = await r.stack.pass(0).scsi({ cdb: Uint8Array.of(0x12, 0, 0, 0, 36, 0), direction: 'in', length: 40, into });
    expect({ cam: p.camStatus, resid: p.resid, len: p.data?.length }).toEqual({ cam: REQ_CMP, resid: 4, len: 36 });
    expect(p.data?.buffer).toBe(into.buffer);
    expect(new TextDecoder().decode(into.subarray(8, 16))).toBe('VTCAM   ');
    expect(into.subarray(36).every((b) => b === 0xcc)).toBe(true);
    await r.stack.close();
  });

  test('a READ longer than the room: data overrun, the room filled with the first bytes', async () => {
    const r = await rig(1024);
    await fill(r, 0, 8, 6);
    const into = new Uint8Array(BS);
    const p = await r.stack.pass(0).scsi({ cdb: rw10('read', 0, 2), direction: 'in', into });
    expect({ cam: p.camStatus & 0x3f, resid: p.resid, len: p.data?.length }).toEqual({ cam: 0x12, resid: 0, len: BS });
    expect(r.shadow.mismatch(0, into)).toBeUndefined();
    await r.stack.close();
  });

  // CAM's dxfer_len bounds what lands at data_ptr (cam_ccb.h): the room is `length`, not all of `into`.
  test.each([
    { blocks: 2, length: BS, intoBytes: 2 * BS },
    { blocks: 4, length: BS, intoBytes: 4 * BS },
    { blocks: 1, length: 100, intoBytes: BS },
  ])('a READ of $blocks block(s) into $intoBytes bytes with length $length: data overrun, and `into` past the room stays as it was', async ({ blocks, length, intoBytes }) => {
    const r = await rig(1024);
    await fill(r, 0, 8, 7);
    const into = new Uint8Array(intoBytes).fill(0xcc);
    const p = await r.stack.pass(0).scsi({ cdb: rw10('read', 0, blocks), direction: 'in', length, into });
    expect({ cam: p.camStatus, resid: p.resid, len: p.data?.length }).toEqual({ cam: 0x12 | DEV_QFRZN, resid: 0, len: length });
    expect(p.data?.buffer).toBe(into.buffer);
    expect(p.data?.byteOffset).toBe(into.byteOffset);
    expect(Buffer.compare(into.subarray(0, length), r.shadow.slice(0, blocks).subarray(0, length))).toBe(0);
    expect(into.subarray(length).every((b) => b === 0xcc)).toBe(true);
    expectIdle(r.stack);
    await r.stack.close();
  });

  test('a READ that fits the room in a longer `into`: it lands in place, and the rest of `into` stays as it was', async () => {
    const r = await rig(1024);
    await fill(r, 0, 8, 8);
    const pooled = vi.spyOn(DataInPool.prototype, 'alloc');
    const into = new Uint8Array(4 * BS).fill(0xcc);
    const p = await r.stack.pass(0).scsi({ cdb: rw10('read', 2, 2), direction: 'in', length: 3 * BS, into });
    expect({ cam: p.camStatus, resid: p.resid, len: p.data?.length }).toEqual({ cam: REQ_CMP, resid: BS, len: 2 * BS });
    expect(r.shadow.mismatch(2, into.subarray(0, 2 * BS))).toBeUndefined();
    expect(into.subarray(2 * BS).every((b) => b === 0xcc)).toBe(true);
    expect(pooled).not.toHaveBeenCalled();
    await r.stack.close();
  });

  test('a WRITE with more Data-Out than it takes: only its blocks are written, the rest is resid', async () => {
    const r = await rig(1024);
    await fill(r, 0, 8, 9);
    const data = new Uint8Array(3 * BS).fill(0xab);
    const p = await r.stack.pass(0).scsi({ cdb: rw10('write', 4, 1), direction: 'out', data });
    expect({ cam: p.camStatus, resid: p.resid }).toEqual({ cam: REQ_CMP, resid: 2 * BS });
    r.shadow.write(4, data.subarray(0, BS));
    expect(r.shadow.mismatch(0, await r.stack.da(0).read(0n, 8))).toBeUndefined();
    await r.stack.close();
  });

  test('CHECK CONDITION: no data, resid the whole room', async () => {
    const r = await rig(1024);
    const into = new Uint8Array(BS);
    const p = await r.stack.pass(0).scsi({ cdb: rw10('read', 1024, 1), direction: 'in', into });
    expect({ cam: p.camStatus, scsi: p.scsiStatus, data: p.data, resid: p.resid }).toEqual({
      cam: SCSI_STATUS_ERROR | DEV_QFRZN | AUTOSNS_VALID,
      scsi: CHECK_CONDITION,
      data: undefined,
      resid: BS,
    });
    await r.stack.close();
  });

  test('bad requests throw RangeError', async () => {
    const r = await rig(1024);
    const pass = r.stack.pass(0);
    const read = rw10('read', 0, 1);
    expect(() => pass.scsi({ cdb: read, direction: 'in', length: BS + 1, into: new Uint8Array(BS) })).toThrow(/pass.scsi: length 513 is more than into holds \(512 bytes\)/);
    expect(() => pass.scsi({ cdb: read, direction: 'out', data: new Uint8Array(BS), into: new Uint8Array(BS) })).toThrow(/into \(the Data-In Buffer\) is only for direction 'in', got it with 'out'/);
    expect(() => pass.scsi({ cdb: read, direction: 'in', into: 'x' as unknown as Uint8Array })).toThrow(/into must be a Uint8Array/);
    expect(() => pass.scsi({ cdb: read, direction: 'in' })).toThrow(/'in' needs length, an integer 0\.\.4294967295, or into, got undefined/);
    await r.stack.close();
  });
});

// EXTENDED COPY (LID1) 83h/00h and RECEIVE COPY STATUS (LID1) 84h/00h /
// RECEIVE COPY OPERATING PARAMETERS 84h/03h through SbcEmulator.execute.
// Parameter lists are built here byte by byte from the SPC-5 tables: header
// (LIST IDENTIFIER 0, STR/LIST ID USAGE/PRIORITY 1, CSCD DESCRIPTOR LIST
// LENGTH 2..3, SEGMENT DESCRIPTOR LIST LENGTH 8..11, INLINE DATA LENGTH
// 12..15); identification CSCD descriptor E4h (32 bytes: LU ID TYPE/NUL/PDT
// byte 1, designation descriptor 4..23, DISK BLOCK LENGTH 29..31); block to
// block segment descriptor 02h (28 bytes: DESCRIPTOR LENGTH 0018h, CSCD
// indexes 4..5 / 6..7, NUMBER OF BLOCKS 10..11, LBAs 12..19 / 20..27).

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import { DATA_PROTECT, ILLEGAL_REQUEST, NOT_READY, block, bytes, expectGood, expectSense, hex, unit, type Unit } from './harness.js';
import { HookedBlockSet, gate, settle } from './hooked-block-set.js';

const BS = 512;
const COPY_ABORTED = 0x0a;
const xcopy = (pll: number): Uint8Array => Uint8Array.from([0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, pll >>> 24, (pll >> 16) & 0xff, (pll >> 8) & 0xff, pll & 0xff, 0, 0]);
const rcr = (sa: number, listId = 0, alloc = 1024): Uint8Array => Uint8Array.from([0x84, sa, listId, 0, 0, 0, 0, 0, 0, 0, 0, 0, alloc >> 8, alloc & 0xff, 0, 0]);
const u16 = (n: number): number[] => [n >> 8, n & 0xff];
const u32 = (n: number): number[] => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const u64 = (n: bigint): number[] => [...u32(Number(n >> 32n)), ...u32(Number(n & 0xffff_ffffn))];

function header(listId: number, byte1: number, cscdBytes: number, segmentBytes: number, inline = 0): number[] {
  return [listId, byte1, ...u16(cscdBytes), 0, 0, 0, 0, ...u32(segmentBytes), ...u32(inline)];
}
/** E4h descriptor with a designation descriptor (header + designator) and a DISK BLOCK LENGTH. */
function e4(designation: Uint8Array, blockLength = BS, byte1 = 0x00, type = 0xe4): number[] {
  const d = new Array<number>(32).fill(0);
  d[0] = type;
  d[1] = byte1;
  designation.forEach((b, i) => (d[4 + i] = b));
  [d[29], d[30], d[31]] = [(blockLength >> 16) & 0xff, (blockLength >> 8) & 0xff, blockLength & 0xff];
  return d;
}
function b2b(src: number, dst: number, blocks: number, srcLba: bigint, dstLba: bigint, type = 0x02, length = 0x18): number[] {
  return [type, 0, ...u16(length), ...u16(src), ...u16(dst), 0, 0, ...u16(blocks), ...u64(srcLba), ...u64(dstLba)];
}
const list = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

/** The NAA designation descriptor (header + 8 bytes) of the unit's Device Identification page. */
async function naaOf(u: { run: Unit['run'] }): Promise<Uint8Array> {
  const r = await u.run('12 01 83 00 ff 00');
  expect(r.data?.[5]).toBe(0x03); // designator type NAA first
  return Uint8Array.from(r.data?.subarray(4, 16) ?? []);
}

async function copyList(u: Unit, l: Uint8Array, nexus = 'local') {
  return u.run(xcopy(l.length), { dataOut: l, nexus });
}

// COPY ABORTED in fixed format, byte by byte (SPC-4 fixed format sense
// data; 5.16.7.4 errors detected during processing of segment descriptors):
// 0 VALID | 70h, 2 SENSE KEY 0Ah, 3..6 INFORMATION, 7 ADDITIONAL SENSE LENGTH
// 0Ah, 8..11 COMMAND-SPECIFIC INFORMATION with the number of the segment being
// processed in its third and fourth bytes (10..11), 12 ASC, 13 ASCQ, 14 FRU,
// 15..17 SENSE KEY SPECIFIC, here a segment pointer (15: SKSV 80h | SD 20h when
// FIELD POINTER 16..17 counts from the start of that segment descriptor).
function abortedSense(r: { status: number; sense?: Uint8Array }): string {
  expect(r.status).toBe(0x02);
  return hex(r.sense);
}


/**
 * A unit over a HookedBlockSet whose `op` at `lba` (at any LBA when undefined) waits until the gate `g`
 * opens, with what the tests use of it: the block set, the unit, a runner and the unit's NAA designator.
 */
async function gatedUnit(op: 'read' | 'write', lba?: bigint, opts: { maxTransferBytes?: number } = {}) {
  const d = new HookedBlockSet();
  const g = gate();
  d.before = (o, at) => (o === op && (lba === undefined || at === lba) ? g.opened : undefined);
  const lu = await SbcEmulator.create(d, { powerOnUnitAttention: false, ...opts });
  const u = { run: (c: Uint8Array | string, o = {}) => lu.execute(typeof c === 'string' ? bytes(c) : c, o) };
  return { d, g, lu, u, naa: await naaOf(u) };
}

/** SANITIZE OVERWRITE with pattern 00h, once (SBC-4: INITIALIZATION PATTERN LENGTH 1), started now. */
function sanitizeOverwrite(lu: SbcEmulator): Promise<SbcResult> {
  return lu.execute(bytes('48 01 00 00 00 00 00 00 05 00'), { dataOut: Uint8Array.of(0x01, 0, 0, 1, 0x00) });
}

describe('EXTENDED COPY (LID1)', () => {
  test('copies a block range within the unit; LIST ID USAGE 10b holds no status', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    const data = block(8 * BS, 0x41, true);
    expectGood(await u.run('2a 00 00 00 00 00 00 00 08 00', { dataOut: data }));
    expectGood(await copyList(u, list(header(1, 0x10, 32, 28), e4(naa), b2b(0, 0, 8, 0n, 1000n))));
    for (let i = 0; i < 8; i++) expect(hex(u.disk.peek(1000n + BigInt(i)))).toBe(hex(data.subarray(i * BS, (i + 1) * BS)));
    expectSense(await u.run(rcr(0, 1)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
  });

  test('LIST ID USAGE 00b: RECEIVE COPY STATUS reports it once (COMPLETED, segments, TRANSFER COUNT in bytes), then it is gone', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    expectSense(await u.run(rcr(0, 5)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    expectGood(await copyList(u, list(header(5, 0x00, 64, 56), e4(naa), e4(naa), b2b(0, 1, 8, 0n, 100n), b2b(1, 0, 4, 100n, 200n))));
    const r = await u.run(rcr(0, 5));
    expectGood(r);
    expect(hex(r.data)).toBe('00 00 00 08 01 00 02 00 00 00 18 00'); // 12 blocks of 512 = 1800h bytes
    expectSense(await u.run(rcr(0, 5)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    expect(hex((await u.run(rcr(0, 5, 4))).sense?.subarray(12, 14))).toBe('24 00');
  });

  test('held statuses are per I_T nexus and go with the nexus and with a logical unit reset', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    const l = list(header(9, 0x00, 32, 28), e4(naa), b2b(0, 0, 1, 0n, 1n));
    expectGood(await copyList(u, l, 'a'));
    expectGood(await copyList(u, l, 'b'));
    expectSense(await u.run(rcr(0, 9), { nexus: 'c' }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    u.lu.forgetNexus('a');
    // Back, the nexus is told of its loss (I_T NEXUS LOSS OCCURRED) first; its status went with it.
    expectSense(await u.run(rcr(0, 9), { nexus: 'a' }), { key: 0x06, asc: 0x29, ascq: 0x07 });
    expectSense(await u.run(rcr(0, 9), { nexus: 'a' }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    u.lu.resetLogicalUnit();
    expectSense(await u.run(rcr(0, 9), { nexus: 'b' }), { key: 0x06, asc: 0x29, ascq: 0x03 });
    expectSense(await u.run(rcr(0, 9), { nexus: 'b' }), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
  });

  test('overlapping ranges copy as if through a buffer (forward and backward)', async () => {
    const u = await unit({}, { maxTransferBytes: 4 * BS }); // copies move 4 blocks at a time
    const naa = await naaOf(u);
    const data = block(10 * BS, 0x10, true);
    expectGood(await u.run('2a 00 00 00 00 00 00 00 04 00', { dataOut: data.subarray(0, 4 * BS) }));
    expectGood(await u.run('2a 00 00 00 00 04 00 00 04 00', { dataOut: data.subarray(4 * BS, 8 * BS) }));
    expectGood(await u.run('2a 00 00 00 00 08 00 00 02 00', { dataOut: data.subarray(8 * BS) }));
    expectGood(await copyList(u, list(header(0, 0x18, 32, 28), e4(naa), b2b(0, 0, 10, 0n, 3n))));
    for (let i = 0; i < 10; i++) expect(hex(u.disk.peek(3n + BigInt(i))), `block ${i}`).toBe(hex(data.subarray(i * BS, (i + 1) * BS)));
    expectGood(await copyList(u, list(header(0, 0x18, 32, 28), e4(naa), b2b(0, 0, 10, 3n, 1n))));
    for (let i = 0; i < 10; i++) expect(hex(u.disk.peek(1n + BigInt(i))), `block ${i}`).toBe(hex(data.subarray(i * BS, (i + 1) * BS)));
  });

  test('PARAMETER LIST LENGTH 0 copies nothing; lists cut short are PARAMETER LIST LENGTH ERROR', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    const l = list(header(1, 0, 32, 28), e4(naa), b2b(0, 0, 1, 0n, 1n));
    expectGood(await u.run(xcopy(0)));
    const pllError = { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 };
    expectSense(await u.run(xcopy(15), { dataOut: l.subarray(0, 15) }), pllError);
    expectSense(await u.run(xcopy(16 + 31), { dataOut: l.subarray(0, 16 + 31) }), pllError); // cuts the CSCD descriptor
    expectSense(await u.run(xcopy(16 + 32 + 27), { dataOut: l.subarray(0, 16 + 32 + 27) }), pllError); // cuts the segment
    expectSense(await u.run(xcopy(l.length), { dataOut: l.subarray(0, 40) }), pllError); // less Data-Out than PARAMETER LIST LENGTH
    expect(u.disk.calls).toEqual([]);
  });

  test('limits (RECEIVE COPY OPERATING PARAMETERS): 3 CSCD → TOO MANY TARGET DESCRIPTORS, 65 segments → TOO MANY SEGMENT DESCRIPTORS, over 1856 bytes → PARAMETER LIST LENGTH ERROR', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    const seg = b2b(0, 0, 1, 0n, 1n);
    expectSense(await copyList(u, list(header(1, 0, 96, 28), e4(naa), e4(naa), e4(naa), seg)), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x06 });
    const segs65 = Array.from({ length: 65 }, () => seg);
    expectSense(await copyList(u, list(header(2, 0, 32, 65 * 28), e4(naa), ...segs65)), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x08 });
    expectSense(await copyList(u, list(header(3, 0, 96, 65 * 28), e4(naa), e4(naa), e4(naa), ...segs65)), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expectGood(await copyList(u, list(header(4, 0, 64, 64 * 28), e4(naa), e4(naa), ...segs65.slice(1))));
  });

  test('descriptor types other than E4h and 02h → UNSUPPORTED TARGET / SEGMENT DESCRIPTOR TYPE CODE', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    const seg = b2b(0, 0, 1, 0n, 1n);
    expectSense(await copyList(u, list(header(1, 0, 32, 28), e4(naa, BS, 0, 0xe0), seg)), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x07 });
    expectSense(await copyList(u, list(header(1, 0, 32, 28), e4(naa, BS, 0, 0x10), seg)), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x07 });
    // Stream to stream (03h), its own DESCRIPTOR LENGTH 0010h.
    expectSense(await copyList(u, list(header(1, 0, 32, 20), e4(naa), [0x03, 0, 0, 0x10, ...new Array<number>(16).fill(0)])), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x09 });
  });

  test('header and descriptor fields → INVALID FIELD IN PARAMETER LIST at the field', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    const seg = b2b(0, 0, 1, 0n, 1n);
    const invalid = (byte: number, bit?: number) => ({ key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: bit === undefined ? { byte, cdb: false } : { byte, bit, cdb: false } });
    expectSense(await copyList(u, list(header(1, 0x08, 32, 28), e4(naa), seg)), invalid(1, 4)); // LIST ID USAGE 01b
    expectSense(await copyList(u, list(header(1, 0x18, 32, 28), e4(naa), seg)), invalid(0)); // 11b needs LIST IDENTIFIER 0
    expectSense(await copyList(u, list(header(1, 0x80, 32, 28), e4(naa), seg)), invalid(1, 7));
    const r4 = list(header(1, 0, 32, 28), e4(naa), seg);
    r4[5] = 1;
    expectSense(await copyList(u, r4), invalid(5));
    expectSense(await copyList(u, list(header(1, 0, 32, 28, 4), e4(naa), seg, [0, 0, 0, 0])), invalid(12)); // no inline data
    // A 02h descriptor whose DESCRIPTOR LENGTH is not 0018h; one that runs past the segment list.
    expectSense(await copyList(u, list(header(1, 0, 32, 24), e4(naa), b2b(0, 0, 1, 0n, 1n, 0x02, 0x14).slice(0, 24))), invalid(48 + 2));
    expectSense(await copyList(u, list(header(1, 0, 32, 28), e4(naa), b2b(0, 0, 1, 0n, 1n, 0x02, 0x1c))), invalid(48));
    const dc = list(header(1, 0, 32, 28), e4(naa), seg);
    dc[49] = 0x04; // segment byte 1 bit 2: reserved
    expectSense(await copyList(u, dc), invalid(49, 2));
    expect(u.disk.calls).toEqual([]);
  });

  test('LU ID TYPE and NUL (reserved / obsolete since SPC-4), DC and CAT are ignored', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    expectGood(await copyList(u, list(header(1, 0x10, 32, 28), e4(naa, BS, 0x80 | 0x20), b2b(0, 0, 1, 0n, 1n))));
    const l = list(header(1, 0x10, 32, 28), e4(naa), b2b(0, 0, 1, 0n, 1n));
    l[49] = 0x03; // DC, CAT
    expectGood(await copyList(u, l));
  });

  test('a segment naming a missing CSCD descriptor, another device, a block length or device type not this unit → COPY ABORTED, UNREACHABLE COPY TARGET at its CSCD DESCRIPTOR ID', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    // Segment pointer (byte 15 SKSV | SD = a0h, FIELD POINTER 16..17) at byte 4 (SOURCE CSCD DESCRIPTOR ID) or 6 (DESTINATION).
    const atSource = '70 00 0a 00 00 00 00 0a 00 00 00 00 08 04 00 a0 00 04';
    const atDestination = '70 00 0a 00 00 00 00 0a 00 00 00 00 08 04 00 a0 00 06';
    expect(abortedSense(await copyList(u, list(header(1, 0, 32, 28), e4(naa), b2b(0, 1, 1, 0n, 1n))))).toBe(atDestination);
    expect(abortedSense(await copyList(u, list(header(1, 0, 32, 28), e4(naa), b2b(1, 0, 1, 0n, 1n))))).toBe(atSource);
    const other = Uint8Array.from(naa);
    other[11] = (other[11] ?? 0) ^ 0xff;
    expect(abortedSense(await copyList(u, list(header(1, 0, 64, 28), e4(naa), e4(other), b2b(0, 1, 1, 0n, 1n))))).toBe(atDestination);
    expect(abortedSense(await copyList(u, list(header(1, 0, 32, 28), e4(other), b2b(0, 0, 1, 0n, 1n))))).toBe(atSource);
    expect(abortedSense(await copyList(u, list(header(1, 0, 32, 28), e4(naa, 4096), b2b(0, 0, 1, 0n, 1n))))).toBe(atSource);
    expect(abortedSense(await copyList(u, list(header(1, 0, 32, 28), e4(naa, BS, 0x01), b2b(0, 0, 1, 0n, 1n))))).toBe(atSource);
    expect(u.disk.calls).toEqual([]);
  });

  test('a range past the capacity → COPY ABORTED before any block of that segment moves; earlier segments stay copied', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    // Segment pointer at byte 12 (SOURCE LOGICAL BLOCK ADDRESS), segment 0 then 1.
    const r0 = await copyList(u, list(header(1, 0, 32, 28), e4(naa), b2b(0, 0, 2048, 0n, 1023n)));
    expect(abortedSense(r0)).toBe('70 00 0a 00 00 00 00 0a 00 00 00 00 00 00 00 a0 00 0c');
    expect(u.disk.calls).toEqual([]);
    expectGood(await u.run('2a 00 00 00 00 00 00 00 01 00', { dataOut: block(BS, 7) }));
    const r1 = await copyList(u, list(header(2, 0, 32, 56), e4(naa), b2b(0, 0, 1, 0n, 9n), b2b(0, 0, 2, 1023n, 0n)));
    expect(abortedSense(r1)).toBe('70 00 0a 00 00 00 00 0a 00 00 00 01 00 00 00 a0 00 0c');
    expect(hex(u.disk.peek(9n))).toBe(hex(block(BS, 7)));
    const s = await u.run(rcr(0, 2));
    expect(hex(s.data)).toBe('00 00 00 08 02 00 01 00 00 00 02 00'); // COMPLETED WITH ERRORS, 1 segment, 512 bytes
  });

  test('a failed read → COPY ABORTED with its ASC/ASCQ; INFORMATION is no LBA (VALID 0: nothing of the segment written)', async () => {
    const u = await unit({ fault: (op) => (op === 'read' ? 'io-error' : undefined) });
    const naa = await naaOf(u);
    const r = await copyList(u, list(header(1, 0x10, 32, 28), e4(naa), b2b(0, 0, 1, 6n, 1n)));
    expectSense(r, { key: COPY_ABORTED, asc: 0x11, ascq: 0, information: 'invalid' });
  });

  test('read-only → DATA PROTECT; stopped → NOT READY', async () => {
    const ro = await unit({ readOnly: true });
    const naa = await naaOf(ro);
    const l = list(header(1, 0x10, 32, 28), e4(naa), b2b(0, 0, 1, 0n, 1n));
    expectSense(await copyList(ro, l), { key: DATA_PROTECT, asc: 0x27, ascq: 0 });
    const s = await unit();
    expectGood(await s.run('1b 00 00 00 00 00'));
    expectSense(await copyList(s, l), { key: NOT_READY, asc: 0x04, ascq: 0x02 });
  });

  test('a list identifier still being processed for the same nexus → OPERATION IN PROGRESS', async () => {
    const { g, lu, naa } = await gatedUnit('read');
    const l = list(header(7, 0x00, 32, 28), e4(naa), b2b(0, 0, 1, 0n, 1n));
    const first = lu.execute(xcopy(l.length), { dataOut: l, nexus: 'a' });
    await settle();
    expect(hex((await lu.execute(rcr(0, 7), { nexus: 'a' })).data)).toBe('00 00 00 08 00 00 00 00 00 00 00 00'); // in progress
    expectSense(await lu.execute(xcopy(l.length), { dataOut: l, nexus: 'a' }), { key: ILLEGAL_REQUEST, asc: 0x00, ascq: 0x16 });
    const other = lu.execute(xcopy(l.length), { dataOut: l, nexus: 'b' });
    g.open();
    expectGood(await first);
    expectGood(await other);
  });
});

describe('EXTENDED COPY list identifiers in progress', () => {
  test('LIST ID USAGE 10b: the same list identifier from the same nexus → OPERATION IN PROGRESS until the copy ends; 11b never', async () => {
    const { d, g, lu, naa } = await gatedUnit('read');
    const noHold = list(header(7, 0x10, 32, 28), e4(naa), b2b(0, 0, 1, 0n, 1n));
    const noListId = list(header(0, 0x18, 32, 28), e4(naa), b2b(0, 0, 1, 0n, 2n));
    const first = lu.execute(xcopy(noHold.length), { dataOut: noHold, nexus: 'a' });
    const unlisted = lu.execute(xcopy(noListId.length), { dataOut: noListId, nexus: 'a' });
    await settle();
    const duplicate = lu.execute(xcopy(noHold.length), { dataOut: noHold, nexus: 'a' });
    const other = lu.execute(xcopy(noHold.length), { dataOut: noHold, nexus: 'b' });
    const unlistedAgain = lu.execute(xcopy(noListId.length), { dataOut: noListId, nexus: 'a' });
    await settle();
    expect(d.trace('read')).toEqual(['read start 0+1']); // the first copy is still being processed
    g.open();
    expectSense(await duplicate, { key: ILLEGAL_REQUEST, asc: 0x00, ascq: 0x16 });
    for (const r of [first, unlisted, other, unlistedAgain]) expectGood(await r);
    expectGood(await lu.execute(xcopy(noHold.length), { dataOut: noHold, nexus: 'a' }));
  });
});

describe('EXTENDED COPY and SANITIZE', () => {
  test('a sanitize that runs between a chunk\'s read and its write ends the copy with COPY ABORTED, 04h/1Bh; nothing read before it lands', async () => {
    const { d, g, lu, u, naa } = await gatedUnit('read', 0n);
    expectGood(await u.run('2a 00 00 00 00 00 00 00 08 00', { dataOut: block(8 * BS, 0xaa) }));
    const l = list(header(1, 0x10, 32, 28), e4(naa), b2b(0, 0, 8, 0n, 100n));
    const copy = lu.execute(xcopy(l.length), { dataOut: l });
    await settle();
    expect(d.trace('read')).toEqual(['read start 0+8']);
    const sanitize = sanitizeOverwrite(lu);
    await settle();
    g.open();
    expectGood(await sanitize);
    expectSense(await copy, { key: COPY_ABORTED, asc: 0x04, ascq: 0x1b });
    for (const lba of [0n, 100n, 107n]) expect(hex(d.inner.peek(lba))).toBe(hex(block(BS, 0)));
    expect(d.trace('write').filter((w) => w.startsWith('write start 100'))).toEqual([]);
  });
});

describe('EXTENDED COPY aborted by its transport (ExecuteOptions.aborted)', () => {
  test('stops before its next write: the chunk read meanwhile does not land, none after it is read; the held status says COMPLETED WITH ERRORS, as far as it got', async () => {
    // 4-block chunks (MAXIMUM TRANSFER LENGTH); the second chunk's read waits at the gate.
    const { d, g, lu, u, naa } = await gatedUnit('read', 104n, { maxTransferBytes: 4 * BS });
    for (const lba of ['64', '68', '6c']) expectGood(await u.run(`2a 00 00 00 00 ${lba} 00 00 04 00`, { dataOut: block(4 * BS, 0x5a, true) }));
    let aborted = false;
    const l = list(header(3, 0x00, 32, 28), e4(naa), b2b(0, 0, 12, 100n, 0n));
    const copy = lu.execute(xcopy(l.length), { dataOut: l, nexus: 'a', aborted: () => aborted });
    await settle();
    expect(d.trace('read')).toEqual(['read start 100+4', 'read end 100+4', 'read start 104+4']);
    aborted = true;
    g.open();
    // The transport ends it as its abort says; what the copy answers: COPY ABORTED, VALID, residual 8 blocks, segment 0.
    expect(abortedSense(await copy)).toBe('f0 00 0a 00 00 00 08 0a 00 00 00 00 00 00 00 00 00 00');
    expect(d.trace('write').filter((w) => w.startsWith('write start'))).toEqual(['write start 100+4', 'write start 104+4', 'write start 108+4', 'write start 0+4']);
    expect(d.trace('read').at(-1)).toBe('read end 104+4');
    for (const lba of [4n, 11n]) expect(hex(d.inner.peek(lba))).toBe(hex(block(BS, 0)));
    // COMPLETED WITH ERRORS (02h), no segment processed, 4 blocks (800h bytes) copied.
    expect(hex((await lu.execute(rcr(0, 3), { nexus: 'a' })).data)).toBe('00 00 00 08 02 00 00 00 00 00 08 00');
  });
});

describe('EXTENDED COPY aborted while it waits for another command’s blocks', () => {
  test('ABORT TASK SET while its source range waits for a COMPARE AND WRITE: it gives its place up and answers at once, nothing read or written', async () => {
    // The COMPARE AND WRITE holds LBAs 8..9 exclusively while its read waits at the gate.
    const { d, g, lu, naa } = await gatedUnit('read', 8n);
    const caw = lu.execute(bytes('89 00 00 00 00 00 00 00 00 08 00 00 00 02 00 00'), { dataOut: new Uint8Array(4 * BS), nexus: 'b' });
    await settle();
    let aborted = false;
    const l = list(header(3, 0x00, 32, 28), e4(naa), b2b(0, 0, 2, 8n, 100n));
    const copy = lu.execute(xcopy(l.length), { dataOut: l, nexus: 'a', aborted: () => aborted });
    await settle();
    expect(lu.locks.waiting).toBe(1);
    lu.onAbortTasks((end) => {
      aborted = end('a') !== undefined;
      return { nexuses: ['a'], done: copy.then(() => undefined) };
    });
    await lu.abortTaskSet('a');
    // What the copy answers (its transport ends it as the abort says): COPY ABORTED, segment 0, no residual (none written).
    expect(abortedSense(await copy)).toBe('70 00 0a 00 00 00 00 0a 00 00 00 00 00 00 00 00 00 00');
    expect([lu.locks.waiting, d.trace()]).toEqual([0, ['read start 8+2']]);
    g.open();
    expectGood(await caw);
    expect(d.trace().filter((e) => e.includes('100'))).toEqual([]);
  });
});

describe('COPY ABORTED names the segment being processed', () => {
  test('an unreachable copy target in segment 1: segment 1 in COMMAND-SPECIFIC INFORMATION; segment 0 stays copied', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    expectGood(await u.run('2a 00 00 00 00 00 00 00 01 00', { dataOut: block(BS, 9) }));
    const r = await copyList(u, list(header(1, 0x10, 32, 56), e4(naa), b2b(0, 0, 1, 0n, 5n), b2b(0, 1, 1, 0n, 6n)));
    expect(abortedSense(r)).toBe('70 00 0a 00 00 00 00 0a 00 00 00 01 08 04 00 a0 00 06');
    expect(hex(u.disk.peek(5n))).toBe(hex(block(BS, 9)));
  });

  test('a range past the capacity in segment 2: segment 2; RECEIVE COPY STATUS reports 2 segments processed', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    const r = await copyList(u, list(header(4, 0x00, 32, 84), e4(naa), b2b(0, 0, 1, 0n, 5n), b2b(0, 0, 1, 0n, 6n), b2b(0, 0, 2, 0n, 1023n)));
    expect(abortedSense(r)).toBe('70 00 0a 00 00 00 00 0a 00 00 00 02 00 00 00 a0 00 14'); // DESTINATION LOGICAL BLOCK ADDRESS
    // COMPLETED WITH ERRORS, SEGMENTS PROCESSED 2, 1024 bytes.
    expect(hex((await u.run(rcr(0, 4))).data)).toBe('00 00 00 08 02 00 02 00 00 00 04 00');
  });

  test('a range past the capacity in segment 0: COMMAND-SPECIFIC INFORMATION 0', async () => {
    const u = await unit();
    const naa = await naaOf(u);
    const r = await copyList(u, list(header(1, 0x10, 32, 28), e4(naa), b2b(0, 0, 1, 1024n, 0n)));
    expect(abortedSense(r)).toBe('70 00 0a 00 00 00 00 0a 00 00 00 00 00 00 00 a0 00 0c'); // SOURCE LOGICAL BLOCK ADDRESS
  });

  test('a sanitize during segment 1: 04h/1Bh in segment 1', async () => {
    const { d, g, lu, naa } = await gatedUnit('read', 0n);
    const l = list(header(1, 0x10, 32, 56), e4(naa), b2b(0, 0, 1, 50n, 60n), b2b(0, 0, 8, 0n, 100n));
    const copy = lu.execute(xcopy(l.length), { dataOut: l });
    await settle();
    expect(d.trace('read')).toEqual(['read start 50+1', 'read end 50+1', 'read start 0+8']);
    const sanitize = sanitizeOverwrite(lu);
    await settle();
    g.open();
    expectGood(await sanitize);
    expect(abortedSense(await copy)).toBe('70 00 0a 00 00 00 00 0a 00 00 00 01 04 1b 00 00 00 00');
  });
});

describe('COPY ABORTED INFORMATION: the residual of the segment, once any of it was written', () => {
  test('a write failing on the second chunk of segment 1 (10 blocks, 4 a chunk): VALID, INFORMATION 6', async () => {
    const u = await unit({ fault: (op, lba) => (op === 'write' && lba === 4n ? 'io-error' : undefined) }, { maxTransferBytes: 4 * BS });
    const naa = await naaOf(u);
    const r = await copyList(u, list(header(1, 0x10, 32, 56), e4(naa), b2b(0, 0, 1, 0n, 500n), b2b(0, 0, 10, 100n, 0n)));
    expect(abortedSense(r)).toBe('f0 00 0a 00 00 00 06 0a 00 00 00 01 0c 00 00 00 00 00');
  });

  test('a backward copy (destination above an overlapping source) counts blocks written, not where: INFORMATION 8', async () => {
    // 10 blocks from 0 to 3 go as 8..9 → 11..12, then 4..7 → 7..10, which fails.
    const u = await unit({ fault: (op, lba) => (op === 'write' && lba === 7n ? 'io-error' : undefined) }, { maxTransferBytes: 4 * BS });
    const naa = await naaOf(u);
    const r = await copyList(u, list(header(1, 0x10, 32, 28), e4(naa), b2b(0, 0, 10, 0n, 3n)));
    expect(abortedSense(r)).toBe('f0 00 0a 00 00 00 08 0a 00 00 00 00 0c 00 00 00 00 00');
  });

  test('a sanitize between two chunks of a segment: 04h/1Bh with INFORMATION 4', async () => {
    const { d, g, lu, naa } = await gatedUnit('read', 104n, { maxTransferBytes: 4 * BS });
    const l = list(header(1, 0x10, 32, 28), e4(naa), b2b(0, 0, 8, 100n, 0n));
    const copy = lu.execute(xcopy(l.length), { dataOut: l });
    await settle();
    expect(d.trace('write')).toEqual(['write start 0+4', 'write end 0+4']);
    const sanitize = sanitizeOverwrite(lu);
    await settle();
    g.open();
    expectGood(await sanitize);
    expect(abortedSense(await copy)).toBe('f0 00 0a 00 00 00 04 0a 00 00 00 00 04 1b 00 00 00 00');
  });
});

describe('RECEIVE COPY OPERATING PARAMETERS', () => {
  test('SNLID, 2 CSCD and 64 segment descriptors, 1856 bytes, 65535 blocks per segment, one copy at a time, types 02h and E4h', async () => {
    const u = await unit();
    const r = await u.run(rcr(3));
    expectGood(r);
    expect(hex(r.data)).toBe(
      hex(
        list(
          [0, 0, 0, 0x2a, 0x01, 0, 0, 0], // AVAILABLE DATA 42, SNLID
          [0x00, 0x02, 0x00, 0x40], // MAXIMUM CSCD DESCRIPTOR COUNT, MAXIMUM SEGMENT DESCRIPTOR COUNT
          u32(1856), // MAXIMUM DESCRIPTOR LIST LENGTH
          u32(0xffff * BS), // MAXIMUM SEGMENT LENGTH
          u32(0), u32(0), u32(0), // MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, MAXIMUM STREAM DEVICE TRANSFER SIZE
          [0, 0, 0x00, 0x01, 0x01, 0, 0, 0], // TOTAL CONCURRENT COPIES 1, MAXIMUM CONCURRENT COPIES 1, granularities 0
          [0, 0, 0, 0x02, 0x02, 0xe4], // IMPLEMENTED DESCRIPTOR LIST LENGTH 2: 02h, E4h
        ),
      ),
    );
    expect(hex((await u.run(rcr(3, 0, 8))).data)).toBe('00 00 00 2a 01 00 00 00');
  });

  test('reserved fields → INVALID FIELD IN CDB; unimplemented service actions (LID4, failure details) too', async () => {
    const u = await unit();
    expectSense(await u.run(rcr(3, 1)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 0 } });
    expectSense(await u.run(rcr(0x04)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 4 } });
    expectSense(await u.run(rcr(0x05)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 4 } });
    const c = rcr(0, 1);
    c[14] = 1;
    expectSense(await u.run(c), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 14, bit: 0 } });
    expectSense(await u.run(Uint8Array.from([0x83, 0x01, ...new Array<number>(14).fill(0)])), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 4 } });
  });

  test('INQUIRY reports 3PC (byte 5 bit 3)', async () => {
    const u = await unit();
    expect(((await u.run('12 00 00 00 24 00')).data?.[5] ?? 0) & 0x08).toBe(0x08);
  });
});

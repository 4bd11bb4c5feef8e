// MODE SELECTs that run at the same time: the end state must be that of one
// after the other (SAM-5: commands with the SIMPLE task attribute may run in
// any order, not half in one and half in another). A WCE change waits for a
// flush of the write cache; the device's flush is held here so that a second
// MODE SELECT arrives while the first waits, as two iSCSI sessions can make
// happen against a FileBackend. Pages as in spc-mode.test.ts (SPC-5 Caching
// 08h: WCE byte 2 bit 2; Control 0Ah: D_SENSE byte 2 bit 2, SWP byte 4 bit 3).

import { describe, expect, test } from 'vitest';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import { MemoryBlockSet } from '../../../src/scsi/sbc/memory-block-set.js';
import { DATA_PROTECT, HARDWARE_ERROR, ILLEGAL_REQUEST, UNIT_ATTENTION, bytes, expectGood, expectSense, hex, unit, type Unit } from './harness.js';
import { cat, expectData, z } from './spc-helpers.js';

const TUR = '00 00 00 00 00 00';
const READ_PAST_END = '28 00 00 00 04 00 00 00 01 00'; // READ(10) LBA 1024 on a 1024-block disk
const WRITE_1 = '2a 00 00 00 00 05 00 00 01 00';
const H6 = z(4); // MODE SELECT (6) header, BLOCK DESCRIPTOR LENGTH 0

const caching = (wce: boolean): string => cat('08 12', wce ? '04' : '00', z(17));
// D_SENSE | GLTSD, QAM 1h, SWP
const control = (dSense: boolean, swp = false): string => cat('0a 0a', dSense ? '06' : '02', '10', swp ? '08' : '00', z(7));
const hx = (n: number): string => n.toString(16).padStart(2, '0');

/** MODE SELECT (6), PF 1, with the parameter list `params`; not awaited, so that two can run together. */
function select(u: Unit, params: string) {
  const data = bytes(params);
  return u.run(cat('15 10 00 00', hx(data.length), '00'), { dataOut: data });
}

/** The Caching and Control pages as MODE SENSE (6) (DBD) reports them now: WP in the header is SWP's. */
async function expectModes(u: Unit, m: { wce: boolean; dSense: boolean; swp: boolean }): Promise<void> {
  expectData(await u.run('1a 08 08 00 ff 00'), cat('17 00', m.swp ? '90' : '10', '00', caching(m.wce)));
  expectData(await u.run('1a 08 0a 00 ff 00'), cat('0f 00', m.swp ? '90' : '10', '00', control(m.dSense, m.swp)));
  expect(u.disk.writeCacheEnabled()).toBe(m.wce);
}

/** Holds the device's flushes until the returned function is called; later ones pass at once. */
function holdFlushes(disk: MemoryBlockSet): () => void {
  let open = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const flush = disk.flush.bind(disk);
  disk.flush = () => gate.then(flush);
  return open;
}

/** A MemoryBlockSet that counts device resets (BlockCommandSet.resetEpoch), as the vtblk SIM's does. */
class ResettingDisk extends MemoryBlockSet {
  resetEpoch = 0;
}

describe('two MODE SELECTs at once, one turning WCE off', () => {
  const WCE_OFF = cat(H6, caching(false));
  const SWP_ON = cat(H6, control(false, true));
  const D_SENSE_ON = cat(H6, control(true));

  test.each([
    ['WCE off first', true],
    ['SWP on first', false],
  ])('and one turning SWP on, %s: both GOOD, both in effect, WRITE is DATA PROTECT 27h/02h', async (_name, wceFirst) => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'C' }));
    const release = holdFlushes(u.disk);
    const [first, second] = wceFirst ? [WCE_OFF, SWP_ON] : [SWP_ON, WCE_OFF];
    const a = select(u, first);
    const b = select(u, second);
    release();
    expectGood(await a);
    expectGood(await b);
    await expectModes(u, { wce: false, dSense: false, swp: true });
    expectSense(await u.run(WRITE_1, { dataOut: new Uint8Array(512) }), { key: DATA_PROTECT, asc: 0x27, ascq: 0x02 });
    expect(u.disk.calls).toEqual([{ op: 'flush' }, { op: 'write-cache' }]);
    // Another I_T nexus hears of the changes once.
    expectSense(await u.run(TUR, { nexus: 'C' }), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
    expectGood(await u.run(TUR, { nexus: 'C' }));
  });

  test.each([
    ['WCE off first', true],
    ['D_SENSE on first', false],
  ])('and one turning D_SENSE on, %s: both in effect, sense in descriptor format', async (_name, wceFirst) => {
    const u = await unit();
    const release = holdFlushes(u.disk);
    const [first, second] = wceFirst ? [WCE_OFF, D_SENSE_ON] : [D_SENSE_ON, WCE_OFF];
    const a = select(u, first);
    const b = select(u, second);
    release();
    expectGood(await a);
    expectGood(await b);
    await expectModes(u, { wce: false, dSense: true, swp: false });
    expect(hex((await u.run(READ_PAST_END)).sense)).toBe('72 05 21 00 00 00 00 00');
  });

  test('and another turning WCE off: the second finds it off, so no second flush and one unit attention', async () => {
    const u = await unit();
    expectGood(await u.run(TUR, { nexus: 'C' }));
    const release = holdFlushes(u.disk);
    const a = select(u, WCE_OFF);
    const b = select(u, WCE_OFF);
    release();
    expectGood(await a);
    expectGood(await b);
    expect(u.disk.calls).toEqual([{ op: 'flush' }, { op: 'write-cache' }]);
    expectSense(await u.run(TUR, { nexus: 'C' }), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
    expectGood(await u.run(TUR, { nexus: 'C' }));
  });

  test('a MODE SELECT that fails meanwhile changes nothing: SWP with a Caching page changing RCD → 26h/00h', async () => {
    const u = await unit();
    const release = holdFlushes(u.disk);
    const a = select(u, WCE_OFF);
    // RCD (Caching byte 2 bit 0) is not changeable; the Caching page starts at parameter byte 16.
    const b = select(u, cat(H6, control(true, true), '08 12 05', z(17)));
    release();
    expectGood(await a);
    expectSense(await b, { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 18, bit: 0, cdb: false } });
    await expectModes(u, { wce: false, dSense: false, swp: false });
  });

  test('the WCE change failing at its flush changes nothing; the MODE SELECT waiting behind it still applies', async () => {
    const u = await unit({ fault: (op) => (op === 'flush' ? 'io-error' : undefined) });
    const release = holdFlushes(u.disk);
    const a = select(u, cat(H6, caching(false), control(true)));
    const b = select(u, SWP_ON);
    release();
    expectSense(await a, { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 });
    expectGood(await b);
    await expectModes(u, { wce: true, dSense: false, swp: true });
  });
});

describe('a logical unit reset while a WCE change waits for its flush', () => {
  test('the waiting MODE SELECT, aborted by the device reset, does not undo the defaults', async () => {
    const disk = new ResettingDisk({ blocks: 1024 });
    const lu = await SbcEmulator.create(disk, { powerOnUnitAttention: false });
    const u: Unit = { lu, disk, run: (cdb, opts) => lu.execute(typeof cdb === 'string' ? bytes(cdb) : cdb, opts) };
    const release = holdFlushes(disk);
    const a = select(u, cat(H6, caching(false)));
    const b = select(u, cat(H6, control(true, true)));
    disk.resetEpoch += 2; // a device reset began and ended
    lu.resetLogicalUnit();
    release();
    await Promise.all([a, b]);
    expectSense(await u.run(TUR), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 }); // fixed format: D_SENSE still 0
    await expectModes(u, { wce: true, dSense: false, swp: false });
    expect(disk.calls).toEqual([{ op: 'flush' }]);
  });

  test('on a device that counts no resets, the MODE SELECT sets only WCE: the reset has put SWP back to 0', async () => {
    const u = await unit();
    expectGood(await select(u, cat(H6, control(false, true))));
    const release = holdFlushes(u.disk);
    const a = select(u, cat(H6, caching(false), control(false, true)));
    u.lu.resetLogicalUnit();
    release();
    expectGood(await a);
    expectSense(await u.run(TUR), { key: UNIT_ATTENTION, asc: 0x29, ascq: 0x03 });
    await expectModes(u, { wce: false, dSense: false, swp: false });
  });
});

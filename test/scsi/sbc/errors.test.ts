// The SBC emulator's error reporting: the block-operation error table
// (errors.ts) checked against its header written out again here, then end to
// end through the emulator with the MemoryBlockSet fault hook (one command per
// table row and failure), unit attentions and deferred errors per I_T nexus
// (SAM-5), NOT READY while stopped, the Data-Out length rule, and the sense
// format chosen by D_SENSE (SPC-5). Expected bytes are written from the specs.

import { describe, expect, test } from 'vitest';
import { BLOCK_ERROR_TABLE, UnitAttention, blockFailureSense, failingBlock, isResetCondition, type BlockOperation } from '../../../src/scsi/sbc/errors.js';
import type { BlockFailure } from '../../../src/scsi/sbc/block-command-set.js';
import { MemoryBlockSet, type MemoryBlockSetOptions } from '../../../src/scsi/sbc/memory-block-set.js';
import { SbcEmulator } from '../../../src/scsi/sbc/emulator.js';
import type { SbcResult } from '../../../src/scsi/sbc/execute-api.js';
import {
  DATA_PROTECT,
  HARDWARE_ERROR,
  ILLEGAL_REQUEST,
  MEDIUM_ERROR,
  NOT_READY,
  UNIT_ATTENTION,
  block,
  bytes,
  expectGood,
  expectSense,
  hex,
  unit,
  type Unit,
} from './harness.js';

type Triple = readonly [key: number, asc: number, ascq: number];
const FAILURES: readonly BlockFailure[] = ['io-error', 'unsupported', 'no-space', 'no-resources'];

// The table in the errors.ts header, copied by hand (key, ASC, ASCQ).
const UNRECOVERED_READ: Triple = [0x03, 0x11, 0x00];
const WRITE_ERROR: Triple = [0x03, 0x0c, 0x00];
const INTERNAL_TARGET_FAILURE: Triple = [0x04, 0x44, 0x00];
const INVALID_OPCODE: Triple = [0x05, 0x20, 0x00];
const INVALID_FIELD_IN_PARAMETER_LIST: Triple = [0x05, 0x26, 0x00];
const SPACE_ALLOCATION_FAILED: Triple = [0x07, 0x27, 0x07];
const INSUFFICIENT_RESOURCES: Triple = [0x05, 0x55, 0x03];
const HEADER_TABLE: Readonly<Record<BlockOperation, Readonly<Record<BlockFailure, Triple>>>> = {
  read: { 'io-error': UNRECOVERED_READ, unsupported: INVALID_OPCODE, 'no-space': UNRECOVERED_READ, 'no-resources': INSUFFICIENT_RESOURCES },
  write: { 'io-error': WRITE_ERROR, unsupported: INVALID_OPCODE, 'no-space': SPACE_ALLOCATION_FAILED, 'no-resources': INSUFFICIENT_RESOURCES },
  flush: { 'io-error': INTERNAL_TARGET_FAILURE, unsupported: INVALID_OPCODE, 'no-space': SPACE_ALLOCATION_FAILED, 'no-resources': INSUFFICIENT_RESOURCES },
  discard: { 'io-error': WRITE_ERROR, unsupported: INVALID_OPCODE, 'no-space': SPACE_ALLOCATION_FAILED, 'no-resources': INSUFFICIENT_RESOURCES },
  'write-zeroes': { 'io-error': WRITE_ERROR, unsupported: INVALID_OPCODE, 'no-space': SPACE_ALLOCATION_FAILED, 'no-resources': INSUFFICIENT_RESOURCES },
  'write-cache': {
    'io-error': INTERNAL_TARGET_FAILURE,
    unsupported: INVALID_FIELD_IN_PARAMETER_LIST,
    'no-space': INTERNAL_TARGET_FAILURE,
    'no-resources': INSUFFICIENT_RESOURCES,
  },
  mapping: { 'io-error': UNRECOVERED_READ, unsupported: INVALID_OPCODE, 'no-space': UNRECOVERED_READ, 'no-resources': INSUFFICIENT_RESOURCES },
};
const OPS = Object.keys(HEADER_TABLE) as BlockOperation[];

const TUR = '00 00 00 00 00 00';
const REQUEST_SENSE = '03 00 00 00 12 00'; // DESC 0, allocation length 18
const INQUIRY = '12 00 00 00 24 00';
const READ_LBA0 = '28 00 00 00 00 00 00 00 01 00';
// MODE SELECT (6), PF 1, 24 bytes: header (4) + Caching page 08h (PAGE LENGTH 12h) with WCE (byte 2 bit 2) = 1.
const MODE_SELECT_WCE_ON = '15 10 00 00 18 00';
const CACHING_WCE_ON = bytes(`00 00 00 00 08 12 04 ${'00 '.repeat(17)}`);
// MODE SELECT (6), PF 1, 16 bytes: header + Control page 0Ah with D_SENSE (byte 2 bit 2), GLTSD (bit 1) and QAM 1h (defaults).
const MODE_SELECT_D_SENSE = '15 10 00 00 10 00';
const CONTROL_D_SENSE = bytes('00 00 00 00 0a 0a 06 10 00 00 00 00 00 00 00 00');

const triple = (r: SbcResult): Triple => {
  const s = r.sense ?? new Uint8Array(18);
  return [(s[2] ?? 0) & 0x0f, s[12] ?? 0, s[13] ?? 0];
};

describe('BLOCK_ERROR_TABLE', () => {
  test('every operation × failure is the key/ASC/ASCQ of the header table', () => {
    expect(Object.keys(BLOCK_ERROR_TABLE).sort()).toEqual([...OPS].sort());
    for (const op of OPS) {
      expect(Object.keys(BLOCK_ERROR_TABLE[op]).sort(), op).toEqual([...FAILURES].sort());
      for (const f of FAILURES) {
        const { key, code } = BLOCK_ERROR_TABLE[op][f];
        expect([key, code.asc, code.ascq], `${op} ${f}`).toEqual(HEADER_TABLE[op][f]);
      }
    }
  });

  test('failingBlock: only a one-block operation knows its failing block', () => {
    expect(failingBlock(7n, 1)).toBe(7n);
    expect(failingBlock(7n, 1n)).toBe(7n);
    expect(failingBlock(7n, 2)).toBeUndefined();
    expect(failingBlock(7n, 0n)).toBeUndefined();
  });

  test('blockFailureSense puts the LBA in INFORMATION for medium errors only', () => {
    expect(blockFailureSense('read', 'io-error', 7n)).toEqual({ key: 3, asc: 0x11, ascq: 0, information: 7n });
    expect(blockFailureSense('write', 'io-error', 0n)).toEqual({ key: 3, asc: 0x0c, ascq: 0, information: 0n });
    expect(blockFailureSense('read', 'io-error')).toEqual({ key: 3, asc: 0x11, ascq: 0 });
    expect(blockFailureSense('write', 'no-space', 7n)).toEqual({ key: 7, asc: 0x27, ascq: 0x07 });
    expect(blockFailureSense('flush', 'io-error', 7n)).toEqual({ key: 4, asc: 0x44, ascq: 0 });
    expect(blockFailureSense('read', 'unsupported', 7n)).toEqual({ key: 5, asc: 0x20, ascq: 0 });
    expect(blockFailureSense('read', 'no-resources', 7n)).toEqual({ key: 5, asc: 0x55, ascq: 0x03 });
  });
});

describe('unit attention codes', () => {
  test('ASC/ASCQ of each condition (SPC-5 Annex D)', () => {
    expect(UnitAttention).toEqual({
      POWER_ON_RESET: { asc: 0x29, ascq: 0x00 },
      BUS_DEVICE_RESET: { asc: 0x29, ascq: 0x03 },
      I_T_NEXUS_LOSS: { asc: 0x29, ascq: 0x07 },
      NOT_READY_TO_READY_CHANGE: { asc: 0x28, ascq: 0x00 },
      CAPACITY_DATA_HAS_CHANGED: { asc: 0x2a, ascq: 0x09 },
      MODE_PARAMETERS_CHANGED: { asc: 0x2a, ascq: 0x01 },
      REPORTED_LUNS_DATA_HAS_CHANGED: { asc: 0x3f, ascq: 0x0e },
      INQUIRY_DATA_HAS_CHANGED: { asc: 0x3f, ascq: 0x03 },
    });
  });

  test('isResetCondition: ASC 29h only', () => {
    for (const ascq of [0x00, 0x01, 0x02, 0x03, 0x07]) expect(isResetCondition({ asc: 0x29, ascq })).toBe(true);
    for (const [asc, ascq] of [[0x2a, 0x01], [0x2a, 0x09], [0x3f, 0x0e], [0x3f, 0x03], [0x28, 0x00], [0x00, 0x29]] as const) {
      expect(isResetCondition({ asc, ascq })).toBe(false);
    }
  });
});

/** A command that exercises one block operation, and how to tell nothing changed. */
interface Row {
  readonly cdb: string;
  readonly dataOut?: Uint8Array;
  /** INFORMATION expected for a medium error. */
  readonly lba?: number;
  readonly disk?: Partial<MemoryBlockSetOptions>;
  readonly unchanged: (u: Unit) => void | Promise<void>;
}

const DATA_5 = Uint8Array.from([...block(512, 0xa5), ...block(512, 0xa6)]);
async function seed(u: Unit): Promise<void> {
  expect(await u.disk.write(5n, DATA_5)).toBe('ok');
}
const stillSeeded = (u: Unit): void => {
  expect(u.disk.peek(5n)).toEqual(block(512, 0xa5));
  expect(u.disk.peek(6n)).toEqual(block(512, 0xa6));
};

const ROWS: Readonly<Record<BlockOperation, Row>> = {
  read: { cdb: '28 00 00 00 00 05 00 00 02 00', lba: 5, unchanged: stillSeeded },
  write: { cdb: '2a 00 00 00 00 05 00 00 02 00', dataOut: block(1024, 0x11), lba: 5, unchanged: stillSeeded },
  flush: { cdb: '35 00 00 00 00 00 00 00 00 00', unchanged: stillSeeded },
  // UNMAP, 24-byte list: UNMAP DATA LENGTH 22, BLOCK DESCRIPTOR DATA LENGTH 16, one descriptor LBA 5, 2 blocks.
  discard: {
    cdb: '42 00 00 00 00 00 00 00 18 00',
    dataOut: bytes('00 16 00 10 00 00 00 00 00 00 00 00 00 00 00 05 00 00 00 02 00 00 00 00'),
    lba: 5,
    unchanged: stillSeeded,
  },
  // WRITE SAME (16) UNMAP 1, LBA 5, 2 blocks, a zero block: the write-zeroes path.
  'write-zeroes': { cdb: '93 08 00 00 00 00 00 00 00 05 00 00 00 02 00 00', dataOut: new Uint8Array(512), lba: 5, unchanged: stillSeeded },
  'write-cache': {
    cdb: MODE_SELECT_WCE_ON,
    dataOut: CACHING_WCE_ON,
    disk: { writeCache: false },
    unchanged: async (u) => {
      expect(u.disk.writeCacheEnabled()).toBe(false);
      // MODE SENSE (6) DBD, Caching page, current values: WCE still 0 (page byte 2 after the 4-byte header).
      const r = await u.run('1a 08 08 00 ff 00');
      expectGood(r);
      expect(hex(r.data?.subarray(4, 7))).toBe('08 12 00');
    },
  },
  // GET LBA STATUS, LBA 5, allocation length 32.
  mapping: { cdb: '9e 12 00 00 00 00 00 00 00 05 00 00 00 20 00 00', lba: 5, unchanged: stillSeeded },
};

describe('block failures end to end (MemoryBlockSet fault hook)', () => {
  for (const op of OPS) {
    for (const failure of FAILURES) {
      test(`${op} ${failure} → ${HEADER_TABLE[op][failure].map((x) => x.toString(16).padStart(2, '0')).join('/')}`, async () => {
        const row = ROWS[op];
        let armed = false;
        const u = await unit({ ...row.disk, fault: (o) => (armed && o === op ? failure : undefined) });
        await seed(u);
        armed = true;
        const opts = row.dataOut === undefined ? {} : { dataOut: row.dataOut };
        const r = await u.run(row.cdb, opts);
        const [key, asc, ascq] = HEADER_TABLE[op][failure];
        const medium = key === MEDIUM_ERROR;
        // Each row's block operation covers two blocks (5 and 6): a medium error cannot name the failing one
        // (failingBlock). GET LBA STATUS's mapping query fails at its STARTING LBA, which it names.
        const information = op === 'mapping' ? row.lba : ('invalid' as const);
        expectSense(r, { key, asc, ascq, ...(medium && row.lba !== undefined ? { information } : {}) });
        if (!medium) expect((r.sense?.[0] ?? 0xff) & 0x80, 'VALID').toBe(0);
        expect(u.disk.calls.some((c) => c.op === op)).toBe(true);
        await row.unchanged(u);
        // The unit keeps working, and the same command now succeeds.
        armed = false;
        expectGood(await u.run(row.cdb, opts));
        expectGood(await u.run(READ_LBA0));
      });
    }
  }

  test('a fault hook that throws is HARDWARE ERROR, INTERNAL TARGET FAILURE, for every operation', async () => {
    for (const op of OPS) {
      const row = ROWS[op];
      let armed = false;
      const u = await unit({
        ...row.disk,
        fault: (o) => {
          if (armed && o === op) throw new Error(`injected ${op}`);
          return undefined;
        },
      });
      await seed(u);
      armed = true;
      const r = await u.run(row.cdb, row.dataOut === undefined ? {} : { dataOut: row.dataOut });
      expect(triple(r), op).toEqual(INTERNAL_TARGET_FAILURE);
      expect((r.sense?.[0] ?? 0xff) & 0x80, 'VALID').toBe(0);
      await row.unchanged(u);
    }
  });

  test('a BlockCommandSet whose promise rejects is HARDWARE ERROR, and the unit goes on', async () => {
    class Rejecting extends MemoryBlockSet {
      override read(): Promise<'ok'> {
        return Promise.reject(new Error('bug below the emulator'));
      }
    }
    const lu = await SbcEmulator.create(new Rejecting({ blocks: 16 }), { powerOnUnitAttention: false });
    expectSense(await lu.execute(bytes(READ_LBA0)), { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 });
    expectGood(await lu.execute(bytes(TUR)));
  });

  test('a medium error past 32 bits: fixed format drops INFORMATION (VALID 0), descriptor format carries it', async () => {
    const u = await unit({ blocks: 0x2_0000_0000n, fault: (op) => (op === 'read' ? 'io-error' : undefined) });
    const read16 = '88 00 00 00 00 01 00 00 00 05 00 00 00 01 00 00'; // LBA 1_0000_0005h, 1 block
    expect(hex((await u.run(read16)).sense)).toBe('70 00 03 00 00 00 00 0a 00 00 00 00 11 00 00 00 00 00');
    expectGood(await u.run(MODE_SELECT_D_SENSE, { dataOut: CONTROL_D_SENSE }));
    // 72h, key 3, 11h/00h, ADDITIONAL SENSE LENGTH 12: Information descriptor (00h, 0Ah, VALID, 8-byte INFORMATION).
    expect(hex((await u.run(read16)).sense)).toBe('72 03 11 00 00 00 00 0c 00 0a 80 00 00 00 00 01 00 00 00 05');
  });
});

describe('unit attentions (SAM-5), per I_T nexus', () => {
  const ua = (r: SbcResult, asc: number, ascq: number): void => {
    expectSense(r, { key: UNIT_ATTENTION, asc, ascq });
  };

  test('POWER ON to each new nexus, once; INQUIRY and REPORT LUNS neither report nor clear it; a lost nexus returns to I_T NEXUS LOSS', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectGood(await u.run(INQUIRY, { nexus: 'a' }));
    expectGood(await u.run('a0 00 00 00 00 00 00 00 00 10 00 00', { nexus: 'a' }));
    ua(await u.run(TUR, { nexus: 'a' }), 0x29, 0x00);
    expectGood(await u.run(TUR, { nexus: 'a' }));
    ua(await u.run(READ_LBA0, { nexus: 'b' }), 0x29, 0x00);
    expectGood(await u.run(READ_LBA0, { nexus: 'b' }));
    u.lu.forgetNexus('a');
    // SAM-5 I_T nexus loss establishes I_T NEXUS LOSS OCCURRED (29h/07h) for the initiator port: the unit was
    // not powered on, so POWER ON (29h/00h) would say more than happened.
    ua(await u.run(TUR, { nexus: 'a' }), 0x29, 0x07);
    expectGood(await u.run(TUR, { nexus: 'a' }));
  });

  test('INQUIRY, REPORT LUNS and REQUEST SENSE with a bad CDB are rejected for the CDB and leave the unit attention pending', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    expectSense(await u.run('12 00 01 00 24 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2 } });
    expectSense(await u.run('a0 00 00 00 00 00 00 00 00 04 00 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 6 } });
    expectSense(await u.run('03 02 00 00 12 00'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 1 } });
    ua(await u.run(TUR), 0x29, 0x00);
  });

  test('REQUEST SENSE returns the unit attention as data (GOOD) and clears it', async () => {
    const u = await unit({}, { powerOnUnitAttention: true });
    const r = await u.run(REQUEST_SENSE);
    expectGood(r);
    expect(hex(r.data)).toBe('70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00');
    expectGood(await u.run(TUR));
    expect(hex((await u.run(REQUEST_SENSE)).data)).toBe('70 00 00 00 00 00 00 0a 00 00 00 00 00 00 00 00 00 00');
  });

  test('MODE SELECT changing WCE: MODE PARAMETERS CHANGED to the other nexuses, not to the one that changed it', async () => {
    const u = await unit({ writeCache: false });
    for (const n of ['a', 'b', 'c']) expectGood(await u.run(TUR, { nexus: n }));
    expectGood(await u.run(MODE_SELECT_WCE_ON, { dataOut: CACHING_WCE_ON, nexus: 'a' }));
    expect(u.disk.writeCacheEnabled()).toBe(true);
    expectGood(await u.run(TUR, { nexus: 'a' }));
    ua(await u.run(TUR, { nexus: 'b' }), 0x2a, 0x01);
    ua(await u.run(TUR, { nexus: 'c' }), 0x2a, 0x01);
    expectGood(await u.run(TUR, { nexus: 'b' }));
    // The same parameters again change nothing, so nothing is raised.
    expectGood(await u.run(MODE_SELECT_WCE_ON, { dataOut: CACHING_WCE_ON, nexus: 'a' }));
    expectGood(await u.run(TUR, { nexus: 'b' }));
  });

  test('a failed WCE change raises nothing', async () => {
    const u = await unit({ writeCache: false, fault: (op) => (op === 'write-cache' ? 'io-error' : undefined) });
    expectGood(await u.run(TUR, { nexus: 'b' }));
    expectSense(await u.run(MODE_SELECT_WCE_ON, { dataOut: CACHING_WCE_ON, nexus: 'a' }), { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 });
    expectGood(await u.run(TUR, { nexus: 'b' }));
  });

  test('capacity change and device-side WCE change reach every nexus, queued in order without duplicates', async () => {
    const u = await unit({ blocks: 64 });
    for (const n of ['a', 'b']) expectGood(await u.run(TUR, { nexus: n }));
    u.disk.resize(128n);
    expect(u.lu.refreshGeometry()).toBe(true);
    u.disk.deviceSetsWriteCache(false);
    expect(u.lu.refreshGeometry()).toBe(true);
    expect(u.lu.refreshGeometry()).toBe(false);
    u.disk.resize(96n);
    expect(u.lu.refreshGeometry()).toBe(true); // 2Ah/09h again: already queued, not twice
    for (const n of ['a', 'b']) {
      ua(await u.run(TUR, { nexus: n }), 0x2a, 0x09);
      ua(await u.run(TUR, { nexus: n }), 0x2a, 0x01);
      expectGood(await u.run(TUR, { nexus: n }));
    }
    // READ CAPACITY (10) now reports the last LBA 95.
    expect(hex((await u.run('25 00 00 00 00 00 00 00 00 00')).data)).toBe('00 00 00 5f 00 00 02 00');
  });

  test('LOGICAL UNIT RESET: 29h/03h replaces what was queued, drops deferred errors, restarts, D_SENSE back to 0', async () => {
    let failFlush = true;
    const u = await unit({ fault: (op) => (op === 'flush' && failFlush ? 'io-error' : undefined) });
    expectGood(await u.run(TUR, { nexus: 'b' }));
    expectGood(await u.run(MODE_SELECT_D_SENSE, { dataOut: CONTROL_D_SENSE })); // 2Ah/01h queued for b
    expectGood(await u.run('35 02 00 00 00 00 00 00 00 00', { nexus: 'c' })); // SYNCHRONIZE CACHE IMMED: a deferred error for c
    await Promise.resolve();
    failFlush = false;
    expectGood(await u.run('1b 00 00 00 04 00')); // START STOP UNIT START 0, NO_FLUSH 1 → stopped
    expect(hex((await u.run(TUR)).sense)).toBe('72 02 04 02 00 00 00 00'); // D_SENSE 1: descriptor format
    u.lu.resetLogicalUnit();
    for (const n of ['local', 'b', 'c']) {
      ua(await u.run(TUR, { nexus: n }), 0x29, 0x03); // fixed format again
      expectGood(await u.run(TUR, { nexus: n }));
    }
    expectGood(await u.run(READ_LBA0));
  });
});

describe('deferred errors (SPC-5)', () => {
  test('SYNCHRONIZE CACHE IMMED whose flush fails: GOOD now, 71h on the next command of that nexus only', async () => {
    const u = await unit({ fault: (op) => (op === 'flush' ? 'io-error' : undefined) });
    expectGood(await u.run(TUR, { nexus: 'other' }));
    expectGood(await u.run('35 02 00 00 00 00 00 00 00 00'));
    await Promise.resolve();
    expectGood(await u.run(TUR, { nexus: 'other' }));
    const r = await u.run(READ_LBA0);
    expect(hex(r.sense)).toBe('71 00 04 00 00 00 00 0a 00 00 00 00 44 00 00 00 00 00');
    expect(r.data).toBeUndefined();
    expectGood(await u.run(READ_LBA0));
  });

  test('REQUEST SENSE returns a pending unit attention first, then the deferred error as 73h (DESC 1), and clears both', async () => {
    const u = await unit({ fault: (op) => (op === 'flush' ? 'io-error' : undefined) });
    expectGood(await u.run('35 02 00 00 00 00 00 00 00 00'));
    await Promise.resolve();
    u.lu.raiseUnitAttention(UnitAttention.INQUIRY_DATA_HAS_CHANGED);
    const first = await u.run('03 01 00 00 ff 00'); // DESC 1
    expectGood(first);
    expect(hex(first.data)).toBe('72 06 3f 03 00 00 00 00');
    const second = await u.run('03 01 00 00 ff 00');
    expectGood(second);
    expect(hex(second.data)).toBe('73 04 44 00 00 00 00 00');
    expectGood(await u.run(TUR));
  });
});

describe('NOT READY while stopped (START STOP UNIT START 0)', () => {
  test('medium commands get 02h/04h/02h; INQUIRY, REQUEST SENSE, MODE SENSE work; START 1 ends it', async () => {
    const u = await unit();
    expectGood(await u.run('1b 00 00 00 00 00'));
    const nr = { key: NOT_READY, asc: 0x04, ascq: 0x02 };
    expectSense(await u.run(TUR), nr);
    expectSense(await u.run(READ_LBA0), nr);
    expectSense(await u.run('2a 00 00 00 00 00 00 00 01 00', { dataOut: block(512, 1) }), nr);
    expectSense(await u.run('25 00 00 00 00 00 00 00 00 00'), nr);
    expect(u.disk.peek(0n)).toEqual(new Uint8Array(512));
    expectGood(await u.run(INQUIRY));
    expectGood(await u.run('1a 08 3f 00 ff 00'));
    expect(hex((await u.run(REQUEST_SENSE)).data)).toBe('70 00 02 00 00 00 00 0a 00 00 00 00 04 02 00 00 00 00');
    // A CDB error is still reported as such (the CDB is checked before the unit state).
    expectSense(await u.run('28 00 00 00 00 00 00 00 01 04'), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 9, bit: 2 } });
    expectGood(await u.run('1b 00 00 00 01 00'));
    expectGood(await u.run(TUR));
    expectGood(await u.run(READ_LBA0));
  });

  test('stopping flushes the cache unless NO_FLUSH; a failed flush leaves the unit started', async () => {
    const u = await unit({ fault: (op) => (op === 'flush' ? 'io-error' : undefined) });
    expectSense(await u.run('1b 00 00 00 00 00'), { key: HARDWARE_ERROR, asc: 0x44, ascq: 0 });
    expectGood(await u.run(TUR));
    expectGood(await u.run('1b 00 00 00 04 00'));
    expectSense(await u.run(TUR), { key: NOT_READY, asc: 0x04, ascq: 0x02 });
  });
});

describe('Data-Out length', () => {
  test('block data shorter than the transfer: 05h/0Eh/03h, nothing written; longer: the excess is ignored', async () => {
    const u = await unit();
    const write2 = '2a 00 00 00 00 03 00 00 02 00';
    expectSense(await u.run(write2, { dataOut: block(1023, 0x33) }), { key: ILLEGAL_REQUEST, asc: 0x0e, ascq: 0x03 });
    expectSense(await u.run(write2), { key: ILLEGAL_REQUEST, asc: 0x0e, ascq: 0x03 });
    expect(u.disk.calls.filter((c) => c.op === 'write')).toEqual([]);
    expectGood(await u.run(write2, { dataOut: block(1536, 0x44) }));
    expect(u.disk.peek(4n)).toEqual(block(512, 0x44));
    expect(u.disk.peek(5n)).toEqual(new Uint8Array(512));
    expect(u.lu.dataOutLength(bytes(write2))).toBe(1024);
  });

  test('write protection and LBA range come before the Data-Out length', async () => {
    const ro = await unit({ readOnly: true });
    expectSense(await ro.run('2a 00 00 00 00 03 00 00 02 00'), { key: DATA_PROTECT, asc: 0x27, ascq: 0 });
    const rw = await unit({ blocks: 8 });
    expectSense(await rw.run('2a 00 00 00 00 07 00 00 02 00'), { key: ILLEGAL_REQUEST, asc: 0x21, ascq: 0 });
  });
});

describe('sense format follows D_SENSE (SPC-5 Control mode page)', () => {
  test('fixed by default, descriptor after MODE SELECT sets D_SENSE, fixed again after clearing it', async () => {
    const u = await unit();
    const oob = '88 00 ff ff ff ff ff ff ff ff 00 00 00 01 00 00'; // READ (16) at LBA FFFF…FFh
    expect(hex((await u.run(oob)).sense)).toBe('70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00');
    expectGood(await u.run(MODE_SELECT_D_SENSE, { dataOut: CONTROL_D_SENSE }));
    expect(hex((await u.run(oob)).sense)).toBe('72 05 21 00 00 00 00 00');
    // RDPROTECT 001b: INVALID FIELD IN CDB at the field's first bit, byte 1 bit 7 (SPC-5 4.4.2.4.2):
    // Sense key specific descriptor 02h, SKSV|C/D|BPV|bit 7 = CFh, FIELD POINTER 0001h.
    expect(hex((await u.run('28 20 00 00 00 00 00 00 01 00')).sense)).toBe('72 05 24 00 00 00 00 08 02 06 00 00 cf 00 01 00');
    const clear = Uint8Array.from(CONTROL_D_SENSE);
    clear[6] = 0x02;
    expectGood(await u.run(MODE_SELECT_D_SENSE, { dataOut: clear }));
    expect(hex((await u.run(oob)).sense)).toBe('70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00');
  });
});

describe('a refused multiple-bit CDB field is pointed at by its first bit (SPC-5 4.4.2.4.2)', () => {
  // Field pointer sense-key specific bytes (SPC-5 4.4.2.4.2): SKSV byte 0 bit 7, C/D bit 6 (1: the CDB), BPV bit 3,
  // BIT POINTER bits 2..0; FIELD POINTER in the next two bytes. For a multiple-bit field, the BIT POINTER is its
  // first (left-most) bit.
  const fieldPointer = (byte: number, bit: number): string => hex(Uint8Array.of(0x80 | 0x40 | 0x08 | bit, byte >> 8, byte & 0xff));
  test.each([
    ['READ(10) RDPROTECT 001b (byte 1 bits 7..5, no protection information)', '28 20 00 00 00 00 00 00 01 00', 1, 7, 'cf 00 01'],
    ['FORMAT UNIT FFMT 01b (byte 4 bits 1..0, not implemented)', '04 00 00 00 01 00', 4, 1, 'c9 00 04'],
  ])('%s: fixed and descriptor sense', async (_name, cdb, byte, bit, sks) => {
    expect(fieldPointer(byte, bit)).toBe(sks);
    const u = await unit();
    // Fixed (70h): ILLEGAL REQUEST in byte 2, ADDITIONAL SENSE LENGTH 0Ah, ASC/ASCQ 24h/00h in 12..13, field pointer in 15..17.
    expect(hex((await u.run(cdb)).sense)).toBe(`70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 ${sks}`);
    expectGood(await u.run(MODE_SELECT_D_SENSE, { dataOut: CONTROL_D_SENSE }));
    // Descriptor (72h): key, ASC, ASCQ in 1..3, ADDITIONAL SENSE LENGTH 08h; sense key specific descriptor 02h
    // (ADDITIONAL LENGTH 06h, two reserved bytes, the field pointer, one reserved byte).
    expect(hex((await u.run(cdb)).sense)).toBe(`72 05 24 00 00 00 00 08 02 06 00 00 ${sks} 00`);
    expect(u.disk.calls).toEqual([]);
  });
});

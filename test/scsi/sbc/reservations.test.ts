// PERSISTENT RESERVE IN / OUT through the SBC emulator, service action by
// service action, with several I_T nexuses: the SPC-5 register behaviors, the
// reservation rules, PRGENERATION, unit attentions, and the parameter list and
// CDB checks. Every CDB, parameter list and expected Data-In is written from
// the SPC-5 tables (pr-helpers.ts), not with vtcam's encoders.

import { describe, expect, test } from 'vitest';
import { bytes, expectSense, hex, ILLEGAL_REQUEST, UNIT_ATTENTION } from './harness.js';
import { cat, expectData, z } from './spc-helpers.js';
import {
  CLEAR,
  EA,
  EA_AR,
  EA_RO,
  PREEMPT,
  PREEMPT_AND_ABORT,
  READ_FULL_STATUS,
  READ_KEYS,
  READ_RESERVATION,
  REGISTER,
  REGISTER_AND_IGNORE,
  RELEASE,
  REPORT_CAPABILITIES,
  RESERVE,
  TUR,
  TYPES,
  WE,
  WE_AR,
  WE_RO,
  conflict,
  generation,
  good,
  key8,
  keysOf,
  nexuses,
  prinCdb,
  proutCdb,
  proutList,
  type Nexuses,
} from './pr-helpers.js';

const KA = 0xaaaa_0000_0000_0001n;
const KB = 0xbbbb_0000_0000_0002n;
const KC = 0xcccc_0000_0000_0003n;

/** Registers `nexus` with `key` (REGISTER AND IGNORE EXISTING KEY). */
async function reg(n: Nexuses, nexus: string, key: bigint): Promise<void> {
  good(await n.prout(nexus, REGISTER_AND_IGNORE, proutList(0n, key)));
}

/** The next unit attention `nexus` reports to TEST UNIT READY, as "key/asc/ascq", or 'none'. */
async function nextUa(n: Nexuses, nexus: string): Promise<string> {
  const r = await n.as(nexus, TUR);
  if (r.status === 0) return 'none';
  const s = r.senseData;
  return s === undefined ? `status ${r.status}` : `${s.key}/${s.asc.toString(16)}/${s.ascq.toString(16)}`;
}

/** READ RESERVATION data with a reservation (SPC-5): ADDITIONAL LENGTH 10h, key, obsolete, reserved, SCOPE|TYPE, obsolete. */
const reservationData = (gen: number, key: bigint, type: number): string => cat(`00 00 00 ${gen.toString(16).padStart(2, '0')} 00 00 00 10`, key8(key), z(4), '00', `0${type.toString(16)}`, '00 00');

describe('REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-5 register behaviors)', () => {
  test('unregistered nexus: RESERVATION KEY 0 registers the SERVICE ACTION RESERVATION KEY; READ KEYS lists it', async () => {
    const n = await nexuses();
    good(await n.prout('a', REGISTER, proutList(0n, KA)));
    expectData(await n.as('a', prinCdb(READ_KEYS)), cat('00 00 00 01 00 00 00 08', key8(KA)));
  });

  test('unregistered nexus: RESERVATION KEY ≠ 0 → RESERVATION CONFLICT, nothing registered, PRGENERATION unchanged', async () => {
    const n = await nexuses();
    conflict(await n.prout('a', REGISTER, proutList(KA, KA)));
    expectData(await n.as('a', prinCdb(READ_KEYS)), '00 00 00 00 00 00 00 00');
  });

  test('unregistered nexus, both keys 0: GOOD, nothing registered (PRGENERATION still counts the REGISTER)', async () => {
    const n = await nexuses();
    good(await n.prout('a', REGISTER, proutList(0n, 0n)));
    good(await n.prout('a', REGISTER_AND_IGNORE, proutList(0n, 0n)));
    expectData(await n.as('a', prinCdb(READ_KEYS)), '00 00 00 02 00 00 00 00');
  });

  test('registered nexus: REGISTER with another RESERVATION KEY conflicts (libiscsi prout_reregister_key_fails)', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    conflict(await n.prout('a', REGISTER, proutList(0n, KA + 1n)));
    conflict(await n.prout('a', REGISTER, proutList(KB, KA + 1n)));
    expect(keysOf(await n.prin('a', READ_KEYS))).toEqual([KA]);
  });

  test('registered nexus: its own key and a new one replaces the key in place; 0 unregisters', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', REGISTER, proutList(KA, KC)));
    expect(keysOf(await n.prin('a', READ_KEYS))).toEqual([KC, KB]);
    good(await n.prout('a', REGISTER, proutList(KC, 0n)));
    expect(keysOf(await n.prin('a', READ_KEYS))).toEqual([KB]);
  });

  test('REGISTER AND IGNORE EXISTING KEY ignores the RESERVATION KEY: replaces, and unregisters with 0', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    good(await n.prout('a', REGISTER_AND_IGNORE, proutList(0xdeadn, KB)));
    expect(keysOf(await n.prin('a', READ_KEYS))).toEqual([KB]);
    good(await n.prout('a', REGISTER_AND_IGNORE, proutList(0xdeadn, 0n)));
    expect(keysOf(await n.prin('a', READ_KEYS))).toEqual([]);
  });

  test('two nexuses may register the same key; READ KEYS lists both, in registration order', async () => {
    const n = await nexuses();
    await reg(n, 'b', KB);
    await reg(n, 'a', KB);
    expectData(await n.as('c', prinCdb(READ_KEYS)), cat('00 00 00 02 00 00 00 10', key8(KB), key8(KB)));
  });
});

describe('PERSISTENT RESERVE IN', () => {
  test('READ KEYS cut by the ALLOCATION LENGTH keeps the ADDITIONAL LENGTH (libiscsi PrinReadKeys truncate)', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    expectData(await n.as('a', prinCdb(READ_KEYS, 8)), '00 00 00 01 00 00 00 08');
    expectData(await n.as('a', prinCdb(READ_KEYS, 12)), cat('00 00 00 01 00 00 00 08', key8(KA).slice(0, 11)));
  });

  test('READ RESERVATION: header only without a reservation; the holder key, SCOPE and TYPE with one', async () => {
    const n = await nexuses();
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), '00 00 00 00 00 00 00 00');
    await reg(n, 'a', KA);
    good(await n.prout('a', RESERVE, proutList(KA), EA_RO));
    expectData(await n.as('b', prinCdb(READ_RESERVATION)), reservationData(1, KA, EA_RO));
  });

  test('READ RESERVATION of an all registrants reservation: RESERVATION KEY 0', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    good(await n.prout('a', RESERVE, proutList(KA), WE_AR));
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(1, 0n, WE_AR));
  });

  test('READ RESERVATION follows a holder that changes its key', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    good(await n.prout('a', RESERVE, proutList(KA), WE));
    good(await n.prout('a', REGISTER, proutList(KA, KC)));
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(2, KC, WE));
  });

  test('REPORT CAPABILITIES: LENGTH 8, CRH and ATP_C, TMV with ALLOW COMMANDS 011b, all six types (EAh 01h)', async () => {
    const n = await nexuses();
    // byte 2: CRH (bit 4) | ATP_C (bit 2), SIP_C 0, PTPL_C 0; byte 3: TMV (bit 7) | ALLOW COMMANDS 011b (6..4), PTPL_A 0;
    // bytes 4..5: WR_EX_AR | EX_AC_RO | WR_EX_RO | EX_AC | WR_EX (byte 4 bits 7, 6, 5, 3, 1), EX_AC_AR (byte 5 bit 0).
    expectData(await n.as('a', prinCdb(REPORT_CAPABILITIES)), '00 08 14 b0 ea 01 00 00');
  });

  test('service actions 04h..1Fh → INVALID FIELD IN CDB at byte 1 bit 4 (libiscsi PrinServiceactionRange)', async () => {
    const n = await nexuses();
    for (let sa = 4; sa < 0x20; sa++) {
      expectSense(await n.as('a', prinCdb(sa)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 4 } });
    }
    for (let sa = 0; sa < 4; sa++) good(await n.as('a', prinCdb(sa)));
  });
});

describe('READ FULL STATUS', () => {
  // An iSCSI TransportID, FORMAT CODE 01b | PROTOCOL IDENTIFIER 5h (byte 0 = 45h), ADDITIONAL LENGTH 002Ch: the
  // initiator port name "iqn.1994-05.com.example:h1,i,0x400001370000" (43 bytes) and its NUL.
  const name = 'iqn.1994-05.com.example:h1,i,0x400001370000';
  const ascii = (s: string): string => Array.from(s, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
  const tidA = cat('45 00 00 2c', ascii(name), '00'); // 43 bytes + NUL = 44 = 2Ch
  // The default TransportID of an in-process nexus "b": FORMAT CODE 00b (05h), "iqn.2000-01.invalid.vtcam:b" (27 bytes), NUL.
  const tidB = cat('05 00 00 1c', ascii('iqn.2000-01.invalid.vtcam:b'), '00');

  test('one descriptor per registration: key, ALL_TG_PT, R_HOLDER with SCOPE|TYPE, RELATIVE TARGET PORT 1, the TransportID', async () => {
    const n = await nexuses();
    expect(bytes(tidA).length).toBe(48);
    good(await n.u.run(proutCdb(REGISTER_AND_IGNORE), { nexus: 'a', dataOut: proutList(0n, KA), transportId: bytes(tidA) }));
    // ALL_TG_PT set (byte 20 bit 2).
    good(await n.prout('b', REGISTER, proutList(0n, KB, 0x04)));
    good(await n.prout('a', RESERVE, proutList(KA), EA_RO));
    const descA = cat(key8(KA), z(4), '01', '06', z(4), '00 01', '00 00 00 30', tidA);
    const descB = cat(key8(KB), z(4), '02', '00', z(4), '00 01', '00 00 00 20', tidB);
    const additional = bytes(descA).length + bytes(descB).length;
    expect(additional).toBe(72 + 56);
    expectData(await n.as('c', prinCdb(READ_FULL_STATUS)), cat(`00 00 00 02 00 00 00 ${additional.toString(16)}`, descA, descB));
  });

  test('all registrants: every registration is a holder', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('b', RESERVE, proutList(KB), EA_AR));
    const d = await n.prin('a', READ_FULL_STATUS);
    // Byte 12 of each descriptor (R_HOLDER), byte 13 (SCOPE|TYPE); descriptors are 24 + 32 bytes (the default TransportID).
    expect([d[8 + 12], d[8 + 13], d[8 + 56 + 12], d[8 + 56 + 13]]).toEqual([0x01, 0x08, 0x01, 0x08]);
  });

  test('a TransportID of a length no TransportID has rejects the command (a transport bug, thrown)', async () => {
    const n = await nexuses();
    await expect(n.u.run(prinCdb(READ_KEYS), { nexus: 'a', transportId: new Uint8Array(22) })).rejects.toThrow(RangeError);
    await expect(n.u.run(prinCdb(READ_KEYS), { nexus: 'a', transportId: new Uint8Array(26) })).rejects.toThrow(/multiple of 4; got 26/);
    good(await n.u.run(prinCdb(READ_KEYS), { nexus: 'a', transportId: new Uint8Array(24) }));
  });
});

describe('RESERVE', () => {
  test('from an unregistered nexus, or with a key not its own → RESERVATION CONFLICT', async () => {
    const n = await nexuses();
    conflict(await n.prout('a', RESERVE, proutList(0n), WE));
    await reg(n, 'a', KA);
    conflict(await n.prout('a', RESERVE, proutList(KB), WE));
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), '00 00 00 01 00 00 00 00');
  });

  test('each type (libiscsi ProutReserve.Simple): reserve, read back, release', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    for (const type of TYPES) {
      good(await n.prout('a', RESERVE, proutList(KA), type));
      expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(1, type === WE_AR || type === EA_AR ? 0n : KA, type));
      good(await n.prout('a', RELEASE, proutList(KA), type));
      expectData(await n.as('a', prinCdb(READ_RESERVATION)), '00 00 00 01 00 00 00 00');
    }
  });

  test('the holder again with the same type: GOOD; with another type: RESERVATION CONFLICT; another registrant: conflict', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', RESERVE, proutList(KA), WE));
    good(await n.prout('a', RESERVE, proutList(KA), WE));
    conflict(await n.prout('a', RESERVE, proutList(KA), EA));
    conflict(await n.prout('b', RESERVE, proutList(KB), WE));
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(2, KA, WE));
  });

  test('all registrants: any registrant reserving the same type is a holder already (GOOD)', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', RESERVE, proutList(KA), WE_AR));
    good(await n.prout('b', RESERVE, proutList(KB), WE_AR));
    conflict(await n.prout('b', RESERVE, proutList(KB), EA_AR));
  });

  test('TYPE not a persistent reservation type → INVALID FIELD IN CDB byte 2 bit 3; SCOPE ≠ 0 → byte 2 bit 7', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    for (const type of [0x0, 0x2, 0x4, 0x9, 0xf]) {
      expectSense(await n.prout('a', RESERVE, proutList(KA), type), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 3 } });
    }
    expectSense(await n.as('a', proutCdb(RESERVE, WE, 24, 1), proutList(KA)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 7 } });
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), '00 00 00 01 00 00 00 00');
  });
});

describe('RELEASE', () => {
  test('no reservation, or a registrant that does not hold it: GOOD, nothing changes', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', RELEASE, proutList(KA), WE));
    good(await n.prout('a', RESERVE, proutList(KA), WE));
    good(await n.prout('b', RELEASE, proutList(KB), WE));
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(2, KA, WE));
  });

  test('unregistered, or a wrong key → RESERVATION CONFLICT (before any reservation check)', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    good(await n.prout('a', RESERVE, proutList(KA), WE));
    conflict(await n.prout('c', RELEASE, proutList(0n), WE));
    conflict(await n.prout('a', RELEASE, proutList(KB), WE));
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(1, KA, WE));
  });

  test('the holder with another TYPE → INVALID RELEASE OF PERSISTENT RESERVATION (26h/04h), reservation kept', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    good(await n.prout('a', RESERVE, proutList(KA), EA));
    expectSense(await n.prout('a', RELEASE, proutList(KA), WE), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0x04 });
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(1, KA, EA));
  });

  test('releasing a registrants only / all registrants reservation: RESERVATIONS RELEASED to the other registrants only', async () => {
    for (const type of [WE_RO, EA_RO, WE_AR, EA_AR]) {
      const n = await nexuses();
      for (const x of ['a', 'b', 'c']) good(await n.as(x, TUR));
      await reg(n, 'a', KA);
      await reg(n, 'b', KB);
      good(await n.prout('a', RESERVE, proutList(KA), type));
      good(await n.prout('a', RELEASE, proutList(KA), type));
      expect([await nextUa(n, 'a'), await nextUa(n, 'b'), await nextUa(n, 'c')], `type ${type}`).toEqual(['none', '6/2a/4', 'none']);
    }
  });

  test('releasing Write Exclusive or Exclusive Access: no unit attention', async () => {
    for (const type of [WE, EA]) {
      const n = await nexuses();
      good(await n.as('b', TUR));
      await reg(n, 'a', KA);
      await reg(n, 'b', KB);
      good(await n.prout('a', RESERVE, proutList(KA), type));
      good(await n.prout('a', RELEASE, proutList(KA), type));
      expect(await nextUa(n, 'b')).toBe('none');
    }
  });
});

describe('unregistering the holder (libiscsi ProutReserve.Ownership*)', () => {
  test('WE, EA, WE-RO, EA-RO: the reservation goes with the registration; RO types tell the others RESERVATIONS RELEASED', async () => {
    for (const type of [WE, EA, WE_RO, EA_RO]) {
      const n = await nexuses();
      good(await n.as('b', TUR));
      await reg(n, 'a', KA);
      await reg(n, 'b', KB);
      good(await n.prout('a', RESERVE, proutList(KA), type));
      good(await n.prout('a', REGISTER, proutList(KA, 0n)));
      expectData(await n.as('a', prinCdb(READ_RESERVATION)), '00 00 00 03 00 00 00 00');
      expect(await nextUa(n, 'b'), `type ${type}`).toBe(type === WE_RO || type === EA_RO ? '6/2a/4' : 'none');
    }
  });

  test('all registrants: the reservation stays while anyone is registered, and the last one releases it', async () => {
    for (const type of [WE_AR, EA_AR]) {
      const n = await nexuses();
      await reg(n, 'a', KA);
      await reg(n, 'b', KB);
      good(await n.prout('a', RESERVE, proutList(KA), type));
      good(await n.prout('a', REGISTER, proutList(KA, 0n)));
      expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(3, 0n, type));
      good(await n.prout('b', RELEASE, proutList(KB), type));
      expectData(await n.as('a', prinCdb(READ_RESERVATION)), '00 00 00 03 00 00 00 00');
      good(await n.prout('b', RESERVE, proutList(KB), type));
      good(await n.prout('b', REGISTER_AND_IGNORE, proutList(0n, 0n)));
      expectData(await n.as('a', prinCdb(READ_RESERVATION)), '00 00 00 04 00 00 00 00');
    }
  });
});

describe('CLEAR', () => {
  test('reservation and registrations gone, PRGENERATION + 1, RESERVATIONS PREEMPTED to the others (libiscsi ProutClear)', async () => {
    const n = await nexuses();
    for (const x of ['a', 'b', 'c']) good(await n.as(x, TUR));
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', RESERVE, proutList(KA), EA));
    const before = generation(await n.prin('a', READ_KEYS));
    good(await n.prout('a', CLEAR, proutList(KA)));
    expectData(await n.as('a', prinCdb(READ_KEYS)), cat(`00 00 00 ${(before + 1).toString(16).padStart(2, '0')}`, '00 00 00 00'));
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), cat(`00 00 00 ${(before + 1).toString(16).padStart(2, '0')}`, '00 00 00 00'));
    expect([await nextUa(n, 'a'), await nextUa(n, 'b'), await nextUa(n, 'c')]).toEqual(['none', '6/2a/3', 'none']);
  });

  test('unregistered, or a wrong key → RESERVATION CONFLICT, nothing cleared', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    conflict(await n.prout('c', CLEAR, proutList(0n)));
    conflict(await n.prout('a', CLEAR, proutList(KB)));
    expect(keysOf(await n.prin('a', READ_KEYS))).toEqual([KA]);
  });
});

describe('PREEMPT and PREEMPT AND ABORT', () => {
  test('no reservation: removes the registrations with that key, PRGENERATION + 1, REGISTRATIONS PREEMPTED (libiscsi ProutPreempt)', async () => {
    const n = await nexuses();
    good(await n.as('a', TUR));
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    const before = generation(await n.prin('a', READ_KEYS));
    good(await n.prout('b', PREEMPT, proutList(KB, KA), EA));
    const after = await n.prin('b', READ_KEYS);
    expect([generation(after), keysOf(after)]).toEqual([before + 1, [KB]]);
    expectData(await n.as('b', prinCdb(READ_RESERVATION)), cat(`00 00 00 ${(before + 1).toString(16).padStart(2, '0')}`, '00 00 00 00'));
    expect([await nextUa(n, 'a'), await nextUa(n, 'b')]).toEqual(['6/2a/5', 'none']);
  });

  test('a SERVICE ACTION RESERVATION KEY nobody has → RESERVATION CONFLICT, PRGENERATION unchanged', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    const before = generation(await n.prin('a', READ_KEYS));
    conflict(await n.prout('a', PREEMPT, proutList(KA, KC), EA));
    good(await n.prout('a', RESERVE, proutList(KA), EA));
    conflict(await n.prout('a', PREEMPT, proutList(KA, KC), EA));
    expect(generation(await n.prin('a', READ_KEYS))).toBe(before);
  });

  test('preempting the holder: its registration goes, the preempter holds the new type; the rest get RESERVATIONS RELEASED when the type changed', async () => {
    const n = await nexuses();
    for (const x of ['a', 'b', 'c']) good(await n.as(x, TUR));
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    await reg(n, 'c', KC);
    good(await n.prout('a', RESERVE, proutList(KA), EA));
    good(await n.prout('b', PREEMPT, proutList(KB, KA), WE));
    expect(keysOf(await n.prin('b', READ_KEYS))).toEqual([KB, KC]);
    expectData(await n.as('b', prinCdb(READ_RESERVATION)), reservationData(4, KB, WE));
    expect([await nextUa(n, 'a'), await nextUa(n, 'b'), await nextUa(n, 'c')]).toEqual(['6/2a/5', 'none', '6/2a/4']);
  });

  test('preempting the holder with the same type and scope: no RESERVATIONS RELEASED', async () => {
    const n = await nexuses();
    good(await n.as('c', TUR));
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    await reg(n, 'c', KC);
    good(await n.prout('a', RESERVE, proutList(KA), EA));
    good(await n.prout('b', PREEMPT_AND_ABORT, proutList(KB, KA), EA));
    expectData(await n.as('b', prinCdb(READ_RESERVATION)), reservationData(4, KB, EA));
    expect(await nextUa(n, 'c')).toBe('none');
  });

  test('SERVICE ACTION RESERVATION KEY 0 without an all registrants reservation → INVALID FIELD IN PARAMETER LIST at byte 8', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', RESERVE, proutList(KA), WE));
    expectSense(await n.prout('b', PREEMPT, proutList(KB, 0n), WE), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 8, cdb: false } });
  });

  test.each([
    ['PREEMPT', PREEMPT],
    ['PREEMPT AND ABORT', PREEMPT_AND_ABORT],
  ])('%s with SERVICE ACTION RESERVATION KEY 0 and no reservation at all → INVALID FIELD IN PARAMETER LIST at byte 8, nothing removed', async (_name, sa) => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    expectSense(await n.prout('b', sa, proutList(KB, 0n), WE), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 8, cdb: false } });
    expect(keysOf(await n.prin('b', READ_KEYS))).toEqual([KA, KB]);
  });

  test('all registrants, key 0: every other registration goes and the preempter holds the new reservation', async () => {
    const n = await nexuses();
    good(await n.as('a', TUR));
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', RESERVE, proutList(KA), WE_AR));
    good(await n.prout('b', PREEMPT, proutList(KB, 0n), EA));
    expect(keysOf(await n.prin('b', READ_KEYS))).toEqual([KB]);
    expectData(await n.as('b', prinCdb(READ_RESERVATION)), reservationData(3, KB, EA));
    expect(await nextUa(n, 'a')).toBe('6/2a/5');
  });

  test('all registrants, key ≠ 0: only those registrations go; the reservation stays', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', RESERVE, proutList(KA), WE_AR));
    good(await n.prout('b', PREEMPT, proutList(KB, KA), EA));
    expect(keysOf(await n.prin('b', READ_KEYS))).toEqual([KB]);
    expectData(await n.as('b', prinCdb(READ_RESERVATION)), reservationData(3, 0n, WE_AR));
  });

  test('the holder preempting itself keeps its registration and takes the new type', async () => {
    const n = await nexuses();
    good(await n.as('b', TUR));
    await reg(n, 'a', KA);
    await reg(n, 'b', KB);
    good(await n.prout('a', RESERVE, proutList(KA), WE));
    good(await n.prout('a', PREEMPT, proutList(KA, KA), EA));
    expect(keysOf(await n.prin('a', READ_KEYS))).toEqual([KA, KB]);
    expectData(await n.as('a', prinCdb(READ_RESERVATION)), reservationData(3, KA, EA));
    expect(await nextUa(n, 'b')).toBe('6/2a/4');
  });

  test('from an unregistered nexus or with a wrong key → RESERVATION CONFLICT', async () => {
    const n = await nexuses();
    await reg(n, 'a', KA);
    conflict(await n.prout('c', PREEMPT, proutList(0n, KA), EA));
    conflict(await n.prout('a', PREEMPT, proutList(KB, KA), EA));
  });
});

describe('PRGENERATION', () => {
  test('+1 for REGISTER, REGISTER AND IGNORE EXISTING KEY, CLEAR, PREEMPT; not for RESERVE, RELEASE, PRIN or a failed command', async () => {
    const n = await nexuses();
    const gen = async (): Promise<number> => generation(await n.prin('c', READ_KEYS));
    const steps: [() => Promise<unknown>, number][] = [
      [() => n.prout('a', REGISTER, proutList(0n, KA)), 1],
      [() => n.prout('b', REGISTER_AND_IGNORE, proutList(0n, KB)), 2],
      [() => n.prout('a', RESERVE, proutList(KA), WE), 2],
      [() => n.prout('a', RELEASE, proutList(KA), WE), 2],
      [() => n.prout('a', REGISTER, proutList(KB, KC)), 2], // conflict
      [() => n.as('a', prinCdb(READ_FULL_STATUS)), 2],
      [() => n.prout('a', REGISTER, proutList(KA, KC)), 3],
      [() => n.prout('b', PREEMPT, proutList(KB, KC), WE), 4],
      [() => n.prout('b', CLEAR, proutList(KB)), 5],
    ];
    for (const [step, want] of steps) {
      await step();
      expect(await gen()).toBe(want);
    }
  });
});

describe('PERSISTENT RESERVE OUT parameter list and CDB checks', () => {
  test('PARAMETER LIST LENGTH 0, 23 or 25, or fewer than 24 bytes of data → PARAMETER LIST LENGTH ERROR (1Ah/00h)', async () => {
    const n = await nexuses();
    for (const length of [0, 23, 25, 0xffff_ffff]) {
      expectSense(await n.as('a', proutCdb(REGISTER, 0, length), proutList(0n, KA)), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    }
    expectSense(await n.as('a', proutCdb(REGISTER, 0, 24), proutList(0n, KA).subarray(0, 23)), { key: ILLEGAL_REQUEST, asc: 0x1a, ascq: 0 });
    expectData(await n.as('a', prinCdb(READ_KEYS)), '00 00 00 00 00 00 00 00');
  });

  test('the unit asks for at most the 24 bytes it reads (dataOutLength)', async () => {
    const n = await nexuses();
    expect([0, 23, 24, 25, 4096].map((l) => n.u.lu.dataOutLength(proutCdb(REGISTER, 0, l)))).toEqual([0, 23, 24, 24, 24]);
  });

  test('a reserved bit of byte 20 (7..4, 1) or byte 21 → INVALID FIELD IN PARAMETER LIST pointing at it (C/D 0)', async () => {
    const n = await nexuses();
    for (const bit of [7, 6, 5, 4, 1]) {
      expectSense(await n.prout('a', REGISTER, proutList(0n, KA, 1 << bit)), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 20, bit, cdb: false } });
    }
    expectSense(await n.prout('a', REGISTER, proutList(0n, KA, 0, 0x10)), { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 21, bit: 4, cdb: false } });
    expectData(await n.as('a', prinCdb(READ_KEYS)), '00 00 00 00 00 00 00 00');
  });

  test('obsolete bytes 16..19 and 22..23 are ignored', async () => {
    const n = await nexuses();
    const list = proutList(0n, KA);
    list.set([1, 2, 3, 4], 16);
    list.set([5, 6], 22);
    good(await n.prout('a', REGISTER, list));
  });

  test('SPEC_I_PT → INVALID FIELD IN PARAMETER LIST at byte 20 bit 3 (SIP_C 0), for REGISTER and the rest, also with TransportIDs after', async () => {
    const n = await nexuses();
    const spec = { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 20, bit: 3, cdb: false } };
    expectSense(await n.prout('a', REGISTER, proutList(0n, KA, 0x08)), spec);
    // 24 bytes, TRANSPORTID PARAMETER DATA LENGTH (24..27) = 24, one 24-byte TransportID: the unit reads only the first 24.
    const withIds = cat(hex(proutList(0n, KA, 0x08)), '00 00 00 18', z(24));
    expectSense(await n.as('a', proutCdb(REGISTER, 0, 52), bytes(withIds)), spec);
    await reg(n, 'a', KA);
    expectSense(await n.prout('a', RESERVE, proutList(KA, 0n, 0x08), WE), spec);
  });

  test('APTPL → INVALID FIELD IN PARAMETER LIST at byte 20 bit 0 for the register service actions (PTPL_C 0); ignored by RESERVE', async () => {
    const n = await nexuses();
    const aptpl = { key: ILLEGAL_REQUEST, asc: 0x26, ascq: 0, field: { byte: 20, bit: 0, cdb: false } };
    expectSense(await n.prout('a', REGISTER, proutList(0n, KA, 0x01)), aptpl);
    expectSense(await n.prout('a', REGISTER_AND_IGNORE, proutList(0n, KA, 0x01)), aptpl);
    await reg(n, 'a', KA);
    good(await n.prout('a', RESERVE, proutList(KA, 0n, 0x01), WE));
  });

  test('SCOPE ≠ LU_SCOPE on RELEASE and PREEMPT → INVALID FIELD IN CDB byte 2 bit 7; REGISTER and CLEAR ignore SCOPE and TYPE', async () => {
    const n = await nexuses();
    const scope = { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 2, bit: 7 } };
    expectSense(await n.as('a', proutCdb(RELEASE, WE, 24, 2), proutList(0n)), scope);
    expectSense(await n.as('a', proutCdb(PREEMPT, WE, 24, 0xf), proutList(0n)), scope);
    good(await n.as('a', proutCdb(REGISTER, 0xf, 24, 0xf), proutList(0n, KA)));
    good(await n.as('a', proutCdb(CLEAR, 0x9, 24, 0x3), proutList(KA)));
  });

  test('REGISTER AND MOVE (7) and REPLACE LOST RESERVATION (8) are not implemented → INVALID FIELD IN CDB at byte 1 bit 4', async () => {
    const n = await nexuses();
    for (const sa of [7, 8, 0x1f]) {
      expectSense(await n.prout('a', sa, proutList(0n, KA)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 1, bit: 4 } });
    }
  });

  test('a reserved CDB bit (byte 3) → INVALID FIELD IN CDB at it', async () => {
    const n = await nexuses();
    expectSense(await n.as('a', bytes('5f 00 00 01 00 00 00 00 18 00'), proutList(0n, KA)), { key: ILLEGAL_REQUEST, asc: 0x24, ascq: 0, field: { byte: 3, bit: 0 } });
  });

  test('unit attentions of other nexuses are not reported to the sender; a pending one comes before the PROUT', async () => {
    const n = await nexuses();
    good(await n.as('a', TUR));
    n.u.lu.raiseUnitAttention({ asc: 0x2a, ascq: 0x01 });
    expectSense(await n.prout('a', REGISTER, proutList(0n, KA)), { key: UNIT_ATTENTION, asc: 0x2a, ascq: 0x01 });
    good(await n.prout('a', REGISTER, proutList(0n, KA)));
  });
});

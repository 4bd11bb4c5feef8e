// Persistent reservation data and TransportID vectors, written by hand from
// SPC-5: the PERSISTENT RESERVE OUT parameter list (RESERVATION KEY 0..7,
// SERVICE ACTION RESERVATION KEY 8..15, obsolete 16..19, byte 20 SPEC_I_PT (3)
// ALL_TG_PT (2) APTPL (0), reserved 21, obsolete 22..23), the PERSISTENT
// RESERVE IN data (PRGENERATION 0..3, ADDITIONAL LENGTH 4..7, then per
// service action), and iSCSI TransportIDs (byte 0 FORMAT CODE (7..6) |
// PROTOCOL IDENTIFIER 5h, reserved, ADDITIONAL LENGTH (2..3), ISCSI NAME
// NUL-terminated and NUL-padded to a multiple of 4, at least 20).

export interface ProutVector {
  readonly name: string;
  readonly rk: bigint;
  readonly sark: bigint;
  readonly specIPt: boolean;
  readonly allTgPt: boolean;
  readonly aptpl: boolean;
  readonly hex: string;
}

export const proutVectors: readonly ProutVector[] = [
  {
    name: 'register key 1',
    rk: 0n,
    sark: 1n,
    specIPt: false,
    allTgPt: false,
    aptpl: false,
    hex: '00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01  00 00 00 00  00 00 00 00',
  },
  {
    name: 'both keys at 64 bits, every flag',
    rk: 0xffff_ffff_ffff_ffffn,
    sark: 0x0123_4567_89ab_cdefn,
    specIPt: true,
    allTgPt: true,
    aptpl: true,
    hex: 'ff ff ff ff ff ff ff ff  01 23 45 67 89 ab cd ef  00 00 00 00  0d 00 00 00',
  },
  {
    name: 'ALL_TG_PT only',
    rk: 0x10n,
    sark: 0n,
    specIPt: false,
    allTgPt: true,
    aptpl: false,
    hex: '00 00 00 00 00 00 00 10  00 00 00 00 00 00 00 00  00 00 00 00  04 00 00 00',
  },
];

/** Parameter lists decodeProutParameters refuses: fault as key/ASC/ASCQ and field pointer (C/D 0). */
export const proutFaultVectors: readonly { name: string; hex: string; asc: number; field?: { byte: number; bit: number } }[] = [
  { name: '23 bytes', hex: '00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01  00 00 00 00  00 00 00', asc: 0x1a },
  { name: 'empty', hex: '', asc: 0x1a },
  { name: 'byte 20 bit 7', hex: '00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01  00 00 00 00  80 00 00 00', asc: 0x26, field: { byte: 20, bit: 7 } },
  { name: 'byte 20 bit 4', hex: '00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01  00 00 00 00  10 00 00 00', asc: 0x26, field: { byte: 20, bit: 4 } },
  { name: 'byte 20 bit 1', hex: '00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01  00 00 00 00  02 00 00 00', asc: 0x26, field: { byte: 20, bit: 1 } },
  { name: 'byte 21 bit 0', hex: '00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 01  00 00 00 00  00 01 00 00', asc: 0x26, field: { byte: 21, bit: 0 } },
];

/** iSCSI TransportIDs: name, optional ISID, bytes. */
export const transportIdVectors: readonly { name: string; iscsiName: string; isid?: bigint; hex: string }[] = [
  {
    // 19 bytes + NUL = 20: exactly the minimum ADDITIONAL LENGTH.
    name: 'initiator device, 19-byte name',
    iscsiName: 'iqn.2001-04.com.a:b',
    hex: '05 00 00 14  69 71 6e 2e 32 30 30 31 2d 30 34 2e 63 6f 6d 2e 61 3a 62 00',
  },
  {
    // 4 bytes + NUL, padded to the minimum 20.
    name: 'initiator device, short name padded to 20',
    iscsiName: 'iqn.',
    hex: '05 00 00 14  69 71 6e 2e 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
  },
  {
    // 20 bytes + NUL = 21, padded to 24.
    name: 'initiator device, 20-byte name padded to 24',
    iscsiName: 'iqn.2001-04.com.a:bc',
    hex: '05 00 00 18  69 71 6e 2e 32 30 30 31 2d 30 34 2e 63 6f 6d 2e 61 3a 62 63 00 00 00 00',
  },
  {
    // "iqn.2001-04.com.a:b,i,0x00023d000001": 19 + 5 + 12 = 36 bytes + NUL = 37, padded to 40.
    name: 'initiator port (FORMAT CODE 01b)',
    iscsiName: 'iqn.2001-04.com.a:b',
    isid: 0x00023d000001n,
    hex:
      '45 00 00 28  69 71 6e 2e 32 30 30 31 2d 30 34 2e 63 6f 6d 2e 61 3a 62  2c 69 2c 30 78  30 30 30 32 33 64 30 30 30 30 30 31  00 00 00 00',
  },
];

// REPORT LUNS vectors, written by hand from SPC-5 (parameter data: LUN LIST
// LENGTH (4) | reserved (4) | LUN list) and SAM-5 single level LUNs:
//   peripheral device method: byte 0 = 00b | BUS IDENTIFIER (6), byte 1 = TARGET OR LUN
//   flat space method:        bytes 0..1 = 01b | FLAT SPACE LUN (14)
// followed by six zero bytes (no second, third or fourth level).

export const lunVectors: readonly { lun: number; hex: string }[] = [
  { lun: 0, hex: '00 00 00 00 00 00 00 00' },
  { lun: 5, hex: '00 05 00 00 00 00 00 00' },
  { lun: 255, hex: '00 ff 00 00 00 00 00 00' }, // last peripheral device LUN
  { lun: 256, hex: '41 00 00 00 00 00 00 00' }, // first flat space LUN
  { lun: 300, hex: '41 2c 00 00 00 00 00 00' }, // 012Ch
  { lun: 0x1234, hex: '52 34 00 00 00 00 00 00' },
  { lun: 16383, hex: '7f ff 00 00 00 00 00 00' }, // 3FFFh, last flat space LUN
];

/** LUNs `decodeLun` accepts although `encodeLun` never produces them. */
export const lunDecodeOnlyVectors: readonly { name: string; hex: string; lun: number }[] = [
  { name: 'flat space LUN 5', hex: '40 05 00 00 00 00 00 00', lun: 5 },
  { name: 'flat space LUN 0', hex: '40 00 00 00 00 00 00 00', lun: 0 },
];

/** LUNs that are LOGICAL UNIT NOT SUPPORTED. */
export const unsupportedLunVectors: readonly { name: string; hex: string }[] = [
  { name: 'peripheral device, BUS IDENTIFIER 1', hex: '01 05 00 00 00 00 00 00' },
  { name: 'peripheral device, BUS IDENTIFIER 3Fh', hex: '3f 00 00 00 00 00 00 00' },
  { name: 'logical unit addressing (10b)', hex: '80 01 00 00 00 00 00 00' },
  { name: 'extended: REPORT LUNS well-known LUN', hex: 'c1 01 00 00 00 00 00 00' },
  { name: 'second level present', hex: '00 05 00 01 00 00 00 00' },
  { name: 'fourth level present', hex: '00 00 00 00 00 00 00 01' },
  { name: 'flat space with a third level', hex: '41 2c 00 00 40 01 00 00' },
];

export interface ReportLunsVector {
  readonly name: string;
  readonly luns: readonly number[];
  readonly select: number;
  readonly hex: string;
}

const LUNS_0_5_300 =
  '00 00 00 18  00 00 00 00' + // LUN LIST LENGTH 24, reserved
  '  00 00 00 00 00 00 00 00' + // LUN 0
  '  00 05 00 00 00 00 00 00' + // LUN 5
  '  41 2c 00 00 00 00 00 00'; // LUN 300, flat space

export const reportLunsVectors: readonly ReportLunsVector[] = [
  { name: 'SELECT REPORT 00h: LUN 0, 5, 300', luns: [0, 5, 300], select: 0x00, hex: LUNS_0_5_300 },
  { name: 'SELECT REPORT 02h: the same list (no well-known LUs)', luns: [0, 5, 300], select: 0x02, hex: LUNS_0_5_300 },
  { name: 'SELECT REPORT 01h: no well-known LUs, empty list', luns: [0, 5, 300], select: 0x01, hex: '00 00 00 00  00 00 00 00' },
  { name: 'only LUN 0', luns: [0], select: 0x00, hex: '00 00 00 08  00 00 00 00  00 00 00 00 00 00 00 00' },
  { name: 'no LUNs', luns: [], select: 0x00, hex: '00 00 00 00  00 00 00 00' },
  {
    name: 'order is kept',
    luns: [16383, 0],
    select: 0x02,
    hex: '00 00 00 10  00 00 00 00  7f ff 00 00 00 00 00 00  00 00 00 00 00 00 00 00',
  },
];

/** SELECT REPORT values that are INVALID FIELD IN CDB (byte 2): reserved, the LU-conglomerate values, vendor specific. */
export const unsupportedSelectReport: readonly number[] = [0x03, 0x0f, 0x10, 0x11, 0x12, 0x13, 0xf8, 0xff];

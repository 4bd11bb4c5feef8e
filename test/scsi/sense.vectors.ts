// Sense data byte vectors, written by hand from SPC-5 §4.4, not from the codec's
// constants. Fixed format (18 bytes):
//   0 VALID(7) | RESPONSE CODE 70h/71h     1 obsolete
//   2 FILEMARK EOM ILI SDAT_OVFL | SENSE KEY(3..0)
//   3..6 INFORMATION                      7 ADDITIONAL SENSE LENGTH (0Ah)
//   8..11 COMMAND-SPECIFIC INFORMATION    12 ASC   13 ASCQ   14 FRU CODE
//   15 SKSV(7) C/D(6) BPV(3) BIT POINTER(2..0)   16..17 FIELD POINTER
//   (COPY ABORTED, segment pointer: 15 SKSV(7) SD(5) BPV(3) BIT POINTER(2..0))
// Descriptor format: 0 RESPONSE CODE 72h/73h, 1 SENSE KEY, 2 ASC, 3 ASCQ,
// 4..6 reserved, 7 ADDITIONAL SENSE LENGTH, then descriptors:
//   Information         00 0a | VALID(7) | 00 | INFORMATION (8 bytes)
//   Command-specific    01 0a | 00 00 | COMMAND-SPECIFIC INFORMATION (8 bytes)
//   Sense key specific  02 06 | 00 00 | SKSV.. | 2 bytes | 00
//   FRU                 03 02 | 00 | FRU CODE
// Sense keys: 2h NOT READY, 3h MEDIUM ERROR, 4h HARDWARE ERROR, 5h ILLEGAL
// REQUEST, 6h UNIT ATTENTION, 7h DATA PROTECT, Bh ABORTED COMMAND, Eh MISCOMPARE.

import type { SenseData } from '../../src/scsi/sense.js';
import type { DecodedSense } from '../../src/scsi/sense-codec.js';

export interface CodecVector {
  readonly name: string;
  readonly sense: SenseData;
  readonly format: 'fixed' | 'descriptor';
  readonly hex: string;
}

/** Lossless: encode(sense) === hex and decode(hex) deep-equals sense. */
export const codecVectors: readonly CodecVector[] = [
  // STYLE seed: no field pointer, no information.
  {
    name: 'fixed: ILLEGAL REQUEST, LBA OUT OF RANGE (seed)',
    format: 'fixed',
    sense: { key: 5, asc: 0x21, ascq: 0x00 },
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 21 00 00 00 00 00',
  },
  {
    name: 'fixed: INVALID FIELD IN CDB, C/D=1, byte 1 bit 3 (SKSV|C/D|BPV|3 = cbh)',
    format: 'fixed',
    sense: { key: 5, asc: 0x24, ascq: 0x00, field: { cdb: true, byte: 1, bit: 3 } },
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cb 00 01',
  },
  {
    name: 'fixed: INVALID FIELD IN CDB, C/D=1, byte 2, no bit pointer (c0h)',
    format: 'fixed',
    sense: { key: 5, asc: 0x24, ascq: 0x00, field: { cdb: true, byte: 2 } },
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c0 00 02',
  },
  {
    name: 'fixed: INVALID FIELD IN PARAMETER LIST, C/D=0, byte 1234h bit 7 (8fh)',
    format: 'fixed',
    sense: { key: 5, asc: 0x26, ascq: 0x00, field: { cdb: false, byte: 0x1234, bit: 7 } },
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 8f 12 34',
  },
  {
    name: 'fixed: field pointer minimum, C/D=0, byte 0, no bit (80h)',
    format: 'fixed',
    sense: { key: 5, asc: 0x26, ascq: 0x00, field: { cdb: false, byte: 0 } },
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 26 00 00 80 00 00',
  },
  {
    name: 'fixed: field pointer maximum, C/D=1, byte ffffh bit 0 (c8h)',
    format: 'fixed',
    sense: { key: 5, asc: 0x24, ascq: 0x00, field: { cdb: true, byte: 0xffff, bit: 0 } },
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c8 ff ff',
  },
  {
    name: 'fixed: MEDIUM ERROR, UNRECOVERED READ ERROR, information 1234h (VALID)',
    format: 'fixed',
    sense: { key: 3, asc: 0x11, ascq: 0x00, information: 0x1234n },
    hex: 'f0 00 03 00 00 12 34 0a 00 00 00 00 11 00 00 00 00 00',
  },
  {
    name: 'fixed: information zero still sets VALID',
    format: 'fixed',
    sense: { key: 3, asc: 0x11, ascq: 0x00, information: 0n },
    hex: 'f0 00 03 00 00 00 00 0a 00 00 00 00 11 00 00 00 00 00',
  },
  {
    name: 'fixed: information ffffffffh, the largest that fits',
    format: 'fixed',
    sense: { key: 3, asc: 0x11, ascq: 0x00, information: 0xffff_ffffn },
    hex: 'f0 00 03 ff ff ff ff 0a 00 00 00 00 11 00 00 00 00 00',
  },
  {
    name: 'fixed: deferred (71h) MEDIUM ERROR, WRITE ERROR',
    format: 'fixed',
    sense: { key: 3, asc: 0x0c, ascq: 0x00, deferred: true },
    hex: '71 00 03 00 00 00 00 0a 00 00 00 00 0c 00 00 00 00 00',
  },
  {
    name: 'fixed: deferred with information: VALID bit on 71h',
    format: 'fixed',
    sense: { key: 3, asc: 0x0c, ascq: 0x00, information: 0x20n, deferred: true },
    hex: 'f1 00 03 00 00 00 20 0a 00 00 00 00 0c 00 00 00 00 00',
  },
  {
    name: 'fixed: MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION, offset 10h',
    format: 'fixed',
    sense: { key: 0xe, asc: 0x1d, ascq: 0x00, information: 0x10n },
    hex: 'f0 00 0e 00 00 00 10 0a 00 00 00 00 1d 00 00 00 00 00',
  },
  {
    name: 'fixed: NOT READY, FORMAT IN PROGRESS, progress 8000h (SKSV)',
    format: 'fixed',
    sense: { key: 2, asc: 0x04, ascq: 0x04, progress: 0x8000 },
    hex: '70 00 02 00 00 00 00 0a 00 00 00 00 04 04 00 80 80 00',
  },
  {
    name: 'fixed: HARDWARE ERROR, INTERNAL TARGET FAILURE, command-specific deadbeefh, FRU 5ah',
    format: 'fixed',
    sense: { key: 4, asc: 0x44, ascq: 0x00, commandSpecific: 0xdeadbeefn, fru: 0x5a },
    hex: '70 00 04 00 00 00 00 0a de ad be ef 44 00 5a 00 00 00',
  },
  {
    name: 'fixed: UNIT ATTENTION, I_T NEXUS LOSS OCCURRED',
    format: 'fixed',
    sense: { key: 6, asc: 0x29, ascq: 0x07 },
    hex: '70 00 06 00 00 00 00 0a 00 00 00 00 29 07 00 00 00 00',
  },
  {
    name: 'descriptor: ILLEGAL REQUEST, LBA OUT OF RANGE, no descriptors',
    format: 'descriptor',
    sense: { key: 5, asc: 0x21, ascq: 0x00 },
    hex: '72 05 21 00 00 00 00 00',
  },
  {
    name: 'descriptor: information 1_0000_0000h and field pointer CDB byte 2 (both descriptors)',
    format: 'descriptor',
    sense: { key: 5, asc: 0x21, ascq: 0x00, information: 0x1_0000_0000n, field: { cdb: true, byte: 2 } },
    hex: '72 05 21 00 00 00 00 14  00 0a 80 00 00 00 00 01 00 00 00 00  02 06 00 00 c0 00 02 00',
  },
  {
    name: 'descriptor: INVALID FIELD IN CDB, byte 1 bit 3',
    format: 'descriptor',
    sense: { key: 5, asc: 0x24, ascq: 0x00, field: { cdb: true, byte: 1, bit: 3 } },
    hex: '72 05 24 00 00 00 00 08  02 06 00 00 cb 00 01 00',
  },
  {
    name: 'descriptor: deferred (73h) WRITE ERROR',
    format: 'descriptor',
    sense: { key: 3, asc: 0x0c, ascq: 0x00, deferred: true },
    hex: '73 03 0c 00 00 00 00 00',
  },
  {
    name: 'descriptor: deferred, information 2^64-1',
    format: 'descriptor',
    sense: { key: 3, asc: 0x11, ascq: 0x00, information: 0xffff_ffff_ffff_ffffn, deferred: true },
    hex: '73 03 11 00 00 00 00 0c  00 0a 80 00 ff ff ff ff ff ff ff ff',
  },
  {
    name: 'descriptor: information zero',
    format: 'descriptor',
    sense: { key: 3, asc: 0x11, ascq: 0x00, information: 0n },
    hex: '72 03 11 00 00 00 00 0c  00 0a 80 00 00 00 00 00 00 00 00 00',
  },
  {
    name: 'descriptor: NOT READY, FORMAT IN PROGRESS, progress 8000h',
    format: 'descriptor',
    sense: { key: 2, asc: 0x04, ascq: 0x04, progress: 0x8000 },
    hex: '72 02 04 04 00 00 00 08  02 06 00 00 80 80 00 00',
  },
  {
    name: 'descriptor: command-specific deadbeefh and FRU 5ah',
    format: 'descriptor',
    sense: { key: 4, asc: 0x44, ascq: 0x00, commandSpecific: 0xdeadbeefn, fru: 0x5a },
    hex: '72 04 44 00 00 00 00 10  01 0a 00 00 00 00 00 00 de ad be ef  03 02 00 5a',
  },
  {
    name: 'fixed: COPY ABORTED, segment 1, segment pointer SD=1 byte 6 (SKSV|SD = a0h)',
    format: 'fixed',
    sense: { key: 0xa, asc: 0x08, ascq: 0x04, commandSpecific: 1n, segment: { segmentDescriptor: true, byte: 6 } },
    hex: '70 00 0a 00 00 00 00 0a 00 00 00 01 08 04 00 a0 00 06',
  },
  {
    name: 'fixed: COPY ABORTED, segment pointer SD=0 parameter list byte 300 bit 4 (SKSV|BPV|4 = 8ch)',
    format: 'fixed',
    sense: { key: 0xa, asc: 0x26, ascq: 0x00, segment: { segmentDescriptor: false, byte: 300, bit: 4 } },
    hex: '70 00 0a 00 00 00 00 0a 00 00 00 00 26 00 00 8c 01 2c',
  },
  {
    name: 'descriptor: COPY ABORTED, segment 2, segment pointer SD=1 byte 12',
    format: 'descriptor',
    sense: { key: 0xa, asc: 0x00, ascq: 0x00, commandSpecific: 2n, segment: { segmentDescriptor: true, byte: 12 } },
    hex: '72 0a 00 00 00 00 00 14  01 0a 00 00 00 00 00 00 00 00 00 02  02 06 00 00 a0 00 0c 00',
  },
  {
    name: 'descriptor: COPY ABORTED in segment 0: the command-specific descriptor is there, holding 0',
    format: 'descriptor',
    sense: { key: 0xa, asc: 0x0d, ascq: 0x02, commandSpecific: 0n },
    hex: '72 0a 0d 02 00 00 00 0c  01 0a 00 00 00 00 00 00 00 00 00 00',
  },
  {
    name: 'descriptor: all four descriptors, in type order',
    format: 'descriptor',
    sense: { key: 5, asc: 0x26, ascq: 0x00, information: 1n, commandSpecific: 2n, field: { cdb: false, byte: 3 }, fru: 4 },
    hex:
      '72 05 26 00 00 00 00 24  00 0a 80 00 00 00 00 00 00 00 00 01  01 0a 00 00 00 00 00 00 00 00 00 02' +
      '  02 06 00 00 80 00 03 00  03 02 00 04',
  },
];

export interface LossyVector {
  readonly name: string;
  readonly sense: SenseData;
  readonly format: 'fixed' | 'descriptor';
  readonly hex: string;
  /** What decoding `hex` gives back. */
  readonly decoded: SenseData;
}

/** Encodings that drop what the format cannot carry. */
export const lossyVectors: readonly LossyVector[] = [
  {
    name: 'fixed: information 2^32 does not fit: VALID=0, INFORMATION zero',
    format: 'fixed',
    sense: { key: 3, asc: 0x11, ascq: 0x00, information: 0x1_0000_0000n },
    hex: '70 00 03 00 00 00 00 0a 00 00 00 00 11 00 00 00 00 00',
    decoded: { key: 3, asc: 0x11, ascq: 0x00 },
  },
  {
    name: 'fixed: 64-bit LBA (2^64-1) is dropped',
    format: 'fixed',
    sense: { key: 3, asc: 0x11, ascq: 0x00, information: 0xffff_ffff_ffff_ffffn },
    hex: '70 00 03 00 00 00 00 0a 00 00 00 00 11 00 00 00 00 00',
    decoded: { key: 3, asc: 0x11, ascq: 0x00 },
  },
  {
    name: 'fixed: command-specific 2^32 is dropped',
    format: 'fixed',
    sense: { key: 4, asc: 0x44, ascq: 0x00, commandSpecific: 0x1_0000_0000n },
    hex: '70 00 04 00 00 00 00 0a 00 00 00 00 44 00 00 00 00 00',
    decoded: { key: 4, asc: 0x44, ascq: 0x00 },
  },
  {
    name: 'fixed: command-specific 0 and FRU 0 mean "none"',
    format: 'fixed',
    sense: { key: 4, asc: 0x44, ascq: 0x00, commandSpecific: 0n, fru: 0 },
    hex: '70 00 04 00 00 00 00 0a 00 00 00 00 44 00 00 00 00 00',
    decoded: { key: 4, asc: 0x44, ascq: 0x00 },
  },
  {
    name: 'descriptor: FRU 0 gets no descriptor',
    format: 'descriptor',
    sense: { key: 4, asc: 0x44, ascq: 0x00, fru: 0 },
    hex: '72 04 44 00 00 00 00 00',
    decoded: { key: 4, asc: 0x44, ascq: 0x00 },
  },
  {
    name: 'fixed: deferred: false is the same as current',
    format: 'fixed',
    sense: { key: 6, asc: 0x29, ascq: 0x00, deferred: false },
    hex: '70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00',
    decoded: { key: 6, asc: 0x29, ascq: 0x00 },
  },
];

export interface DecodeVector {
  readonly name: string;
  readonly hex: string;
  /** undefined: not sense data vtcam can read. */
  readonly expected: DecodedSense | undefined;
}

/** Decoding only: short, oversized, malformed and foreign sense buffers. */
export const decodeVectors: readonly DecodeVector[] = [
  { name: 'empty buffer', hex: '', expected: undefined },
  { name: 'response code 00h', hex: '00 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00', expected: undefined },
  { name: 'response code 7fh (vendor specific format)', hex: '7f 00 05 00 00 00 00 0a', expected: undefined },
  { name: 'response code 74h (reserved)', hex: '74 05 24 00 00 00 00 00', expected: undefined },
  { name: 'response code 6fh', hex: '6f 00 05 00 00 00 00 0a', expected: undefined },
  { name: 'fixed, 1 byte: no sense key', hex: '70', expected: undefined },
  { name: 'fixed, 2 bytes: no sense key', hex: '70 00', expected: undefined },
  { name: 'fixed, obsolete sense key 0Ch', hex: '70 00 0c 00 00 00 00 0a 00 00 00 00 00 00 00 00 00 00', expected: undefined },
  {
    name: 'fixed, 3 bytes: key only',
    hex: '70 00 06',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 6, asc: 0, ascq: 0 }, hasAsc: false, truncated: true },
  },
  {
    name: 'fixed, 8 bytes: key only, no ASC',
    hex: '70 00 05 00 00 00 00 0a',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0, ascq: 0 }, hasAsc: false, truncated: true },
  },
  {
    name: 'fixed, 13 bytes: ASC without ASCQ is no pair, the ASC is kept apart',
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 24',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0, ascq: 0 }, hasAsc: false, ascWithoutAscq: 0x24, truncated: true },
  },
  {
    name: 'fixed, ADDITIONAL SENSE LENGTH 5: ends after the ASC, the ASCQ byte past it is not sense data',
    hex: '70 00 05 00 00 00 00 05 00 00 00 00 24 01',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0, ascq: 0 }, hasAsc: false, ascWithoutAscq: 0x24, truncated: false },
  },
  {
    name: 'fixed, 14 bytes: ASC/ASCQ, no FRU or SKS',
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 24 00',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: true },
  },
  {
    name: 'fixed, 17 bytes: SKSV set but field pointer cut',
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 cb 00',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: true },
  },
  {
    name: 'fixed, 6 bytes with VALID: INFORMATION cut',
    hex: 'f0 00 03 00 00 12',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 3, asc: 0, ascq: 0 }, hasAsc: false, truncated: true },
  },
  {
    name: 'fixed, 7 bytes with VALID: INFORMATION whole',
    hex: 'f0 00 03 00 00 12 34',
    expected: {
      format: 'fixed',
      responseCode: 0x70,
      sense: { key: 3, asc: 0, ascq: 0, information: 0x1234n },
      hasAsc: false,
      truncated: true,
    },
  },
  {
    name: 'fixed, ADDITIONAL SENSE LENGTH 0: bytes past byte 7 are not sense data',
    hex: '70 00 05 00 00 00 00 00 00 00 00 00 24 00 00 cb 00 01',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0, ascq: 0 }, hasAsc: false, truncated: false },
  },
  {
    name: 'fixed, ADDITIONAL SENSE LENGTH 6: ASC/ASCQ but no FRU or SKS',
    hex: '70 00 05 00 00 00 00 06 00 00 00 00 24 00 5a cb 00 01',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'fixed, 22 bytes (ADDITIONAL SENSE LENGTH 0Eh): additional bytes ignored',
    hex: '70 00 05 00 00 00 00 0e 00 00 00 00 24 00 00 cb 00 01 de ad be ef',
    expected: {
      format: 'fixed',
      responseCode: 0x70,
      sense: { key: 5, asc: 0x24, ascq: 0, field: { cdb: true, byte: 1, bit: 3 } },
      hasAsc: true,
      truncated: false,
    },
  },
  {
    name: 'fixed, VALID=0: INFORMATION bytes ignored',
    hex: '70 00 03 00 00 12 34 0a 00 00 00 00 11 00 00 00 00 00',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 3, asc: 0x11, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'fixed, SKSV=0: field pointer bytes ignored',
    hex: '70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 4b 00 01',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'fixed, MEDIUM ERROR with ACTUAL RETRY COUNT: not modelled, skipped',
    hex: '70 00 03 00 00 00 00 0a 00 00 00 00 11 00 00 80 00 05',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 3, asc: 0x11, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'fixed, FILEMARK EOM ILI SDAT_OVFL set (f5h): key is the low nibble',
    hex: '70 00 f5 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00',
    expected: { format: 'fixed', responseCode: 0x70, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'descriptor, 1 byte: no sense key',
    hex: '72',
    expected: undefined,
  },
  {
    name: 'descriptor, 2 bytes: key only',
    hex: '72 05',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 5, asc: 0, ascq: 0 }, hasAsc: false, truncated: true },
  },
  {
    name: 'descriptor, 3 bytes: key and ASC, no ASCQ',
    hex: '72 05 24',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 5, asc: 0, ascq: 0 }, hasAsc: false, ascWithoutAscq: 0x24, truncated: true },
  },
  {
    name: 'descriptor, 4 bytes: key and ASC/ASCQ',
    hex: '72 05 24 00',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: true },
  },
  {
    name: 'descriptor, bit 7 of byte 0 set (reserved): tolerated',
    hex: 'f2 05 24 00 00 00 00 00',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'descriptor, header announces 14h bytes that are missing',
    hex: '72 05 21 00 00 00 00 14',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 5, asc: 0x21, ascq: 0 }, hasAsc: true, truncated: true },
  },
  {
    name: 'descriptor, Information descriptor cut in half is ignored',
    hex: '72 05 21 00 00 00 00 14  00 0a 80 00 00 00',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 5, asc: 0x21, ascq: 0 }, hasAsc: true, truncated: true },
  },
  {
    name: 'descriptor, unknown type 05h skipped, Information after it read',
    hex: '72 05 24 00 00 00 00 10  05 02 00 20  00 0a 80 00 00 00 00 00 00 00 00 07',
    expected: {
      format: 'descriptor',
      responseCode: 0x72,
      sense: { key: 5, asc: 0x24, ascq: 0, information: 7n },
      hasAsc: true,
      truncated: false,
    },
  },
  {
    name: 'descriptor, Information with VALID=0 is ignored',
    hex: '72 03 11 00 00 00 00 0c  00 0a 00 00 00 00 00 00 00 00 12 34',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 3, asc: 0x11, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'descriptor, Information with ADDITIONAL LENGTH 06h is malformed, skipped',
    hex: '72 03 11 00 00 00 00 08  00 06 80 00 00 00 12 34',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 3, asc: 0x11, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'descriptor, two Information descriptors: the first wins',
    hex: '72 03 11 00 00 00 00 18  00 0a 80 00 00 00 00 00 00 00 00 01  00 0a 80 00 00 00 00 00 00 00 00 02',
    expected: {
      format: 'descriptor',
      responseCode: 0x72,
      sense: { key: 3, asc: 0x11, ascq: 0, information: 1n },
      hasAsc: true,
      truncated: false,
    },
  },
  {
    name: 'descriptor, bytes past ADDITIONAL SENSE LENGTH are not descriptors',
    hex: '72 05 24 00 00 00 00 00  02 06 00 00 cb 00 01 00',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'descriptor, a descriptor overrunning ADDITIONAL SENSE LENGTH (but not the buffer) is ignored',
    hex: '72 05 24 00 00 00 00 04  02 06 00 00 cb 00 01 00',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 5, asc: 0x24, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'descriptor, UNIT ATTENTION queue overflow SKS: not modelled, skipped',
    hex: '72 06 29 00 00 00 00 08  02 06 00 00 81 00 00 00',
    expected: { format: 'descriptor', responseCode: 0x72, sense: { key: 6, asc: 0x29, ascq: 0 }, hasAsc: true, truncated: false },
  },
  {
    name: 'descriptor, deferred (73h) key only',
    hex: '73 03',
    expected: {
      format: 'descriptor',
      responseCode: 0x73,
      sense: { key: 3, asc: 0, ascq: 0, deferred: true },
      hasAsc: false,
      truncated: true,
    },
  },
];

export interface AscVector {
  /** Key in `Asc`. */
  readonly name: string;
  /** "ASCh/ASCQh", as T10 asc-num.txt writes it. */
  readonly code: string;
  /** T10 description. */
  readonly text: string;
}

/** Every `Asc` entry, copied by hand from T10 asc-num.txt (numeric listing, 2016-07-30). */
export const ascVectors: readonly AscVector[] = [
  { name: 'NO_ADDITIONAL_SENSE', code: '00h/00h', text: 'NO ADDITIONAL SENSE INFORMATION' },
  { name: 'OPERATION_IN_PROGRESS', code: '00h/16h', text: 'OPERATION IN PROGRESS' },
  { name: 'LOGICAL_UNIT_NOT_READY_CAUSE_NOT_REPORTABLE', code: '04h/00h', text: 'LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE' },
  { name: 'LOGICAL_UNIT_IS_IN_PROCESS_OF_BECOMING_READY', code: '04h/01h', text: 'LOGICAL UNIT IS IN PROCESS OF BECOMING READY' },
  {
    name: 'LOGICAL_UNIT_NOT_READY_INITIALIZING_COMMAND_REQUIRED',
    code: '04h/02h',
    text: 'LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED',
  },
  { name: 'LOGICAL_UNIT_NOT_READY_FORMAT_IN_PROGRESS', code: '04h/04h', text: 'LOGICAL UNIT NOT READY, FORMAT IN PROGRESS' },
  { name: 'LOGICAL_UNIT_NOT_READY_SANITIZE_IN_PROGRESS', code: '04h/1Bh', text: 'LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS' },
  { name: 'LOGICAL_UNIT_COMMUNICATION_FAILURE', code: '08h/00h', text: 'LOGICAL UNIT COMMUNICATION FAILURE' },
  { name: 'UNREACHABLE_COPY_TARGET', code: '08h/04h', text: 'UNREACHABLE COPY TARGET' },
  { name: 'WRITE_ERROR', code: '0Ch/00h', text: 'WRITE ERROR' },
  { name: 'COPY_TARGET_DEVICE_NOT_REACHABLE', code: '0Dh/02h', text: 'COPY TARGET DEVICE NOT REACHABLE' },
  { name: 'INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT', code: '0Eh/03h', text: 'INVALID FIELD IN COMMAND INFORMATION UNIT' },
  { name: 'UNRECOVERED_READ_ERROR', code: '11h/00h', text: 'UNRECOVERED READ ERROR' },
  { name: 'PARAMETER_LIST_LENGTH_ERROR', code: '1Ah/00h', text: 'PARAMETER LIST LENGTH ERROR' },
  { name: 'MISCOMPARE_DURING_VERIFY_OPERATION', code: '1Dh/00h', text: 'MISCOMPARE DURING VERIFY OPERATION' },
  { name: 'INVALID_COMMAND_OPERATION_CODE', code: '20h/00h', text: 'INVALID COMMAND OPERATION CODE' },
  { name: 'LBA_OUT_OF_RANGE', code: '21h/00h', text: 'LOGICAL BLOCK ADDRESS OUT OF RANGE' },
  { name: 'INVALID_FIELD_IN_CDB', code: '24h/00h', text: 'INVALID FIELD IN CDB' },
  { name: 'LOGICAL_UNIT_NOT_SUPPORTED', code: '25h/00h', text: 'LOGICAL UNIT NOT SUPPORTED' },
  { name: 'INVALID_FIELD_IN_PARAMETER_LIST', code: '26h/00h', text: 'INVALID FIELD IN PARAMETER LIST' },
  { name: 'INVALID_RELEASE_OF_PERSISTENT_RESERVATION', code: '26h/04h', text: 'INVALID RELEASE OF PERSISTENT RESERVATION' },
  { name: 'TOO_MANY_TARGET_DESCRIPTORS', code: '26h/06h', text: 'TOO MANY TARGET DESCRIPTORS' },
  { name: 'UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE', code: '26h/07h', text: 'UNSUPPORTED TARGET DESCRIPTOR TYPE CODE' },
  { name: 'TOO_MANY_SEGMENT_DESCRIPTORS', code: '26h/08h', text: 'TOO MANY SEGMENT DESCRIPTORS' },
  { name: 'UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE', code: '26h/09h', text: 'UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE' },
  { name: 'WRITE_PROTECTED', code: '27h/00h', text: 'WRITE PROTECTED' },
  { name: 'HARDWARE_WRITE_PROTECTED', code: '27h/01h', text: 'HARDWARE WRITE PROTECTED' },
  { name: 'LOGICAL_UNIT_SOFTWARE_WRITE_PROTECTED', code: '27h/02h', text: 'LOGICAL UNIT SOFTWARE WRITE PROTECTED' },
  { name: 'SPACE_ALLOCATION_FAILED_WRITE_PROTECT', code: '27h/07h', text: 'SPACE ALLOCATION FAILED WRITE PROTECT' },
  { name: 'NOT_READY_TO_READY_CHANGE_MEDIUM_MAY_HAVE_CHANGED', code: '28h/00h', text: 'NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED' },
  { name: 'POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED', code: '29h/00h', text: 'POWER ON, RESET, OR BUS DEVICE RESET OCCURRED' },
  { name: 'BUS_DEVICE_RESET_FUNCTION_OCCURRED', code: '29h/03h', text: 'BUS DEVICE RESET FUNCTION OCCURRED' },
  { name: 'I_T_NEXUS_LOSS_OCCURRED', code: '29h/07h', text: 'I_T NEXUS LOSS OCCURRED' },
  { name: 'MODE_PARAMETERS_CHANGED', code: '2Ah/01h', text: 'MODE PARAMETERS CHANGED' },
  { name: 'RESERVATIONS_PREEMPTED', code: '2Ah/03h', text: 'RESERVATIONS PREEMPTED' },
  { name: 'RESERVATIONS_RELEASED', code: '2Ah/04h', text: 'RESERVATIONS RELEASED' },
  { name: 'REGISTRATIONS_PREEMPTED', code: '2Ah/05h', text: 'REGISTRATIONS PREEMPTED' },
  { name: 'CAPACITY_DATA_HAS_CHANGED', code: '2Ah/09h', text: 'CAPACITY DATA HAS CHANGED' },
  { name: 'COMMAND_SEQUENCE_ERROR', code: '2Ch/00h', text: 'COMMAND SEQUENCE ERROR' },
  { name: 'COMMAND_TIMEOUT_DURING_PROCESSING', code: '2Eh/02h', text: 'COMMAND TIMEOUT DURING PROCESSING' },
  { name: 'COMMAND_TIMEOUT_DURING_PROCESSING_DUE_TO_ERROR_RECOVERY', code: '2Eh/03h', text: 'COMMAND TIMEOUT DURING PROCESSING DUE TO ERROR RECOVERY' },
  { name: 'COMMANDS_CLEARED_BY_ANOTHER_INITIATOR', code: '2Fh/00h', text: 'COMMANDS CLEARED BY ANOTHER INITIATOR' },
  { name: 'MEDIUM_FORMAT_CORRUPTED', code: '31h/00h', text: 'MEDIUM FORMAT CORRUPTED' },
  { name: 'SANITIZE_COMMAND_FAILED', code: '31h/03h', text: 'SANITIZE COMMAND FAILED' },
  { name: 'THIN_PROVISIONING_SOFT_THRESHOLD_REACHED', code: '38h/07h', text: 'THIN PROVISIONING SOFT THRESHOLD REACHED' },
  { name: 'SAVING_PARAMETERS_NOT_SUPPORTED', code: '39h/00h', text: 'SAVING PARAMETERS NOT SUPPORTED' },
  { name: 'MEDIUM_NOT_PRESENT', code: '3Ah/00h', text: 'MEDIUM NOT PRESENT' },
  { name: 'MICROCODE_HAS_BEEN_CHANGED', code: '3Fh/01h', text: 'MICROCODE HAS BEEN CHANGED' },
  { name: 'INQUIRY_DATA_HAS_CHANGED', code: '3Fh/03h', text: 'INQUIRY DATA HAS CHANGED' },
  { name: 'REPORTED_LUNS_DATA_HAS_CHANGED', code: '3Fh/0Eh', text: 'REPORTED LUNS DATA HAS CHANGED' },
  { name: 'INTERNAL_TARGET_FAILURE', code: '44h/00h', text: 'INTERNAL TARGET FAILURE' },
  { name: 'PROTOCOL_SERVICE_CRC_ERROR', code: '47h/05h', text: 'PROTOCOL SERVICE CRC ERROR' },
  { name: 'INITIATOR_DETECTED_ERROR_MESSAGE_RECEIVED', code: '48h/00h', text: 'INITIATOR DETECTED ERROR MESSAGE RECEIVED' },
  { name: 'INVALID_MESSAGE_ERROR', code: '49h/00h', text: 'INVALID MESSAGE ERROR' },
  { name: 'DATA_PHASE_ERROR', code: '4Bh/00h', text: 'DATA PHASE ERROR' },
  { name: 'OVERLAPPED_COMMANDS_ATTEMPTED', code: '4Eh/00h', text: 'OVERLAPPED COMMANDS ATTEMPTED' },
  { name: 'MEDIUM_REMOVAL_PREVENTED', code: '53h/02h', text: 'MEDIUM REMOVAL PREVENTED' },
  { name: 'SYSTEM_RESOURCE_FAILURE', code: '55h/00h', text: 'SYSTEM RESOURCE FAILURE' },
  { name: 'INSUFFICIENT_RESOURCES', code: '55h/03h', text: 'INSUFFICIENT RESOURCES' },
  { name: 'INSUFFICIENT_REGISTRATION_RESOURCES', code: '55h/04h', text: 'INSUFFICIENT REGISTRATION RESOURCES' },
  { name: 'LOW_POWER_CONDITION_ON', code: '5Eh/00h', text: 'LOW POWER CONDITION ON' },
];

export interface DescribeVector {
  readonly sense: SenseData;
  readonly text: string;
}

/** describeSense, exact strings. */
export const describeVectors: readonly DescribeVector[] = [
  {
    sense: { key: 5, asc: 0x24, ascq: 0x00, field: { cdb: true, byte: 1, bit: 3 } },
    text: 'ILLEGAL REQUEST: INVALID FIELD IN CDB (24h/00h), CDB byte 1 bit 3',
  },
  {
    sense: { key: 3, asc: 0x11, ascq: 0x00, information: 0x1234n },
    text: 'MEDIUM ERROR: UNRECOVERED READ ERROR (11h/00h), information 0x1234',
  },
  { sense: { key: 5, asc: 0x21, ascq: 0x00 }, text: 'ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h)' },
  {
    sense: { key: 5, asc: 0x26, ascq: 0x00, field: { cdb: false, byte: 4 } },
    text: 'ILLEGAL REQUEST: INVALID FIELD IN PARAMETER LIST (26h/00h), parameter list byte 4',
  },
  {
    sense: { key: 2, asc: 0x04, ascq: 0x04, progress: 0x8000 },
    text: 'NOT READY: LOGICAL UNIT NOT READY, FORMAT IN PROGRESS (04h/04h), progress 50%',
  },
  {
    sense: { key: 2, asc: 0x04, ascq: 0x04, progress: 0xffff },
    text: 'NOT READY: LOGICAL UNIT NOT READY, FORMAT IN PROGRESS (04h/04h), progress 99%',
  },
  { sense: { key: 3, asc: 0x0c, ascq: 0x00, deferred: true }, text: 'MEDIUM ERROR: WRITE ERROR (0Ch/00h), deferred error' },
  {
    sense: { key: 0xe, asc: 0x1d, ascq: 0x00, information: 0x10n },
    text: 'MISCOMPARE: MISCOMPARE DURING VERIFY OPERATION (1Dh/00h), information 0x10',
  },
  {
    sense: { key: 4, asc: 0x44, ascq: 0x00, commandSpecific: 0xdeadbeefn, fru: 0x5a },
    text: 'HARDWARE ERROR: INTERNAL TARGET FAILURE (44h/00h), command-specific information 0xdeadbeef, FRU code 0x5a',
  },
  {
    sense: { key: 0xa, asc: 0x08, ascq: 0x04, commandSpecific: 1n, segment: { segmentDescriptor: true, byte: 6 } },
    text: 'COPY ABORTED: UNREACHABLE COPY TARGET (08h/04h), segment descriptor byte 6, command-specific information 0x1',
  },
  {
    sense: { key: 0xa, asc: 0x26, ascq: 0x00, segment: { segmentDescriptor: false, byte: 48, bit: 2 } },
    text: 'COPY ABORTED: INVALID FIELD IN PARAMETER LIST (26h/00h), parameter list byte 48 bit 2',
  },
  { sense: { key: 9, asc: 0x80, ascq: 0x01 }, text: 'VENDOR SPECIFIC: VENDOR SPECIFIC ASC 0x80 ASCQ 0x01 (80h/01h)' },
  { sense: { key: 6, asc: 0x75, ascq: 0x00 }, text: 'UNIT ATTENTION: ASC 0x75 ASCQ 0x00 (75h/00h)' },
  {
    sense: { key: 5, asc: 0x21, ascq: 0x00, information: 0x1_0000_0000n, field: { cdb: true, byte: 2 } },
    text: 'ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h), CDB byte 2, information 0x100000000',
  },
];

// CDB usage masks written by hand from the SPC-5 / SBC-4 CDB tables, one hex
// byte per CDB byte: byte 0 the operation code, then a 1 for every bit of a
// field the device server evaluates. Reserved, obsolete and unimplemented bits
// are 0 (see the registry header for the list). CONTROL (last byte) is 00:
// NACA unsupported, FLAG/LINK obsolete, vendor bits unused.

export const handMasks: Readonly<Record<string, string>> = {
  // READ(10): RDPROTECT(7..5) DPO(4) FUA(3) | LBA×4 | rsvd(7..6) GROUP(5..0) | TRANSFER LENGTH×2 | CONTROL
  READ_10: '28 f8 ff ff ff ff 3f ff ff 00',
  // WRITE(16): WRPROTECT DPO FUA (DLD2 bit 0 unimplemented) | LBA×8 | LENGTH×4 | DLD1 DLD0 GROUP | CONTROL
  WRITE_16: '8a f8 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00',
  // INQUIRY: EVPD (CMDDT obsolete) | PAGE CODE | ALLOCATION LENGTH×2 | CONTROL
  INQUIRY: '12 01 ff ff ff 00',
  // MODE SENSE(10): LLBAA DBD | PC PAGE CODE | SUBPAGE | rsvd×3 | ALLOCATION LENGTH×2 | CONTROL
  MODE_SENSE_10: '5a 18 ff ff 00 00 00 ff ff 00',
  // UNMAP: ANCHOR | rsvd×4 | GROUP | PARAMETER LIST LENGTH×2 | CONTROL
  UNMAP: '42 01 00 00 00 00 3f ff ff 00',
  // RSOC: SA 0Ch (5 bits) | RCTD REPORTING OPTIONS | OPCODE | SA×2 | ALLOCATION LENGTH×4 | rsvd | CONTROL
  REPORT_SUPPORTED_OPERATION_CODES: 'a3 1f 87 ff ff ff ff ff ff ff 00 00',
  // READ(6): LBA(4..0) | LBA | LBA | TRANSFER LENGTH | CONTROL (byte 1 bits 7..5 ignored, see ignoredMasks)
  READ_6: '08 1f ff ff ff 00',
  // READ CAPACITY(10): (RELADR obsolete) | LBA×4 | rsvd×2 | PMI | CONTROL
  READ_CAPACITY_10: '25 00 ff ff ff ff 00 00 01 00',
  // SYNCHRONIZE CACHE(16): IMMED | LBA×8 | NUMBER OF LOGICAL BLOCKS×4 | GROUP | CONTROL
  SYNCHRONIZE_CACHE_16: '91 02 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00',
  // WRITE SAME(16): WRPROTECT ANCHOR UNMAP (PBDATA LBDATA obsolete) NDOB | LBA×8 | NUMBER×4 | GROUP | CONTROL
  WRITE_SAME_16: '93 f9 ff ff ff ff ff ff ff ff ff ff ff ff 3f 00',
  // COMPARE AND WRITE: WRPROTECT DPO FUA | LBA×8 | rsvd×3 | NUMBER OF LOGICAL BLOCKS | GROUP | CONTROL
  COMPARE_AND_WRITE: '89 f8 ff ff ff ff ff ff ff ff 00 00 00 ff 3f 00',
  // START STOP UNIT: IMMED | rsvd | PCM(3..0) | POWER CONDITION NO_FLUSH LOEJ START | CONTROL
  START_STOP_UNIT: '1b 01 00 0f f7 00',
  // REPORT LUNS: rsvd | SELECT REPORT | rsvd×3 | ALLOCATION LENGTH×4 | rsvd | CONTROL
  REPORT_LUNS: 'a0 00 ff 00 00 00 ff ff ff ff 00 00',
  // READ CAPACITY(16): SA 10h | LBA×8 | ALLOCATION LENGTH×4 | PMI | CONTROL
  READ_CAPACITY_16: '9e 1f ff ff ff ff ff ff ff ff ff ff ff ff 01 00',
};

/** Bits accepted without being evaluated (not reported in CDB USAGE DATA). */
export const ignoredMasks: Readonly<Record<string, string>> = {
  READ_6: '00 e0 00 00 00 00',
  // SBC-3's SYNC_NV (byte 1 bit 2), obsolete in SBC-4: accepted, not evaluated.
  SYNCHRONIZE_CACHE_16: '00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
  WRITE_6: '00 e0 00 00 00 00',
};

/** CDB length by operation code group (SPC-5 / SAM-5: group 0 = 6, 1–2 = 10, 4 = 16, 5 = 12). */
export const cdbLengthByGroup: Readonly<Record<number, number>> = { 0: 6, 1: 10, 2: 10, 4: 16, 5: 12 };

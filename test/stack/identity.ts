// What a logical unit says it is, read the way an initiator reads it: the
// Unit Serial Number (80h) and Device Identification (83h) VPD pages through
// pass, decoded at the byte offsets of SPC-5's page layouts (not with vtcam's
// own VPD code), so two units can be told apart or matched.

import type { PassPeriph } from '../../src/cam/periph/pass.js';

export interface UnitIdentity {
  /** 80h PRODUCT SERIAL NUMBER, bytes 4.. (PAGE LENGTH in bytes 2..3). */
  readonly serial: string;
  /** 83h first designation descriptor (bytes 4..): NAA, 8 bytes from byte 8, as 16 hex digits. */
  readonly naa: string;
  /** 83h second descriptor (bytes 16..): T10 vendor ID, its identifier (bytes 20..) as ASCII. */
  readonly t10: string;
}

async function vpd(pass: PassPeriph, page: number): Promise<Uint8Array> {
  // INQUIRY, EVPD 1 (byte 1 bit 0), PAGE CODE, ALLOCATION LENGTH 255. A pending unit attention is taken first.
  const req = { cdb: Uint8Array.of(0x12, 0x01, page, 0, 0xff, 0), direction: 'in' as const, length: 0xff };
  let r = await pass.scsi(req);
  if (r.senseData?.key === 0x6) r = await pass.scsi(req);
  if (r.data?.[1] !== page) throw new Error(`INQUIRY VPD ${page.toString(16)}h failed: CAM status ${r.camStatus}`);
  return r.data;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export async function unitIdentity(pass: PassPeriph): Promise<UnitIdentity> {
  const p80 = await vpd(pass, 0x80);
  const serial = Buffer.from(p80.subarray(4, 4 + ((p80[2] ?? 0) << 8 | (p80[3] ?? 0)))).toString('latin1');
  const p83 = await vpd(pass, 0x83);
  // Descriptor 1: CODE SET 1h (binary); ASSOCIATION 00b (logical unit), DESIGNATOR TYPE 3h (NAA); DESIGNATOR LENGTH 8.
  if (p83[4] !== 0x01 || p83[5] !== 0x03 || p83[7] !== 8) throw new Error(`83h: no NAA designator first: ${hexOf(p83.subarray(4, 8))}`);
  // Descriptor 2: CODE SET 2h (ASCII); ASSOCIATION 00b, DESIGNATOR TYPE 1h (T10 vendor ID).
  if (p83[16] !== 0x02 || p83[17] !== 0x01) throw new Error(`83h: no T10 vendor ID designator second: ${hexOf(p83.subarray(16, 20))}`);
  const t10 = Buffer.from(p83.subarray(20, 20 + (p83[19] ?? 0))).toString('latin1');
  return { serial, naa: hexOf(p83.subarray(8, 16)), t10 };
}

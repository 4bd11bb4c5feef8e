// Who an iSCSI initiator port is, to the logical unit: the I_T nexus key the
// SCSI layer tracks unit attentions and reservations by, and the TransportID
// PERSISTENT RESERVE IN reports it as. An iSCSI initiator port is the
// initiator's name plus its ISID (RFC 7143 §4.2.7.x, "iqn.…,i,0x<ISID>");
// the TransportID is SPC-5 §7.6.4.6's iSCSI form with FORMAT CODE 01b.

import { decodeLun } from '../scsi/report-luns.js';

/** An I_T nexus as the CAM layer sees it. */
export interface IscsiInitiatorPort {
  /** "InitiatorName,i,0xISID" — the SCSI initiator port name. */
  readonly id: string;
  /** SPC-5 §7.6.4.6 TransportID, FORMAT CODE 01b (initiator port name with separator and ISID). */
  readonly transportId: Uint8Array;
}

/** PROTOCOL IDENTIFIER for iSCSI (SPC-5 §7.6.1, Table "PROTOCOL IDENTIFIER values"). */
const PROTOCOL_ISCSI = 0x5;
/** FORMAT CODE 01b: ISCSI NAME is the initiator port name (name,i,0xISID). */
const FORMAT_PORT = 0b01;
/** Header bytes before ISCSI NAME: byte 0 format/protocol, byte 1 reserved, bytes 2..3 ADDITIONAL LENGTH. */
const HEADER = 4;

/** The initiator port of a session: name and 48-bit ISID. */
export function initiatorPort(initiatorName: string, isid: bigint): IscsiInitiatorPort {
  const id = `${initiatorName},i,0x${isid.toString(16).padStart(12, '0')}`;
  const name = new TextEncoder().encode(id);
  // ISCSI NAME is NUL-terminated and padded with NULs so ADDITIONAL LENGTH is a multiple of 4 (≥ 20).
  const additional = Math.max(20, Math.ceil((name.length + 1) / 4) * 4);
  const transportId = new Uint8Array(HEADER + additional);
  transportId[0] = (FORMAT_PORT << 6) | PROTOCOL_ISCSI;
  transportId[2] = additional >> 8;
  transportId[3] = additional & 0xff;
  transportId.set(name, HEADER);
  return { id, transportId };
}

/** The LUN number an 8-byte LUN field (as a big-endian integer) addresses, or undefined (SAM-5 §4.7, decodeLun). */
export function lunNumber(field: bigint): number | undefined {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, field);
  const d = decodeLun(bytes);
  return d.ok ? d.value : undefined;
}

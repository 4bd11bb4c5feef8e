// Who an iSCSI initiator port is, to the logical unit: the I_T nexus key the
// SCSI layer tracks unit attentions and reservations by, and the TransportID
// PERSISTENT RESERVE IN reports it as. An iSCSI initiator port is the
// initiator's name plus its ISID (RFC 7143 §4.2.7.x, "iqn.…,i,0x<ISID>");
// the TransportID is SPC-5 §7.6.4.6's iSCSI form with FORMAT CODE 01b.

import { decodeLun } from '../scsi/report-luns.js';
import { encodeIscsiTransportId } from '../scsi/transport-id.js';

/** An I_T nexus as the CAM layer sees it. */
export interface IscsiInitiatorPort {
  /** "InitiatorName,i,0xISID" — the SCSI initiator port name. */
  readonly id: string;
  /** SPC-5 §7.6.4.6 TransportID, FORMAT CODE 01b (initiator port name with separator and ISID). */
  readonly transportId: Uint8Array;
}

/** The initiator port of a session: name (≤ 223 bytes, as login enforces) and 48-bit ISID. */
export function initiatorPort(initiatorName: string, isid: bigint): IscsiInitiatorPort {
  return { id: `${initiatorName},i,0x${isid.toString(16).padStart(12, '0')}`, transportId: encodeIscsiTransportId(initiatorName, isid) };
}

/** The last field lunNumber decoded, and its answer: a session addresses the same LUN command after command. */
let lastField = -1n;
let lastNumber: number | undefined;

/** The LUN number an 8-byte LUN field (as a big-endian integer) addresses, or undefined (SAM-5 §4.7, decodeLun). */
export function lunNumber(field: bigint): number | undefined {
  if (field === lastField) return lastNumber;
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, field);
  const d = decodeLun(bytes);
  lastField = field;
  lastNumber = d.ok ? d.value : undefined;
  return lastNumber;
}

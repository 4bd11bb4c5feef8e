// What the many-initiator stack tests share: iSCSI initiator ports with their
// TransportIDs, and the CDBs and PERSISTENT RESERVE OUT parameter lists they
// send, written from the SPC-5/SBC-4 tables.

export const bytes = (h: string): Uint8Array => Uint8Array.from(h.trim().split(/\s+/), (x) => parseInt(x, 16));
export const ascii = (s: string): string => Array.from(s, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');

/** An iSCSI initiator port: its name as the nexus id, and its TransportID (FORMAT CODE 01b | iSCSI 45h, ADDITIONAL LENGTH 24h, name, NUL padding). */
const port = (id: string): { readonly id: string; readonly transportId: Uint8Array } => ({ id, transportId: bytes(`45 00 00 24 ${ascii(id)} 00`) });
export const A = port('iqn.2024-01.test:a,i,0x000000000001');
export const B = port('iqn.2024-01.test:b,i,0x000000000002');
export const C = port('iqn.2024-01.test:c,i,0x000000000003');
export type Who = typeof A;

export const TUR = bytes('00 00 00 00 00 00');
/** READ (10) of LBA 1, one block. */
export const READ_1 = bytes('28 00 00 00 00 01 00 00 01 00');
/** WRITE (10) of LBA 1, one block. */
export const WRITE_1 = bytes('2a 00 00 00 00 01 00 00 01 00');
/** PERSISTENT RESERVE IN, READ KEYS, ALLOCATION LENGTH 1000h. */
export const READ_KEYS = bytes('5e 00 00 00 00 00 00 10 00 00');
/** PERSISTENT RESERVE OUT, PARAMETER LIST LENGTH 24, SERVICE ACTION and TYPE as given (SCOPE 0h: LU_SCOPE). */
export const prout = (sa: number, type = 0): Uint8Array => bytes(`5f 0${sa} 0${type} 00 00 00 00 00 18 00`);
/** The 24-byte parameter list with RESERVATION KEY `rk` and SERVICE ACTION RESERVATION KEY `sark` (one byte each here). */
export const list = (rk: number, sark: number): Uint8Array =>
  bytes(`00 00 00 00 00 00 00 ${rk.toString(16).padStart(2, '0')} 00 00 00 00 00 00 00 ${sark.toString(16).padStart(2, '0')} 00 00 00 00 00 00 00 00`);
/** PERSISTENT RESERVE OUT SERVICE ACTION codes (SPC-5). */
export const ProutAction = { RESERVE: 1, PREEMPT: 4, PREEMPT_AND_ABORT: 5, REGISTER_AND_IGNORE: 6 } as const;

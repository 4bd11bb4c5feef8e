// What the many-initiator stack tests share: iSCSI initiator ports with their
// TransportIDs, and the CDBs and PERSISTENT RESERVE OUT parameter lists they
// send, written from the SPC-5/SBC-4 tables, and how they send them through pass.

import type { Stack } from '../../src/stack.js';
import type { ScsiRequest, ScsiResult } from '../../src/cam/periph/request.js';
import { senseTriple } from './helpers.js';

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

/** One command through pass as `who`; `tag` and the timeout as given (Data-In commands get 4 KiB of room). */
export function run(s: Stack, who: Who, cdb: Uint8Array, data?: Uint8Array, tag?: ScsiRequest['tagAction'], timeoutMs?: number): Promise<ScsiResult> {
  const base = { cdb, initiator: who, ...(tag === undefined ? {} : { tagAction: tag }), ...(timeoutMs === undefined ? {} : { timeoutMs }) };
  const req: ScsiRequest = data !== undefined ? { ...base, direction: 'out', data } : cdb[0] === 0x00 ? { ...base, direction: 'none' } : { ...base, direction: 'in', length: 4096 };
  return s.pass(0).scsi(req);
}

/** TEST UNIT READY as `who` until GOOD (CAM_REQ_CMP, FreeBSD cam.h); the sense key/ASC/ASCQ of each unit attention on the way. */
export async function settle(s: Stack, who: Who): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await run(s, who, TUR);
    if (r.scsiStatus === 0 && (r.camStatus & 0x3f) === 0x01) return seen;
    seen.push(String(senseTriple(r.sense)));
  }
  throw new Error(`unit attentions keep coming: ${seen.join(' ')}`);
}

/** Tracks when a promise settles: `name` goes into `order` then, and done() says whether it has. */
export function track<T>(p: Promise<T>, order: string[], name: string): { readonly p: Promise<T>; done: () => boolean } {
  let finished = false;
  const q = p.then((r) => {
    finished = true;
    order.push(name);
    return r;
  });
  return { p: q, done: () => finished };
}

// `vtcam sense` and `vtcam cdb`: what a SCSI test suite's log line means,
// decoded with the same codecs and command table the emulator uses.

import { decodeCdb } from '../scsi/cdb/decode.js';
import { SENSE_FIELD_BYTES, decodeSenseResult, type DecodedSense, type SenseFormat, type SenseRejection } from '../scsi/sense-codec.js';
import { describeSense, senseDetails, senseText } from '../scsi/sense-text.js';
import { SbcEmulator } from '../scsi/sbc/emulator.js';
import { MemoryBlockSet } from '../scsi/sbc/memory-block-set.js';
import type { CliIo } from './io.js';

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
/** Upper case, as describeSense writes sense keys and ASCs. */
const hh = (n: number): string => hex2(n).toUpperCase();

/** Field values as text: bigints in hex (LBAs), the rest as JSON. */
function formatFields(fields: object): string[] {
  return Object.entries(fields).map(([k, v]) => {
    const text = typeof v === 'bigint' ? `${v.toString()} (0x${v.toString(16)})` : JSON.stringify(v);
    return `  ${k}: ${text}`;
  });
}

/** Where SPC-5 lays out each sense data format. */
const FORMAT_SECTION: Readonly<Record<SenseFormat, string>> = { descriptor: '§4.4.2', fixed: '§4.4.3' };

/** Why the bytes are not sense data vtcam can decode, naming the byte at fault. */
function rejectionText(r: SenseRejection): string {
  switch (r.reason) {
    case 'empty':
      return 'not sense data: no bytes';
    case 'response-code':
      return `not sense data: response code ${hex2(r.responseCode)}h is not 70h..73h (fixed or descriptor, current or deferred)`;
    case 'short': {
      const at = SENSE_FIELD_BYTES[r.format].senseKey;
      const given = r.length === 1 ? 'only byte 0 was given' : `only bytes 0..${r.length - 1} were given`;
      return `too short for sense data: ${r.format} format (${hex2(r.responseCode)}h) has the SENSE KEY in byte ${at} (SPC-5 ${FORMAT_SECTION[r.format]}), but ${given}`;
    }
    case 'sense-key':
      return `not sense data: sense key ${hh(r.key)}h (byte ${SENSE_FIELD_BYTES[r.format].senseKey}) is obsolete`;
  }
}

/**
 * The decoded line. Sense data that ends before the ASCQ names no ASC/ASCQ pair (ASC 24h alone may
 * be any of 24h/xxh), so it says what is missing rather than read the absent bytes as 00h.
 */
function senseLine(d: DecodedSense): string {
  if (d.hasAsc) return describeSense(d.sense);
  const codes = d.ascWithoutAscq === undefined ? 'ASC and ASCQ missing' : `ASC ${hh(d.ascWithoutAscq)}h, ASCQ missing`;
  return [`${senseText(d.sense.key)}: ${codes}`, ...senseDetails(d.sense)].join(', ');
}

/** Prints decoded sense data; 1 when the bytes are not sense data. */
export function decodeSenseCommand(bytes: Uint8Array, io: CliIo): number {
  const r = decodeSenseResult(bytes);
  if (!r.ok) {
    io.error(rejectionText(r.rejection));
    return 1;
  }
  const d = r.value;
  const deferred = d.responseCode === 0x71 || d.responseCode === 0x73;
  io.out(`${d.format} format, ${deferred ? 'deferred' : 'current'} (${hex2(d.responseCode)}h)`);
  io.out(senseLine(d));
  if (!d.hasAsc) {
    const missing = d.ascWithoutAscq === undefined ? `byte ${SENSE_FIELD_BYTES[d.format].asc} (ADDITIONAL SENSE CODE)` : `byte ${SENSE_FIELD_BYTES[d.format].ascq} (ADDITIONAL SENSE CODE QUALIFIER)`;
    io.out(`note: the sense data ends before ${missing}${d.truncated ? '' : ', where its ADDITIONAL SENSE LENGTH ends it'}`);
  } else if (d.truncated) io.out('note: the buffer is shorter than its ADDITIONAL SENSE LENGTH says');
  return 0;
}

/**
 * Prints the command a CDB encodes and its fields, or why vtcam would reject it
 * (exit 1). The table is that of a unit with every capability (discard,
 * write-zeroes, flush), as docs/scsi-commands.md lists it.
 */
export async function decodeCdbCommand(bytes: Uint8Array, io: CliIo): Promise<number> {
  const unit = await SbcEmulator.create(new MemoryBlockSet({ blocks: 1 }));
  const d = decodeCdb(bytes, unit.commands);
  if (!d.ok) {
    io.error(`this CDB gets CHECK CONDITION, ${describeSense(d.fault)}`);
    return 1;
  }
  const { descriptor } = d.value;
  const sa = descriptor.serviceAction === undefined ? '' : ` service action ${hex2(descriptor.serviceAction)}h`;
  io.out(`${descriptor.name} (opcode ${hex2(descriptor.opcode)}h${sa}, ${descriptor.cdbLength}-byte CDB, data ${descriptor.dataDir})`);
  for (const line of formatFields(d.value.fields)) io.out(line);
  if (bytes.length > descriptor.cdbLength) io.out(`note: ${bytes.length - descriptor.cdbLength} byte(s) past the CDB length ignored`);
  return 0;
}

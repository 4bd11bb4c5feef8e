// `vtcam sense` and `vtcam cdb`: what a SCSI test suite's log line means,
// decoded with the same codecs and command table the emulator uses.

import { decodeCdb } from '../scsi/cdb/decode.js';
import { decodeSenseFull } from '../scsi/sense-codec.js';
import { describeSense } from '../scsi/sense-text.js';
import { SbcEmulator } from '../scsi/sbc/emulator.js';
import { MemoryBlockSet } from '../scsi/sbc/memory-block-set.js';
import type { CliIo } from './io.js';

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** Field values as text: bigints in hex (LBAs), the rest as JSON. */
function formatFields(fields: object): string[] {
  return Object.entries(fields).map(([k, v]) => {
    const text = typeof v === 'bigint' ? `${v.toString()} (0x${v.toString(16)})` : JSON.stringify(v);
    return `  ${k}: ${text}`;
  });
}

/** Prints decoded sense data; 1 when the bytes are not sense data. */
export function decodeSenseCommand(bytes: Uint8Array, io: CliIo): number {
  const d = decodeSenseFull(bytes);
  if (d === undefined) {
    const code = bytes[0] ?? 0;
    io.error(`not sense data: response code ${hex2(code & 0x7f)}h is not 70h..73h (fixed or descriptor, current or deferred)`);
    return 1;
  }
  const deferred = d.responseCode === 0x71 || d.responseCode === 0x73;
  io.out(`${d.format} format, ${deferred ? 'deferred' : 'current'} (${hex2(d.responseCode)}h)`);
  io.out(describeSense(d.sense));
  if (!d.hasAsc) io.out('note: the sense data ends before the ASC/ASCQ bytes');
  else if (d.truncated) io.out('note: the buffer is shorter than its ADDITIONAL SENSE LENGTH says');
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

// The serial number a disk the CLI builds answers with: the device's GET_ID
// string (VIRTIO 1.2 §5.2.6, 20 bytes), which the SCSI unit gives as its Unit
// Serial Number VPD page and derives its NAA designator from. --serial sets it
// as typed, and this module checks that the unit will answer it unchanged; an
// image file's own comes from the file's identity; a memory disk takes the
// device's default, random each run.

import { createHash } from 'node:crypto';
import { VIRTIO_BLK_ID_BYTES } from '../virtio/blk-wire.js';

/** Hex digits of the hash in {@link imageSerial}: 56 bits, 20 bytes with the prefix (GET_ID's length). */
const IMAGE_SERIAL_DIGITS = 14;

/**
 * The serial of an image file: `vtcam-` and 14 hex digits of a SHA-256 of its
 * device and inode numbers, as fstat(2) of the open handle gives them. The
 * same file answers the same serial number and NAA each time it is served,
 * so an initiator finds the disk it knew, also after a rename (which a path
 * would not survive); another file, a copy of it included, answers its own.
 */
export function imageSerial(file: { readonly dev: bigint; readonly ino: bigint }): string {
  const digest = createHash('sha256').update(`${file.dev.toString()}:${file.ino.toString()}`).digest('hex');
  return `vtcam-${digest.slice(0, IMAGE_SERIAL_DIGITS)}`;
}

/** What --serial cannot be, or undefined when the unit will answer it as typed. */
export function serialProblem(text: string): string | undefined {
  if (text.length === 0) return `--serial needs 1..${VIRTIO_BLK_ID_BYTES} printable ASCII characters, got ''`;
  // The unit drops every other byte of GET_ID (device-config.ts serialFromId): what it answered would not be this.
  let at = 0;
  for (const c of text) {
    at++;
    const code = c.codePointAt(0) ?? 0;
    if (code < 0x20 || code > 0x7e) {
      return `--serial must be printable ASCII (20h..7Eh), got ${JSON.stringify(text)}: character ${at} is U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    }
  }
  if (text.length > VIRTIO_BLK_ID_BYTES) return `--serial is ${text.length} characters; the device's GET_ID carries at most ${VIRTIO_BLK_ID_BYTES} (VIRTIO 1.2 §5.2.6), got '${text}'`;
  // The unit serial number is trimmed of them, so initiators would see another string.
  if (text.trim() !== text) return `--serial must not begin or end with a space (the unit serial number is trimmed of them), got '${text}'`;
  return undefined;
}

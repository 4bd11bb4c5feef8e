// The serial number a disk the CLI builds answers with: the device's GET_ID
// string (VIRTIO 1.2 §5.2.6, 20 bytes), which the SCSI unit gives as its Unit
// Serial Number VPD page and derives its NAA designator from. --serial sets it
// as typed; this module checks that the unit will answer it unchanged.

import { VIRTIO_BLK_ID_BYTES } from '../virtio/blk-wire.js';

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

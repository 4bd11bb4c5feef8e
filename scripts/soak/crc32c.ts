// CRC32C (Castagnoli) for iSCSI header and data digests, RFC 7143 §13.1 and
// RFC 3720 Appendix B. The soak's own table-driven version: checking the
// target's digests with the target's own code would hide a bug they share.

/** The reflected Castagnoli polynomial 1EDC6F41h. */
const POLY_REFLECTED = 0x82f63b78;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The digest as it goes on the wire: least significant byte first (RFC 3720 B.4's examples). */
export function digestBytes(bytes: Uint8Array): Buffer {
  const d = Buffer.alloc(4);
  d.writeUInt32LE(crc32c(bytes));
  return d;
}

// CRC32C (Castagnoli), the iSCSI header and data digest. Spec: RFC 7143 §13.1
// (generator 0x11EDC6F41; padding bytes are inside the CRC) and Appendix A.4
// (examples, as the bytes on the wire). The register starts at all ones and is
// complemented at the end; bits are taken least significant first, so the
// table-driven form uses the reflected polynomial 0x82F63B78. On the wire the
// digest is the 32-bit result least significant byte first: 32 zero bytes give
// 0x8A9136AA, sent as aa 36 91 8a (Appendix A.4).
//
// Slice-by-8: eight 256-entry tables let one step fold eight input bytes into
// the register, because a data digest runs over every byte the target moves.

/** RFC 7143 §13.1 generator 0x1EDC6F41 (x^32 implied), bit-reversed. */
const CRC32C_POLY_REFLECTED = 0x82f63b78;

function makeTables(): readonly Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const [t0] = tables;
  if (t0 === undefined) throw new Error('unreachable: eight tables were made');
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY_REFLECTED : c >>> 1;
    t0[n] = c;
  }
  // Table k advances a byte that sits k bytes ahead of the register's low end.
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1] as Uint32Array;
    const cur = tables[k] as Uint32Array;
    for (let n = 0; n < 256; n++) {
      const c = prev[n] as number;
      cur[n] = (c >>> 8) ^ (t0[c & 0xff] as number);
    }
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables() as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/**
 * CRC32C of `bytes`. `seed` is the result of a previous call, so a digest over
 * several pieces is `crc32c(b, crc32c(a))` — the same as over `a` then `b`
 * joined (a data segment and its padding, a BHS and its AHS). The result is an
 * unsigned 32-bit number; `writeDigest` puts it on the wire.
 */
export function crc32c(bytes: Uint8Array, seed = 0): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`crc32c: seed ${seed} is not a 32-bit unsigned integer`);
  }
  let c = ~seed;
  const n = bytes.length;
  const end8 = n & ~7;
  let i = 0;
  for (; i < end8; i += 8) {
    const lo =
      c ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    c =
      (T7[lo & 0xff] as number) ^
      (T6[(lo >>> 8) & 0xff] as number) ^
      (T5[(lo >>> 16) & 0xff] as number) ^
      (T4[lo >>> 24] as number) ^
      (T3[bytes[i + 4] as number] as number) ^
      (T2[bytes[i + 5] as number] as number) ^
      (T1[bytes[i + 6] as number] as number) ^
      (T0[bytes[i + 7] as number] as number);
  }
  for (; i < n; i++) c = (T0[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** Size of a CRC32C digest on the wire (RFC 7143 §11.2.3). */
export const DIGEST_LENGTH = 4;

/** Writes `crc` at `at` in wire order: least significant byte first (RFC 7143 Appendix A.4). */
export function writeDigest(out: Uint8Array, at: number, crc: number): void {
  if (at < 0 || at + DIGEST_LENGTH > out.length) throw new RangeError(`writeDigest: offset ${at} + 4 is outside ${out.length} bytes`);
  out[at] = crc;
  out[at + 1] = crc >>> 8;
  out[at + 2] = crc >>> 16;
  out[at + 3] = crc >>> 24;
}

/** Reads a digest written by `writeDigest` (the inverse byte order). */
export function readDigest(bytes: Uint8Array, at = 0): number {
  if (at < 0 || at + DIGEST_LENGTH > bytes.length) throw new RangeError(`readDigest: offset ${at} + 4 is outside ${bytes.length} bytes`);
  return (
    ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>>
    0
  );
}

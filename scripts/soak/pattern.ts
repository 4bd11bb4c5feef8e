// What the soak writes into a logical block, and how a block read back is
// recognised. Every block written carries its own identity (which write, and
// for a WRITE the LBA it was meant for), and the rest of the block is derived
// from that identity, so one block read back says whole, which write it came
// from and where it belonged, or torn: a block that mixes two writes, or
// bytes no write put there.

/** "VTCT" */
const MAGIC = 0x56544354;
/** The tag of a WRITE SAME block: the same bytes go to every LBA of the range. */
export const SAME_TAG = 0xffffffff;
/** MAGIC, write id, tag, and the id inverted (a torn header cannot pass). */
const HEADER_BYTES = 16;

/** What a block read back holds. */
export type BlockContent =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'written'; readonly id: number; readonly tag: number }
  | { readonly kind: 'torn'; readonly why: string };

/** Writes into `out` at `offset` the block of write `id` with `tag` (an LBA, or SAME_TAG); `length` is the logical block length. */
export function fillBlock(out: Buffer, offset: number, length: number, id: number, tag: number): void {
  out.writeUInt32BE(MAGIC, offset);
  out.writeUInt32BE(id >>> 0, offset + 4);
  out.writeUInt32BE(tag >>> 0, offset + 8);
  out.writeUInt32BE(~id >>> 0, offset + 12);
  // xorshift32 from the identity: any byte of the body that comes from elsewhere shows.
  let x = (Math.imul(id, 0x9e3779b1) ^ Math.imul(tag, 0x85ebca77) ^ 0x1234567) >>> 0 || 1;
  for (let i = HEADER_BYTES; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32BE(x >>> 0, offset + i);
  }
}

/** The data of a WRITE of `blocks` blocks at `lba`: each block tagged with its own LBA. */
export function writeData(id: number, lba: number, blocks: number, length: number): Buffer {
  const out = Buffer.alloc(blocks * length);
  for (let i = 0; i < blocks; i++) fillBlock(out, i * length, length, id, lba + i);
  return out;
}

/** The one block a WRITE SAME sends. */
export function sameData(id: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  fillBlock(out, 0, length, id, SAME_TAG);
  return out;
}

/** Reads the block at `offset`. */
export function decodeBlock(data: Buffer, offset: number, length: number): BlockContent {
  const b = data.subarray(offset, offset + length);
  if (b.every((v) => v === 0)) return { kind: 'zeros' };
  if (b.readUInt32BE(0) !== MAGIC) return { kind: 'torn', why: `no pattern header (starts ${b.subarray(0, 16).toString('hex')})` };
  const id = b.readUInt32BE(4);
  const tag = b.readUInt32BE(8);
  if (b.readUInt32BE(12) !== (~id >>> 0)) return { kind: 'torn', why: `pattern header torn (${b.subarray(0, 16).toString('hex')})` };
  const expected = Buffer.alloc(length);
  fillBlock(expected, 0, length, id, tag);
  const at = b.findIndex((v, i) => v !== expected[i]);
  if (at >= 0) return { kind: 'torn', why: `write ${id} tag ${tagText(tag)} differs from byte ${at}` };
  return { kind: 'written', id, tag };
}

export const tagText = (tag: number): string => (tag === SAME_TAG ? 'SAME' : String(tag));

// Split-ring layouts computed by hand from VIRTIO 1.2 §2.7 (virtio-v1.2-cs01):
//   descriptor table  16 * qsz bytes, at 0 (§2.7.5: le64 addr, le32 len, le16 flags, le16 next)
//   available ring    le16 flags, le16 idx, le16 ring[qsz], le16 used_event   (§2.7.6) = 6 + 2 * qsz
//   used ring         le16 flags, le16 idx, {le32 id, le32 len}[qsz], le16 avail_event (§2.7.8) = 6 + 8 * qsz
// placed back to back, the used ring rounded up to `usedAlign` (§2.7.2 legacy
// layout; Linux vring_size). Arithmetic is written out so it can be checked.

export interface LayoutVector {
  readonly qsz: number;
  readonly usedAlign: number;
  readonly desc: number;
  readonly avail: number;
  readonly usedEvent: number;
  readonly used: number;
  readonly availEvent: number;
  readonly size: number;
}

export const layoutVectors: readonly LayoutVector[] = [
  // qsz 1: avail = 16; used_event = 16+4+2 = 22; 22+2 = 24 is already 4-aligned (no pad);
  // avail_event = 24+4+8 = 36; size 38.
  { qsz: 1, usedAlign: 4, desc: 0, avail: 16, usedEvent: 22, used: 24, availEvent: 36, size: 38 },
  // qsz 2: avail = 32; used_event = 32+4+4 = 40; 42 → 44; avail_event = 44+4+16 = 64; size 66.
  { qsz: 2, usedAlign: 4, desc: 0, avail: 32, usedEvent: 40, used: 44, availEvent: 64, size: 66 },
  // qsz 4: avail = 64; used_event = 64+4+8 = 76; 78 → 80; avail_event = 80+4+32 = 116; size 118.
  { qsz: 4, usedAlign: 4, desc: 0, avail: 64, usedEvent: 76, used: 80, availEvent: 116, size: 118 },
  // qsz 4, 16-aligned used ring: 78 → 80 as well.
  { qsz: 4, usedAlign: 16, desc: 0, avail: 64, usedEvent: 76, used: 80, availEvent: 116, size: 118 },
  // qsz 4, 128-aligned: 78 → 128; avail_event = 128+36 = 164; size 166.
  { qsz: 4, usedAlign: 128, desc: 0, avail: 64, usedEvent: 76, used: 128, availEvent: 164, size: 166 },
  // qsz 4, page-aligned: 78 → 4096; avail_event = 4096+36 = 4132; size 4134.
  { qsz: 4, usedAlign: 4096, desc: 0, avail: 64, usedEvent: 76, used: 4096, availEvent: 4132, size: 4134 },
  // STYLE.md seed: qsz 8: avail 128; used_event 128+4+16 = 148; 150 → 152; avail_event 152+4+64 = 220; size 222.
  { qsz: 8, usedAlign: 4, desc: 0, avail: 128, usedEvent: 148, used: 152, availEvent: 220, size: 222 },
  // STYLE.md seed: qsz 8, page-aligned: used 4096; avail_event 4096+68 = 4164; size 4166.
  { qsz: 8, usedAlign: 4096, desc: 0, avail: 128, usedEvent: 148, used: 4096, availEvent: 4164, size: 4166 },
  // qsz 16: avail 256; used_event 256+4+32 = 292; 294 → 296; avail_event 296+4+128 = 428; size 430.
  { qsz: 16, usedAlign: 4, desc: 0, avail: 256, usedEvent: 292, used: 296, availEvent: 428, size: 430 },
  // STYLE.md seed (Linux vring_size(256, 4096) = 10246): avail 4096; used_event 4096+4+512 = 4612;
  // 4614 → 8192; avail_event 8192+4+2048 = 10244; size 10246.
  { qsz: 256, usedAlign: 4096, desc: 0, avail: 4096, usedEvent: 4612, used: 8192, availEvent: 10244, size: 10246 },
  // qsz 32768 (the §2.7 maximum): avail 524288; used_event 524288+4+65536 = 589828;
  // 589830 → 589832; avail_event 589832+4+262144 = 851980; size 851982.
  { qsz: 32768, usedAlign: 4, desc: 0, avail: 524288, usedEvent: 589828, used: 589832, availEvent: 851980, size: 851982 },
];

/** [event, next, old, expected]: notify iff event lies in [old, next) mod 2^16 (§2.7.7, §2.7.10). */
export const needEventVectors: readonly (readonly [number, number, number, boolean])[] = [
  // STYLE.md seeds
  [0xffff, 1, 0xffff, true], // idx went 0xffff → 1 across the wrap; entry 0xffff was written
  [1, 1, 0xffff, false], // entries 0xffff and 0 were written, 1 not yet
  // single step
  [0, 1, 0, true],
  [1, 1, 0, false],
  [0xffff, 0, 0xffff, true],
  [0xfffe, 0, 0xffff, false],
  // no movement never notifies
  [5, 5, 5, false],
  [4, 5, 5, false],
  // a batch 10 → 20
  [9, 20, 10, false],
  [10, 20, 10, true],
  [15, 20, 10, true],
  [19, 20, 10, true],
  [20, 20, 10, false],
  // a batch across the wrap, 0xfff0 → 0x0010 (32 entries)
  [0xffef, 0x0010, 0xfff0, false],
  [0xfff0, 0x0010, 0xfff0, true],
  [0xffff, 0x0010, 0xfff0, true],
  [0x0000, 0x0010, 0xfff0, true],
  [0x000f, 0x0010, 0xfff0, true],
  [0x0010, 0x0010, 0xfff0, false],
  // 0xffff entries at once (the most a 16-bit idx can express)
  [0x0000, 0xffff, 0x0000, true],
  [0xfffe, 0xffff, 0x0000, true],
  [0xffff, 0xffff, 0x0000, false],
];

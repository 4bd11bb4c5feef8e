// Split-virtqueue memory images written by hand from VIRTIO 1.2 §2.7 (virtio-v1.2-cs01):
//   struct virtq_desc  { le64 addr @0; le32 len @8; le16 flags @12; le16 next @14 }       (§2.7.5)
//   struct virtq_avail { le16 flags @0; le16 idx @2; le16 ring[qsz] @4; le16 used_event } (§2.7.6)
//   struct virtq_used  { le16 flags @0; le16 idx @2; {le32 id; le32 len} ring[qsz] @4;
//                        le16 avail_event }                                               (§2.7.8)
//   flags: NEXT 1, WRITE 2, INDIRECT 4 (§2.7.5); VIRTQ_AVAIL_F_NO_INTERRUPT 1 (§2.7.7);
//   VIRTQ_USED_F_NO_NOTIFY 1 (§2.7.10). An indirect descriptor's len is 16 * entries (§2.7.5.3).
// The numbers below are literals, not the module's constants; every image lists
// one descriptor (16 bytes) per string so a diff points at the field.

/** The spec's flag values, written out (not imported from the code under test). */
export const F = { NEXT: 1, WRITE: 2, INDIRECT: 4, NO_INTERRUPT: 1, NO_NOTIFY: 1 } as const;

/** qsz 4 laid out back to back: desc 16*4 = 64 bytes at 0; avail 4+2*4+2 = 14 bytes at 64
 * (used_event @76); used 4+8*4+2 = 38 bytes at 80 (78 rounded up to 4; avail_event @116). */
export const QSZ4 = { desc: 0, avail: 64, used: 80 } as const;
export const QSZ4_SIZES = { desc: 64, avail: 14, used: 38 } as const;

interface Buf {
  readonly addr: number;
  readonly len: number;
  readonly write: boolean;
}

export interface DriverVector {
  readonly name: string;
  readonly qsz: number;
  readonly memSize: number;
  readonly addrs: { readonly desc: number; readonly avail: number; readonly used: number };
  readonly sizes: { readonly desc: number; readonly avail: number; readonly used: number };
  /** Indirect descriptors negotiated, tables from an allocator over [base, base+size). */
  readonly indirect?: { readonly base: number; readonly size: number };
  /** Requests added in this order, then published with one avail.idx store. */
  readonly requests: readonly (readonly Buf[])[];
  readonly heads: readonly number[];
  readonly numFree: number;
  /** Descriptor table after the adds, one entry per string. */
  readonly desc: readonly string[];
  /** Available ring after the adds but before publish (ring entries written, idx not). */
  readonly availBefore: string;
  /** Available ring after publish. */
  readonly avail: string;
  /** Used ring (the driver zeroes it and never writes it again). */
  readonly used: string;
  /** Indirect tables in guest memory. */
  readonly tables?: readonly { readonly addr: number; readonly entries: readonly string[] }[];
}

const ZERO_DESC = '00 00 00 00 00 00 00 00  00 00 00 00  00 00  00 00';
const ZERO_USED_QSZ4 = '00 00  00 00  ' + Array<string>(4).fill('00 00 00 00 00 00 00 00').join('  ') + '  00 00';

const R16 = { addr: 0x100, len: 16, write: false };
const W512 = { addr: 0x200, len: 512, write: true };
const W1 = { addr: 0x400, len: 1, write: true };

export const driverVectors: readonly DriverVector[] = [
  {
    name: '3-buffer chain (readable 16 B, writable 512 B, writable 1 B), qsz 4',
    qsz: 4, memSize: 0x1000, addrs: QSZ4, sizes: QSZ4_SIZES,
    requests: [[R16, W512, W1]],
    heads: [0],
    numFree: 1,
    desc: [
      //     addr                      len           flags       next
      '00 01 00 00 00 00 00 00  10 00 00 00  01 00  01 00', // 0x100, 16, NEXT, → 1
      '00 02 00 00 00 00 00 00  00 02 00 00  03 00  02 00', // 0x200, 512, NEXT|WRITE, → 2
      '00 04 00 00 00 00 00 00  01 00 00 00  02 00  00 00', // 0x400, 1, WRITE, end
      ZERO_DESC,
    ],
    //           flags  idx    ring[0..3]                used_event
    availBefore: '00 00  00 00  00 00 00 00 00 00 00 00  00 00',
    avail: '00 00  01 00  00 00 00 00 00 00 00 00  00 00',
    used: ZERO_USED_QSZ4,
  },
  {
    name: 'three requests in one batch (1 + 2 + 1 buffers): ring[] = 0, 1, 3; one idx store',
    qsz: 4, memSize: 0x1000, addrs: QSZ4, sizes: QSZ4_SIZES,
    requests: [
      [{ addr: 0x100, len: 16, write: false }],
      [{ addr: 0x300, len: 0x20, write: false }, { addr: 0x800, len: 0x800, write: true }], // ends at memSize exactly
      [{ addr: 0xfff, len: 1, write: true }], // last byte of memory
    ],
    heads: [0, 1, 3],
    numFree: 0,
    desc: [
      '00 01 00 00 00 00 00 00  10 00 00 00  00 00  00 00', // 0x100, 16, no flags
      '00 03 00 00 00 00 00 00  20 00 00 00  01 00  02 00', // 0x300, 32, NEXT, → 2
      '00 08 00 00 00 00 00 00  00 08 00 00  02 00  00 00', // 0x800, 2048, WRITE
      'ff 0f 00 00 00 00 00 00  01 00 00 00  02 00  00 00', // 0xfff, 1, WRITE
    ],
    availBefore: '00 00  00 00  00 00 01 00 03 00 00 00  00 00',
    avail: '00 00  03 00  00 00 01 00 03 00 00 00  00 00',
    used: ZERO_USED_QSZ4,
  },
  {
    // qsz 2: desc 32 B, avail 4+4+2 = 10 B, used 4+16+2 = 22 B. The areas need not be
    // contiguous (§2.7): avail only 2-aligned, used only 4-aligned, desc after both.
    name: 'areas placed apart: desc 0x200, avail 0x102, used 0x184, qsz 2',
    qsz: 2, memSize: 0x1000, addrs: { desc: 0x200, avail: 0x102, used: 0x184 }, sizes: { desc: 32, avail: 10, used: 22 },
    requests: [[{ addr: 0x400, len: 0x10, write: false }, { addr: 0x500, len: 0x100, write: true }]],
    heads: [0],
    numFree: 0,
    desc: [
      '00 04 00 00 00 00 00 00  10 00 00 00  01 00  01 00',
      '00 05 00 00 00 00 00 00  00 01 00 00  02 00  00 00',
    ],
    availBefore: '00 00  00 00  00 00 00 00  00 00',
    avail: '00 00  01 00  00 00 00 00  00 00',
    used: '00 00  00 00  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  00 00',
  },
  {
    // Indirect (§2.7.5.3): the ring descriptor has flags INDIRECT, addr = table, len = 16 * n.
    // The allocator hands out 0x800 (48 B) then 0x830 (32 B, 16-aligned). A 1-buffer request
    // stays direct (Linux uses a table only for more than one buffer).
    name: 'indirect: 3-buffer table, a direct single, a 2-buffer table',
    qsz: 4, memSize: 0x1000, addrs: QSZ4, sizes: QSZ4_SIZES,
    indirect: { base: 0x800, size: 0x100 },
    requests: [
      [R16, W512, W1],
      [{ addr: 0x500, len: 0x40, write: true }],
      [{ addr: 0x600, len: 0x10, write: false }, { addr: 0x700, len: 0x10, write: false }],
    ],
    heads: [0, 1, 2],
    numFree: 1,
    desc: [
      '00 08 00 00 00 00 00 00  30 00 00 00  04 00  00 00', // table 0x800, 48 = 3 * 16, INDIRECT
      '00 05 00 00 00 00 00 00  40 00 00 00  02 00  00 00', // 0x500, 64, WRITE
      '30 08 00 00 00 00 00 00  20 00 00 00  04 00  00 00', // table 0x830, 32 = 2 * 16, INDIRECT
      ZERO_DESC,
    ],
    availBefore: '00 00  00 00  00 00 01 00 02 00 00 00  00 00',
    avail: '00 00  03 00  00 00 01 00 02 00 00 00  00 00',
    used: ZERO_USED_QSZ4,
    tables: [
      {
        addr: 0x800,
        entries: [
          '00 01 00 00 00 00 00 00  10 00 00 00  01 00  01 00', // next indexes the table: 1
          '00 02 00 00 00 00 00 00  00 02 00 00  03 00  02 00', // → 2
          '00 04 00 00 00 00 00 00  01 00 00 00  02 00  00 00',
        ],
      },
      {
        addr: 0x830,
        entries: [
          '00 06 00 00 00 00 00 00  10 00 00 00  01 00  01 00',
          '00 07 00 00 00 00 00 00  10 00 00 00  00 00  00 00',
        ],
      },
    ],
  },
];

export interface UsedVector {
  readonly name: string;
  /** Single-buffer requests added (heads 0, 1, 2 …), all popped by the device. */
  readonly requests: number;
  /** Device pushes, in this order, then one publish. */
  readonly pushes: readonly { readonly head: number; readonly len: number }[];
  /** Used ring of a qsz-4 queue at QSZ4.used after the publish. */
  readonly used: string;
}

export const usedVectors: readonly UsedVector[] = [
  {
    name: 'three completions out of order',
    requests: 3,
    pushes: [{ head: 2, len: 0x10 }, { head: 0, len: 0x200 }, { head: 1, len: 0 }],
    //     flags  idx    ring[0] id, len           ring[1]                    ring[2]                    ring[3]                    avail_event
    used: '00 00  03 00  02 00 00 00 10 00 00 00  00 00 00 00 00 02 00 00  01 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  00 00',
  },
  {
    name: 'len max u32 and a full ring',
    requests: 4,
    pushes: [{ head: 3, len: 0xffffffff }, { head: 1, len: 0x01020304 }, { head: 2, len: 1 }, { head: 0, len: 0x80000000 }],
    used: '00 00  04 00  03 00 00 00 ff ff ff ff  01 00 00 00 04 03 02 01  02 00 00 00 01 00 00 00  00 00 00 00 00 00 00 80  00 00',
  },
];

export interface EventVector {
  readonly name: string;
  readonly eventIdx: boolean;
  /** Single-buffer requests added in one batch and completed in order before the action (qsz 4). */
  readonly completed: number;
  readonly action: 'driver.disableInterrupts' | 'driver.enableInterrupts' | 'device.disableNotifications' | 'device.enableNotifications';
  readonly avail: string;
  readonly used: string;
}

// With 3 requests completed the used ring reads: idx 3, ring[0..2] = {id 0, len 0}, {1, 0}, {2, 0}.
const USED3 = '03 00  00 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00  02 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00';
// And the avail ring: idx 3, ring[] = 0, 1, 2.
const AVAIL3 = '03 00  00 00 01 00 02 00 00 00';

export const eventVectors: readonly EventVector[] = [
  // Without EVENT_IDX: flags bit 0 (§2.7.7, §2.7.10).
  { name: 'no EVENT_IDX: driver disables interrupts → avail.flags = 1', eventIdx: false, completed: 3, action: 'driver.disableInterrupts', avail: `01 00  ${AVAIL3}  00 00`, used: `00 00  ${USED3}  00 00` },
  { name: 'no EVENT_IDX: device disables notifications → used.flags = 1', eventIdx: false, completed: 3, action: 'device.disableNotifications', avail: `00 00  ${AVAIL3}  00 00`, used: `01 00  ${USED3}  00 00` },
  // With EVENT_IDX flags stay 0 ("MUST set flags to 0"); the event fields move instead.
  { name: 'EVENT_IDX: driver enables interrupts → used_event = 3 (next used entry)', eventIdx: true, completed: 3, action: 'driver.enableInterrupts', avail: `00 00  ${AVAIL3}  03 00`, used: `00 00  ${USED3}  00 00` },
  { name: 'EVENT_IDX: driver disables interrupts → used_event parked at 2 (a full wrap away)', eventIdx: true, completed: 3, action: 'driver.disableInterrupts', avail: `00 00  ${AVAIL3}  02 00`, used: `00 00  ${USED3}  00 00` },
  { name: 'EVENT_IDX: device enables notifications → avail_event = 3', eventIdx: true, completed: 3, action: 'device.enableNotifications', avail: `00 00  ${AVAIL3}  00 00`, used: `00 00  ${USED3}  03 00` },
  { name: 'EVENT_IDX: device disables notifications → nothing written', eventIdx: true, completed: 3, action: 'device.disableNotifications', avail: `00 00  ${AVAIL3}  00 00`, used: `00 00  ${USED3}  00 00` },
];

// ---- An independent builder: writes ring fields at the spec's offsets with a DataView. ----

const dv = (mem: Uint8Array): DataView => new DataView(mem.buffer, mem.byteOffset, mem.byteLength);

export const norm = (h: string): string => h.trim().split(/\s+/).join(' ');
export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** Writes one struct virtq_desc at `at`. */
export function putDesc(mem: Uint8Array, at: number, d: { addr: bigint; len: number; flags: number; next: number }): void {
  const v = dv(mem);
  v.setBigUint64(at + 0, d.addr, true);
  v.setUint32(at + 8, d.len, true);
  v.setUint16(at + 12, d.flags, true);
  v.setUint16(at + 14, d.next, true);
}

export const getU16 = (mem: Uint8Array, at: number): number => dv(mem).getUint16(at, true);
export const putU16 = (mem: Uint8Array, at: number, value: number): void => {
  dv(mem).setUint16(at, value, true);
};

/** Writes used.ring[slot] = { id, len } of a used ring at `used`. */
export function putUsedElem(mem: Uint8Array, used: number, slot: number, id: number, len: number): void {
  const v = dv(mem);
  v.setUint32(used + 4 + 8 * slot, id, true);
  v.setUint32(used + 4 + 8 * slot + 4, len, true);
}

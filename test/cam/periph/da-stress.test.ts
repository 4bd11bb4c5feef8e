// da under random transient faults: rounds of concurrent writes to disjoint
// ranges, then concurrent reads of everything, with a small share of CCBs
// answered REQUEUE_REQ, CAM_BUSY, SCSI BUSY, TASK SET FULL, CMD_TIMEOUT,
// UNIT ATTENTION or NOT READY (becoming ready). Every request must succeed,
// the data must match a shadow copy, every CCB must complete once, and every
// freeze must be released. VTCAM_STRESS_OPS sets the number of requests
// (default 10000).

import { expect, test } from 'vitest';
import { DaPeriph } from '../../../src/cam/periph/da.js';
import { Asc, senseNotReady, senseUnitAttention } from '../../../src/scsi/sense.js';
import { FakeXpt, PATH, hex, type Injection } from './fake-xpt.js';

const OPS = Number(process.env['VTCAM_STRESS_OPS'] ?? 10_000);
const BS = 512;
const BLOCKS = 4096;

test(`${OPS} requests with transient faults`, async () => {
  let seed = 0x2545f491;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const xpt = await FakeXpt.create({ blocks: BLOCKS, record: false });
  const faults: Omit<Injection, 'match' | 'times'>[] = [
    { status: 0x1b },
    { status: 0x05 },
    { status: 0x0c, scsiStatus: 0x08 },
    { status: 0x0c, scsiStatus: 0x28 },
    { status: 0x0b },
    { status: 0x0c, scsiStatus: 0x02, sense: senseUnitAttention(Asc.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED) },
    { status: 0x0c, scsiStatus: 0x02, sense: senseNotReady(Asc.LOGICAL_UNIT_IS_IN_PROCESS_OF_BECOMING_READY) },
  ];
  for (const f of faults) xpt.inject({ ...f, match: () => rand() < 0.01, times: Infinity });
  const da = new DaPeriph(xpt, PATH, { maxIoBytes: 16 * BS, delays: { notReady: 1, busy: 1, queueFull: 0 } });
  const shadow = new Uint8Array(BLOCKS * BS);
  let done = 0;
  let round = 0;
  while (done < OPS) {
    round++;
    // Writes: disjoint ranges, so the order they complete in does not matter.
    const writes: Promise<void>[] = [];
    for (let lba = Math.floor(rand() * 8); lba < BLOCKS && done < OPS; done++) {
      const n = 1 + Math.floor(rand() * 40);
      if (lba + n > BLOCKS) break;
      const data = new Uint8Array(n * BS).fill(round & 0xff);
      for (let i = 0; i < data.length; i += 97) data[i] = (lba + i) & 0xff;
      shadow.set(data, lba * BS);
      writes.push(da.write(BigInt(lba), data));
      lba += n + Math.floor(rand() * 30);
    }
    await Promise.all(writes);
    const reads: Promise<void>[] = [];
    for (let lba = 0; lba < BLOCKS && done < OPS; done++) {
      const n = Math.min(1 + Math.floor(rand() * 64), BLOCKS - lba);
      const want = shadow.slice(lba * BS, (lba + n) * BS);
      const at = lba;
      reads.push(
        da.read(BigInt(lba), n).then((got) => {
          expect(got.length).toBe(want.length);
          // Compared as bytes; on a difference, the first differing block as hex (fast on success).
          if (Buffer.compare(got, want) === 0) return;
          let b = 0;
          while (Buffer.compare(got.subarray(b * BS, (b + 1) * BS), want.subarray(b * BS, (b + 1) * BS)) === 0) b++;
          expect(`block ${at + b}: ${hex(got.subarray(b * BS, (b + 1) * BS))}`).toBe(`block ${at + b}: ${hex(want.subarray(b * BS, (b + 1) * BS))}`);
        }),
      );
      lba += n;
    }
    await Promise.all(reads);
  }
  expect(xpt.completed).toBe(xpt.issued.length);
  expect(xpt.freezes).toBeGreaterThan(0);
  expect(da.outstanding).toBe(0);
  await xpt.settle();
});

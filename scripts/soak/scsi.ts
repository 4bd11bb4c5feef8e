// The SCSI the soak speaks: the CDBs it sends (SBC-4), and what a status and
// its sense data (fixed or descriptor format, SPC-5) say about the command's
// effect on the medium.

/** SCSI status codes (SAM-5). */
const Status = { GOOD: 0x00, CHECK_CONDITION: 0x02, BUSY: 0x08, TASK_SET_FULL: 0x28, TASK_ABORTED: 0x40 } as const;
/** Sense keys (SPC-5). */
const SenseKey = { UNIT_ATTENTION: 0x6, ABORTED_COMMAND: 0xb, MISCOMPARE: 0xe } as const;

/** What a command's answer says about its effect: done, not done, maybe done, or an answer the soak does not accept. */
export type Outcome = 'good' | 'not-done' | 'unknown' | 'miscompare' | 'bad';

/** The sense key, ASC and ASCQ of fixed (70h/71h) or descriptor (72h/73h) sense data. */
export function senseTriple(sense: Buffer): readonly [number, number, number] | undefined {
  if (sense.length < 4) return undefined;
  const code = sense.readUInt8(0) & 0x7f;
  if (code === 0x72 || code === 0x73) return [sense.readUInt8(1) & 0x0f, sense.readUInt8(2), sense.readUInt8(3)];
  if ((code === 0x70 || code === 0x71) && sense.length >= 14) return [sense.readUInt8(2) & 0x0f, sense.readUInt8(12), sense.readUInt8(13)];
  return undefined;
}

const h2 = (n: number): string => `${n.toString(16).padStart(2, '0')}h`;

/** Whether sense data reports a deferred error (RESPONSE CODE 71h or 73h, SPC-5): an earlier command's failure, told now. */
export const isDeferred = (sense: Buffer | undefined): boolean => sense !== undefined && sense.length > 0 && ((sense.readUInt8(0) & 0x7f) === 0x71 || (sense.readUInt8(0) & 0x7f) === 0x73);

/** A status as the soak names it, and what it means for the command's effect. */
export function classify(status: number, sense: Buffer | undefined): { readonly name: string; readonly outcome: Outcome } {
  switch (status) {
    case Status.GOOD: return { name: 'GOOD', outcome: 'good' };
    case Status.BUSY: return { name: 'BUSY', outcome: 'not-done' };
    case Status.TASK_SET_FULL: return { name: 'TASK SET FULL', outcome: 'not-done' };
    case Status.TASK_ABORTED: return { name: 'TASK ABORTED', outcome: 'unknown' };
    case Status.CHECK_CONDITION: {
      const t = sense === undefined ? undefined : senseTriple(sense);
      if (t === undefined) return { name: 'CHECK CONDITION without sense', outcome: 'bad' };
      // Deferred: the sense is about an earlier command, not this one; the driver decides whether it may be.
      if (isDeferred(sense)) return { name: `CHECK CONDITION deferred ${t.map(h2).join('/')}`, outcome: 'bad' };
      const name = `CHECK CONDITION ${t.map(h2).join('/')}`;
      // SAM-5: a command terminated with UNIT ATTENTION was not executed.
      if (t[0] === SenseKey.UNIT_ATTENTION) return { name, outcome: 'not-done' };
      if (t[0] === SenseKey.ABORTED_COMMAND) return { name, outcome: 'unknown' };
      if (t[0] === SenseKey.MISCOMPARE) return { name, outcome: 'miscompare' };
      return { name, outcome: 'bad' };
    }
    default: return { name: `status ${h2(status)}`, outcome: 'bad' };
  }
}

/** READ/WRITE (10) or (16), and WRITE SAME (10) or (16) (SBC-4). */
export function rwCdb(write: boolean, lba: number, blocks: number, long: boolean): Buffer {
  const c = Buffer.alloc(long ? 16 : 10);
  if (long) {
    c.writeUInt8(write ? 0x8a : 0x88, 0); // WRITE (16) / READ (16)
    c.writeBigUInt64BE(BigInt(lba), 2);
    c.writeUInt32BE(blocks, 10);
  } else {
    c.writeUInt8(write ? 0x2a : 0x28, 0); // WRITE (10) / READ (10)
    c.writeUInt32BE(lba, 2);
    c.writeUInt16BE(blocks, 7);
  }
  return c;
}

export function writeSameCdb(lba: number, blocks: number, long: boolean): Buffer {
  const c = Buffer.alloc(long ? 16 : 10);
  if (long) {
    c.writeUInt8(0x93, 0); // WRITE SAME (16)
    c.writeBigUInt64BE(BigInt(lba), 2);
    c.writeUInt32BE(blocks, 10);
  } else {
    c.writeUInt8(0x41, 0); // WRITE SAME (10)
    c.writeUInt32BE(lba, 2);
    c.writeUInt16BE(blocks, 7);
  }
  return c;
}

/** WRITE SAME (10) or (16) with UNMAP (byte 1 bit 3) set: deallocate where the unit can, the data block elsewhere. */
export function writeSameUnmapCdb(lba: number, blocks: number, long: boolean): Buffer {
  const c = writeSameCdb(lba, blocks, long);
  c.writeUInt8(0x08, 1); // UNMAP
  return c;
}

/** UNMAP with its parameter list: an 8-byte header, then a 16-byte block descriptor per range (SBC-4). */
export function unmapCommand(ranges: readonly { readonly lba: number; readonly blocks: number }[]): { readonly cdb: Buffer; readonly parameters: Buffer } {
  const parameters = Buffer.alloc(8 + 16 * ranges.length);
  parameters.writeUInt16BE(parameters.length - 2, 0); // UNMAP DATA LENGTH
  parameters.writeUInt16BE(16 * ranges.length, 2); // UNMAP BLOCK DESCRIPTOR DATA LENGTH
  ranges.forEach((r, i) => {
    parameters.writeBigUInt64BE(BigInt(r.lba), 8 + 16 * i); // UNMAP LOGICAL BLOCK ADDRESS
    parameters.writeUInt32BE(r.blocks, 16 + 16 * i); // NUMBER OF LOGICAL BLOCKS
  });
  const cdb = Buffer.alloc(10);
  cdb.writeUInt8(0x42, 0); // UNMAP
  cdb.writeUInt16BE(parameters.length, 7); // PARAMETER LIST LENGTH
  return { cdb, parameters };
}

/**
 * SYNCHRONIZE CACHE (10) of the whole medium: LBA 0, NUMBER OF LOGICAL BLOCKS 0 (SBC-4). With IMMED (byte 1 bit 1)
 * GOOD comes once the CDB is checked, and a flush that fails later is a deferred error: no durability point.
 */
export const syncCache10Cdb = (immed: boolean): Buffer => Buffer.from([0x35, immed ? 0x02 : 0, 0, 0, 0, 0, 0, 0, 0, 0]);

export function compareAndWriteCdb(lba: number, blocks: number): Buffer {
  const c = Buffer.alloc(16);
  c.writeUInt8(0x89, 0); // COMPARE AND WRITE
  c.writeBigUInt64BE(BigInt(lba), 2);
  c.writeUInt8(blocks, 13); // NUMBER OF LOGICAL BLOCKS
  return c;
}

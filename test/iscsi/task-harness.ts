// ScsiTask without a network, for the task-level tests: a task started on a LUN port, its outputs collected.

import { ScsiTask } from '../../src/iscsi/task.js';
import type { TaskHooks, TaskLimits, TaskOutput } from '../../src/iscsi/task-types.js';
import type { LunPort } from '../../src/iscsi/lun.js';
import type { DataOutHeader, DataOutPdu, ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';

/** Starts a task for `c` on `lun` (512-byte blocks, 1 MiB per command) with `limits`; `out` collects what it sends. */
export function runTask(c: ScsiCommandPdu, lun: LunPort, limits: TaskLimits, hooks: Partial<TaskHooks> = {}): { task: ScsiTask; out: TaskOutput[] } {
  const out: TaskOutput[] = [];
  const task = new ScsiTask(c, { blockSize: 512, maxCommandBytes: 2 ** 20 }, limits, lun, { out: (o) => out.push(o), ...hooks });
  task.start();
  return { task, out };
}

/** The Target Transfer Tag of the R2T at `out[i]`. */
export function tttAt(out: readonly TaskOutput[], i: number): number {
  const r2t = out[i];
  if (r2t?.kind !== 'r2t') throw new Error(`expected an R2T at ${i}, got ${r2t?.kind ?? 'nothing'}`);
  return r2t.ttt;
}

/** A SCSI Command PDU, ITT 7, a WRITE by default (flags W, F), with `o`'s fields. */
export function cmd(o: Partial<ScsiCommandPdu> & { cdb: Uint8Array; expectedDataTransferLength: number }): ScsiCommandPdu {
  return { opcode: 1, immediate: false, itt: 7, final: true, read: false, write: true, attr: 1, lun: 0n, cmdSN: 1, expStatSN: 1, data: new Uint8Array(0), ...o };
}

/** A Data-Out PDU for ITT 7 carrying `bytes` (default one 512-byte block) of DDh. */
export const dataOut = (o: { ttt: number; dataSN: number; bufferOffset: number; final: boolean; bytes?: number }): DataOutPdu => ({
  opcode: 5,
  immediate: false,
  itt: 7,
  lun: 0n,
  expStatSN: 1,
  ttt: o.ttt,
  dataSN: o.dataSN,
  bufferOffset: o.bufferOffset,
  final: o.final,
  data: new Uint8Array(o.bytes ?? 512).fill(0xdd),
});

/** `pdu`'s header as the connection passes it on after discarding its data segment (Session.dataDiscarded). */
export function headerOf(pdu: DataOutPdu): DataOutHeader {
  const { data, ...header } = pdu;
  return { ...header, dataSegmentLength: data.length };
}

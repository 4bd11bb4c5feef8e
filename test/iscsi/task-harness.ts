// ScsiTask without a network, for the task-level tests: a task started on a LUN port, its outputs collected.

import { ScsiTask } from '../../src/iscsi/task.js';
import type { TaskHooks, TaskLimits, TaskOutput } from '../../src/iscsi/task-types.js';
import type { LunPort } from '../../src/iscsi/lun.js';
import type { ScsiCommandPdu } from '../../src/iscsi/pdu-types.js';

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

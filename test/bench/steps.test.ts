// The bench progress line counts a step when it is done. The benchmarks
// announce a step as it starts, and the line used to count it then: its first
// frame said 1/12 before anything was measured, and it showed 100 % 12/12
// while the last point was still being measured.

import { describe, expect, test } from 'vitest';
import { benchScsiSbc, SCSI_SBC_CASES } from '../../bench/scsi-sbc.js';
import { benchSteps } from '../../bench/steps.js';
import { createProgress } from '../../src/cli/progress.js';

/** A terminal that keeps every frame the progress line draws (`\r<line>\x1b[K`), and the summary line. */
function terminal(): { readonly stream: { isTTY: true; columns: number; write(t: string): boolean }; frames(): string[] } {
  let text = '';
  return {
    stream: {
      isTTY: true,
      columns: 1000,
      write: (t: string) => {
        text += t;
        return true;
      },
    },
    // eslint-disable-next-line no-control-regex
    frames: () => text.split('\r').map((f) => f.replace(/\x1b\[K/g, '')).filter((f) => f !== ''),
  };
}

describe('benchSteps', () => {
  test('a step is counted when the next one starts, and the last when the benchmark ends', () => {
    const tty = terminal();
    const steps = benchSteps(createProgress(3, 'bench t', tty.stream));
    steps.onStep('one');
    steps.onStep('two');
    steps.onStep('three');
    const before = tty.frames();
    steps.end();
    expect(before[0]).toMatch(/^bench t {3}0% 0\/3 \d+\.\ds one$/);
    expect(before.at(-1)).toMatch(/^bench t {2}66% 2\/3 \d+\.\ds three$/);
    expect(tty.frames().at(-1)).toMatch(/^bench t: 3\/3 steps in \d+\.\ds\n$/);
  });

  test('scsi-sbc: the line never shows more steps done than were measured', async () => {
    const tty = terminal();
    const steps = benchSteps(createProgress(SCSI_SBC_CASES, 'bench scsi-sbc', tty.stream));
    const started: string[] = [];
    await benchScsiSbc({
      durationMs: 1,
      warmupMs: 0,
      onStep: (msg) => {
        started.push(msg);
        steps.onStep(msg);
      },
    });
    // While the last point was measured: every frame drawn up to the benchmark's return.
    const measuring = tty.frames();
    steps.end();
    expect(started).toHaveLength(SCSI_SBC_CASES);
    expect(measuring[0]).toContain(` 0/${SCSI_SBC_CASES} `);
    expect(measuring[0]).toContain(started[0]);
    expect(measuring.at(-1)).toContain(` ${SCSI_SBC_CASES - 1}/${SCSI_SBC_CASES} `);
    expect(measuring.at(-1)).toContain(started.at(-1));
    expect(tty.frames().at(-1)).toMatch(new RegExp(`^bench scsi-sbc: ${SCSI_SBC_CASES}/${SCSI_SBC_CASES} steps in `));
  });
});

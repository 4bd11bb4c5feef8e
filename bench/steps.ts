// The benchmarks announce each step as it starts (`onStep(msg)` before the
// measuring); the progress line counts steps done (Progress.tick). This puts
// the two together: a step is counted when the next one starts, or when the
// benchmark ends, so the line never shows N/N while the last point is still
// being measured.

import type { Progress } from '../src/cli/progress.js';

export interface BenchSteps {
  /** For the benchmark's onStep: the step `msg` starts, so the one before it is done. */
  readonly onStep: (msg: string) => void;
  /** The benchmark has returned: its last step is done; the progress line's summary is printed. */
  end(): void;
}

export function benchSteps(progress: Progress): BenchSteps {
  let running = false;
  return {
    onStep: (msg) => {
      if (running) progress.tick();
      progress.show(msg);
      running = true;
    },
    end: () => {
      if (running) progress.tick();
      running = false;
      progress.done();
    },
  };
}

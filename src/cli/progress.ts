// Progress line for long CLI work (`vtcam demo`, `npm run bench`). On a terminal it redraws one stderr line
// in place; when stderr is a pipe or file (CI logs) it stays silent until a
// single summary line, so logs are not flooded with carriage returns.

const t0 = process.hrtime.bigint();
const nowNs = (): number => Number(process.hrtime.bigint() - t0);

/** The part of a stream the progress line uses; process.stderr satisfies it. */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  write(chunk: string): unknown;
}

/** Handle returned by {@link createProgress}. */
export interface Progress {
  /** One more step is done; `msg` names the current step and stays shown until replaced. */
  tick(msg?: string): void;
  /** Names the step now under way without counting one done (for work that announces a step as it starts). */
  show(msg: string): void;
  /** Clears the line and prints `label: n/total steps in 12.3s`. Later calls do nothing. */
  done(): void;
}

const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });
const ERASE_LINE = '\x1b[K'; // CSI K: erase from cursor to end of line
const REDRAW_NS = 50e6; // at most 20 redraws a second, except for a new msg or the last step

/**
 * Progress over `total` steps, drawn on `stream` (stderr by default) as
 * `\r<label> 43% 3/7 12.3s <msg>` only when the stream is a TTY.
 */
export function createProgress(total: number, label: string, stream: ProgressStream = process.stderr): Progress {
  if (!Number.isInteger(total) || total < 0) {
    throw new RangeError(`total must be an integer >= 0, got ${total}`);
  }
  const tty = stream.isTTY === true;
  const start = nowNs();
  let count = 0;
  let current = '';
  let lastDraw = -Infinity;
  let finished = false;

  const draw = (now: number): void => {
    lastDraw = now;
    const pct = total === 0 ? 100 : Math.min(100, Math.floor((count / total) * 100));
    let line = `${label} ${String(pct).padStart(3)}% ${count}/${total} ${formatElapsed(now - start)}`;
    if (current !== '') line += ` ${current}`;
    // A line that wraps cannot be redrawn with \r, so cut it to the terminal.
    const cols = stream.columns ?? 0;
    if (cols > 1) line = Array.from(GRAPHEMES.segment(line), (g) => g.segment).slice(0, cols - 1).join('');
    stream.write(`\r${line}${ERASE_LINE}`);
  };

  /** Takes `msg` (undefined keeps the current one) and redraws when it changed, at the last step, or every REDRAW_NS. */
  const update = (msg: string | undefined): void => {
    const next = msg === undefined ? current : msg.replace(/\p{Cc}/gu, ' ');
    const changed = next !== current;
    current = next;
    if (!tty) return;
    const now = nowNs();
    if (changed || count >= total || now - lastDraw >= REDRAW_NS) draw(now);
  };

  return {
    tick(msg?: string): void {
      if (finished) return;
      count++;
      update(msg);
    },
    show(msg: string): void {
      if (finished) return;
      update(msg);
    },
    done(): void {
      if (finished) return;
      finished = true;
      if (tty) stream.write(`\r${ERASE_LINE}`);
      stream.write(`${label}: ${count}/${total} steps in ${formatElapsed(nowNs() - start)}\n`);
    },
  };
}

/** `12.3s` below a minute, `2m05s` from there on. */
function formatElapsed(ns: number): string {
  const s = ns / 1e9;
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.floor(s);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

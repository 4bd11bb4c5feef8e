// One 'abort' listener per AbortSignal, however many commands wait on it. A
// signal shared by many concurrent commands (one controller to cancel them
// all) would otherwise carry a listener per command, and Node warns past ten
// (MaxListenersExceededWarning) although nothing leaks. The listener goes
// when its last command is done, or with the abort.

interface Waiting {
  readonly listener: () => void;
  readonly aborts: Set<() => void>;
}

const bySignal = new WeakMap<AbortSignal, Waiting>();

/** Calls `abort` when `signal` aborts, until the returned function is called (the command is done). */
export function whenAborted(signal: AbortSignal, abort: () => void): () => void {
  let w = bySignal.get(signal);
  if (w === undefined) {
    const aborts = new Set<() => void>();
    const listener = (): void => {
      bySignal.delete(signal);
      for (const f of aborts) f();
    };
    w = { listener, aborts };
    bySignal.set(signal, w);
    signal.addEventListener('abort', listener, { once: true });
  }
  const waiting = w;
  waiting.aborts.add(abort);
  return () => {
    if (!waiting.aborts.delete(abort) || waiting.aborts.size > 0 || bySignal.get(signal) !== waiting) return;
    bySignal.delete(signal);
    signal.removeEventListener('abort', waiting.listener);
  };
}

// A promise together with the function that settles it, for a wait that is
// made only when someone waits: a task makes one for ScsiTask.done and for
// ScsiTask.hold (task.ts), and most tasks end with nobody waiting. Its own
// module: a general helper, not part of any protocol.

const ignore = (): void => undefined;

/** A promise and its resolve. */
export interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

/** A pending promise and the function that resolves it. */
export function deferred(): Deferred {
  let resolve: () => void = ignore;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

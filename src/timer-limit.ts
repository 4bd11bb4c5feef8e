// The longest delay a Node timer keeps (setTimeout, setInterval): 2^31 − 1 ms.
// Past it Node fires after 1 ms instead, with a warning, so every option that
// becomes a timer is bounded by it where it is checked, in every layer.

/** The longest delay, in milliseconds, a Node timer waits as asked. */
export const MAX_TIMER_MS = 0x7fff_ffff;

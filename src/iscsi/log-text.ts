// Text a peer sent, as a log line may carry it: every control character (C0,
// DEL, C1) and the Unicode line and paragraph separators written as \uXXXX,
// so what an initiator declares (a name, a key, a value) can never end the
// line it is quoted in and start one of its own in the target's log.

/** `text` with its control characters and line separators escaped (\uXXXX); everything else as it is. */
export function logText(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
    out += control ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}

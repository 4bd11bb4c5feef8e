// logText: peer text quoted in a log line can end no line of its own (C0, DEL,
// C1 and the Unicode line and paragraph separators written as \uXXXX).

import { describe, expect, it } from 'vitest';
import { logText } from '../../src/iscsi/log-text.js';

describe('logText', () => {
  it.each([
    ['a\nb', 'a\\u000ab'],
    ['a\rb', 'a\\u000db'],
    ['\u0000\u001f', '\\u0000\\u001f'],
    ['x\u007fy', 'x\\u007fy'],
    ['\u0085\u009f', '\\u0085\\u009f'],
    ['l\u2028p\u2029', 'l\\u2028p\\u2029'],
  ])('escapes control characters and line separators in %j', (text, want) => {
    expect(logText(text)).toBe(want);
  });

  it('keeps everything else as it is, non-ASCII letters and astral characters included', () => {
    const text = 'iqn.2026-11.org.example:disk ü 日本 😀 \u00a0 \u2027';
    expect(logText(text)).toBe(text);
  });
});

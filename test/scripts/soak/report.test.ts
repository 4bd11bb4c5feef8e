// How a soak run shows its findings: the first 50 printed as they happen, then
// one line saying more are not printed, then nothing, while the tally keeps
// every one and the summary lists its first 50. Before, each finding was
// printed as it happened without a cap (a planted fault printed ~112 000 lines).

import { describe, expect, test } from 'vitest';
import { LIVE_FINDINGS, Tally, findingRecorder, summaryText } from '../../../scripts/soak/report.js';

/** A sink that keeps what is written. */
function sink(isTTY: boolean): { isTTY: boolean; text: string; write(t: string): void } {
  return { isTTY, text: '', write(t) { this.text += t; } };
}

describe('findingRecorder', () => {
  test('200 findings: the first 50 printed, one line for the rest, all 200 in the tally', () => {
    const tally = new Tally();
    const out = sink(false);
    const finding = findingRecorder(tally, out, 9);
    for (let i = 1; i <= 200; i++) finding('data', `LBA ${i} holds zeros`);
    const lines = out.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(LIVE_FINDINGS).toBe(50);
    expect(lines).toHaveLength(51);
    expect(lines[0]).toBe('FINDING [data] seed 9: LBA 1 holds zeros');
    expect(lines[49]).toBe('FINDING [data] seed 9: LBA 50 holds zeros');
    expect(lines[50]).toBe('soak: ... more findings not printed (51 so far); the progress line and the summary count them all');
    expect(tally.findings).toHaveLength(200);
    expect(tally.findings[199]).toEqual({ kind: 'data', text: 'LBA 200 holds zeros' });
  });

  test('up to the limit nothing is held back; on a terminal each line first erases the progress line', () => {
    const tally = new Tally();
    const out = sink(true);
    const finding = findingRecorder(tally, out, 1, 2);
    finding('serve', 'a');
    finding('hang', 'b');
    expect(out.text).toBe('\r\x1b[KFINDING [serve] seed 1: a\n\r\x1b[KFINDING [hang] seed 1: b\n');
    finding('tmf', 'c');
    finding('tmf', 'd');
    expect(out.text.split('\n').slice(2)).toEqual(['\r\x1b[Ksoak: ... more findings not printed (3 so far); the progress line and the summary count them all', '']);
  });
});

test('summaryText still lists the first 50 findings and counts the rest', () => {
  const tally = new Tally();
  const finding = findingRecorder(tally, sink(false), 9);
  for (let i = 1; i <= 200; i++) finding('data', `LBA ${i}`);
  const lines = summaryText(tally, 9, 'npm run soak -- --seed 9').split('\n');
  expect(lines).toContain('  findings:   200');
  expect(lines.filter((l) => l.startsWith('  FINDING [data] '))).toHaveLength(50);
  expect(lines).toContain('  FINDING [data] LBA 50');
  expect(lines).not.toContain('  FINDING [data] LBA 51');
  expect(lines).toContain('  ... and 150 more');
});

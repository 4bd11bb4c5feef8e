import { describe, expect, it } from 'vitest';
import { computeRatios, type BenchRow } from '../../bench/report.js';
import { formatWorkerSummary, linkBaselines, orderRows, type Unavailable } from '../../bench/worker.js';

const FIO = 'fio io_uring';

function row(group: string, name: string, qd: number, opsPerSec: number): BenchRow {
  return { group, name, params: { qd }, opsPerSec };
}

function gone(group: string, name: string, qd: number): BenchRow {
  return { group, name, params: { qd, status: 'unavailable' }, opsPerSec: NaN };
}

describe('linkBaselines', () => {
  const rows = [
    row('file randread', FIO, 32, 400_000),
    row('file randread', 'local', 32, 100_000),
    row('file randread', 'worker 2q', 32, 300_000),
    row('file randread', 'local', 1, 10_000),
    row('file randread', 'worker 2q', 1, 20_000),
    gone('file randread', FIO, 1),
    row('memory randread', 'local', 32, 200_000),
    row('memory randread', 'worker 4q', 32, 100_000),
    gone('memory randread', 'worker 1q', 32),
  ];

  it('compares worker rows with local, and file vtcam rows with fio, at the same group and depth', () => {
    const linked = computeRatios(linkBaselines(rows, FIO));
    const at = (group: string, name: string, qd: number): BenchRow | undefined =>
      linked.find((r) => r.group === group && r.name === name && r.params['qd'] === qd);
    expect(at('file randread', 'worker 2q', 32)).toMatchObject({ baseline: 'local', ratio: 3, floorBaseline: FIO, floorRatio: 0.75 });
    expect(at('file randread', 'local', 32)).toMatchObject({ floorBaseline: FIO, floorRatio: 0.25 });
    expect(at('file randread', 'local', 32)?.baseline).toBeUndefined();
    expect(at('memory randread', 'worker 4q', 32)).toMatchObject({ baseline: 'local', ratio: 0.5 });
    expect(at('memory randread', 'worker 4q', 32)?.floorBaseline).toBeUndefined();
    expect(at('file randread', FIO, 32)?.baseline).toBeUndefined();
  });

  it('names no baseline that has no figure, and gives unmeasured rows none', () => {
    const linked = linkBaselines(rows, FIO);
    const qd1 = linked.find((r) => r.name === 'worker 2q' && r.params['qd'] === 1);
    expect(qd1).toMatchObject({ baseline: 'local' });
    expect(qd1?.floorBaseline).toBeUndefined();
    const skipped = linked.find((r) => r.name === 'worker 1q');
    expect(skipped?.baseline).toBeUndefined();
    expect(() => computeRatios(linked)).not.toThrow();
  });

  it('names no fio baseline when fio did not run', () => {
    expect(linkBaselines(rows, undefined).some((r) => r.floorBaseline !== undefined)).toBe(false);
  });

  it('leaves its input alone', () => {
    const before = JSON.stringify(rows);
    linkBaselines(rows, FIO);
    expect(JSON.stringify(rows)).toBe(before);
  });
});

describe('orderRows', () => {
  it('orders by group list, then depth, then name list, unknown names last', () => {
    const rows = [
      row('file randread', 'worker 1q', 32, 1),
      row('file randread', 'other', 1, 1),
      row('file randread', 'local', 1, 1),
      row('memory randread', 'local', 32, 1),
      row('file randread', FIO, 1, 1),
    ];
    const ordered = orderRows(rows, ['memory randread', 'file randread'], [FIO, 'local', 'worker 1q']);
    expect(ordered.map((r) => `${r.group}/${r.name}/${String(r.params['qd'])}`)).toEqual([
      'memory randread/local/32',
      `file randread/${FIO}/1`,
      'file randread/local/1',
      'file randread/other/1',
      'file randread/worker 1q/32',
    ]);
  });
});

describe('formatWorkerSummary', () => {
  it('states what ran, each reason once with its rows, and each goal at QD 32', () => {
    const rows = computeRatios(linkBaselines([
      row('memory randread', 'local', 32, 100),
      row('memory randread', 'worker 1q', 32, 500),
      row('memory randread', 'worker 2q', 32, 90),
      row('memory randread', 'worker 4q', 32, 80),
      row('file randread', FIO, 32, 100),
      row('file randread', 'local', 32, 50),
      row('file randread', 'worker 2q', 32, 150),
      gone('file randread', 'worker 4q', 32),
      gone('file randwrite', FIO, 32),
      row('file randwrite', 'local', 32, 50),
    ], FIO));
    const unavailable: Unavailable[] = [
      { group: 'file randread', name: 'worker 4q', qd: 32, reason: 'queues 4: the device offers 2' },
      { group: 'file randwrite', name: FIO, qd: 32, reason: 'fio died' },
      { group: 'file randwrite', name: FIO, qd: 1, reason: 'fio died' },
    ];
    const text = formatWorkerSummary(rows, unavailable, { memoryBackend: 'SharedMemoryBackend', fio: 'io_uring', imageBytes: 1 });
    expect(text.split('\n')).toEqual([
      'memoryBackend: SharedMemoryBackend',
      'fio: io_uring',
      'ratio: × local at the same backend, pattern and depth; vs floor: × buffered fio at the same pattern and depth',
      'unavailable (file worker 4q): queues 4: the device offers 2',
      `unavailable (file ${FIO}): fio died`,
      // worker 1q is faster but is not multiqueue.
      'goal worker+MQ > local at qd=32, memory randread: NOT met (best worker 2q, 0.90×)',
      'goal worker+MQ > local at qd=32, file randread: met (best worker 2q, 3.00×)',
      'goal file >= 0.7× fio at qd=32, file randread: met (best worker 2q, 1.50×)',
      'goal worker+MQ > local at qd=32, file randwrite: not measured',
      'goal file >= 0.7× fio at qd=32, file randwrite: not measured',
      '',
    ]);
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  computeRatios,
  formatNumber,
  formatTable,
  renderSvgChart,
  writeReport,
  type BenchRow,
} from '../../bench/report.js';

const rows: BenchRow[] = [
  { group: 'read', name: 'memcpy', params: { bs: 4096 }, opsPerSec: 2_500_000 },
  {
    group: 'read',
    name: 'vtcam',
    params: { bs: 4096, qd: 32 },
    opsPerSec: 1_050_000.4,
    p50Us: 12.25,
    p99Us: 1234.5,
    baseline: 'memcpy',
    ratio: 0.42,
  },
  { group: 'flush', name: 'sync-cache', params: {}, opsPerSec: 12.5, p50Us: 80_000, p99Us: 95_000.126 },
];

describe('formatNumber', () => {
  it('groups thousands and keeps the sign', () => {
    expect(formatNumber(0, 0)).toBe('0');
    expect(formatNumber(999, 0)).toBe('999');
    expect(formatNumber(1000, 0)).toBe('1,000');
    expect(formatNumber(1_234_567.8, 0)).toBe('1,234,568');
    expect(formatNumber(1_234_567.8, 2)).toBe('1,234,567.80');
    expect(formatNumber(-1234.5, 1)).toBe('-1,234.5');
    expect(formatNumber(-0.001, 2)).toBe('0.00');
    expect(formatNumber(NaN, 2)).toBe('NaN');
  });
});

describe('formatTable', () => {
  it('aligns fixed rows: text left, numbers right, - for missing values', () => {
    expect(formatTable(rows)).toBe(
      [
        'group  name        params             ops/s     p50 µs     p99 µs  ratio',
        '-----  ----------  -------------  ---------  ---------  ---------  -----',
        'read   memcpy      bs=4096        2,500,000          -          -      -',
        'read   vtcam       bs=4096 qd=32  1,050,000      12.25   1,234.50  0.42×',
        'flush  sync-cache                     12.50  80,000.00  95,000.13      -',
        '',
      ].join('\n'),
    );
  });

  it('every line has the same width, so right-aligned columns line up', () => {
    const lines = formatTable(rows).trimEnd().split('\n');
    const widths = new Set(lines.map((l) => l.length)); // µ and × are single UTF-16 units
    expect(widths.size).toBe(1);
  });

  it('keeps a multi-line label on one line', () => {
    const out = formatTable([{ group: 'g', name: 'a\nb\tc', params: {}, opsPerSec: 1 }]);
    expect(out.split('\n')).toHaveLength(4); // header, rule, row, trailing ''
    expect(out).toContain('a b c');
  });

  it('an empty table is a header and a rule', () => {
    expect(formatTable([]).split('\n')).toHaveLength(3);
  });
});

describe('computeRatios', () => {
  it('divides by the baseline of the same group and leaves the input alone', () => {
    const input = structuredClone(rows);
    delete input[1]?.ratio;
    const out = computeRatios(input);
    expect(out[1]?.ratio).toBe(1_050_000.4 / 2_500_000);
    expect(out[0]?.ratio).toBeUndefined();
    expect(out[2]).toEqual(input[2]);
    expect(input[1]?.ratio).toBeUndefined(); // copies, not mutation
  });

  it('a floor baseline gives a second ratio and a "vs floor" column', () => {
    const input: BenchRow[] = [
      { group: 'g', name: 'copy', params: {}, opsPerSec: 1000 },
      { group: 'g', name: 'virtio', params: {}, opsPerSec: 400 },
      { group: 'g', name: 'da', params: {}, opsPerSec: 200, baseline: 'virtio', floorBaseline: 'copy' },
    ];
    const out = computeRatios(input);
    expect(out[2]).toMatchObject({ ratio: 0.5, floorRatio: 0.2 });
    expect(out[1]?.floorRatio).toBeUndefined();
    const table = formatTable(out).split('\n');
    expect(table[0]).toMatch(/ratio {2}vs floor$/);
    expect(table[4]).toMatch(/ 0\.50× +0\.20×$/);
    expect(formatTable(out.slice(0, 2))).not.toMatch(/vs floor/);
    expect(() => computeRatios([{ group: 'g', name: 'x', params: {}, opsPerSec: 1, floorBaseline: 'nope' }])).toThrow(/baseline "nope"/);
  });

  it('prefers the group, falls back to all rows', () => {
    const out = computeRatios([
      { group: 'read', name: 'memcpy', params: {}, opsPerSec: 100 },
      { group: 'write', name: 'memcpy', params: {}, opsPerSec: 50 },
      { group: 'write', name: 'vtcam', params: {}, opsPerSec: 25, baseline: 'memcpy' },
      { group: 'trim', name: 'base', params: {}, opsPerSec: 10 },
      { group: 'unmap', name: 'vtcam', params: {}, opsPerSec: 5, baseline: 'base' },
    ]);
    expect(out.map((r) => r.ratio)).toEqual([undefined, undefined, 0.5, undefined, 0.5]);
  });

  it('picks the same-params row when several share the baseline name', () => {
    const out = computeRatios([
      { group: 'read', name: 'raw', params: { qd: 1 }, opsPerSec: 10 },
      { group: 'read', name: 'raw', params: { qd: 32 }, opsPerSec: 200 },
      { group: 'read', name: 'vtcam', params: { qd: 1 }, opsPerSec: 5, baseline: 'raw' },
      { group: 'read', name: 'vtcam', params: { qd: 32 }, opsPerSec: 50, baseline: 'raw' },
    ]);
    expect(out.map((r) => r.ratio)).toEqual([undefined, undefined, 0.5, 0.25]);
  });

  it('throws a clear error for a missing baseline', () => {
    const bad: BenchRow[] = [
      { group: 'read', name: 'memcpy', params: {}, opsPerSec: 1 },
      { group: 'read', name: 'vtcam', params: { qd: 4 }, opsPerSec: 1, baseline: 'nope' },
    ];
    expect(() => computeRatios(bad)).toThrow('baseline "nope" of row read/vtcam (qd=4) not found (row names: memcpy, vtcam)');
  });

  it('throws for an ambiguous or non-positive baseline', () => {
    expect(() =>
      computeRatios([
        { group: 'g', name: 'raw', params: { qd: 1 }, opsPerSec: 1 },
        { group: 'g', name: 'raw', params: { qd: 2 }, opsPerSec: 1 },
        { group: 'g', name: 'x', params: { qd: 3 }, opsPerSec: 1, baseline: 'raw' },
      ]),
    ).toThrow(/ambiguous/);
    expect(() =>
      computeRatios([
        { group: 'g', name: 'raw', params: {}, opsPerSec: 0 },
        { group: 'g', name: 'x', params: {}, opsPerSec: 1, baseline: 'raw' },
      ]),
    ).toThrow(RangeError);
  });
});

/**
 * Tiny well-formedness check: tags nest and close, attribute values are
 * quoted, and `&` only starts an entity. Returns the element names in order.
 */
function checkXml(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi;
  let pos = 0;
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const text = xml.slice(pos, m.index);
    expect(text.replace(entity, '')).not.toMatch(/[<>&]/);
    expect((m[3] ?? '').replace(entity, '')).not.toMatch(/&/);
    pos = m.index + m[0].length;
    const [, close, name = '', , selfClose] = m;
    if (close === '/') {
      expect(stack.pop()).toBe(name);
    } else {
      names.push(name);
      if (selfClose !== '/') stack.push(name);
    }
  }
  expect(xml.slice(pos).trim()).toBe('');
  expect(stack).toEqual([]);
  return names;
}

describe('renderSvgChart', () => {
  const nasty: BenchRow[] = [
    ...rows,
    { group: 'a<b>&c', name: 'x<y>&"z"', params: { k: "v'<&>" }, opsPerSec: 3.5, baseline: 'memcpy' },
  ];

  for (const metric of ['opsPerSec', 'ratio'] as const) {
    it(`${metric}: a well-formed standalone SVG with one <rect> per row`, () => {
      const svg = renderSvgChart(nasty, { title: 'Read <4k> & "more"', metric });
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
      const names = checkXml(svg);
      expect(names[0]).toBe('svg');
      expect(names.filter((n) => n === 'rect')).toHaveLength(nasty.length);
      expect(svg.match(/<rect/g)).toHaveLength(nasty.length);
      expect(svg).toContain('Read &lt;4k&gt; &amp; &quot;more&quot;');
      expect(svg).toContain('x&lt;y&gt;&amp;&quot;z&quot; (k=v&apos;&lt;&amp;&gt;)');
      expect(svg).toContain('>a&lt;b&gt;&amp;c</text>'); // group heading
      expect(svg).not.toContain('x<y');
      expect(svg).not.toMatch(/<script|href=|@import|url\(/);
      expect(svg).toContain('width="900"');
    });
  }

  it('labels bars with name + params and values, and groups in order of first appearance', () => {
    const svg = renderSvgChart(rows, { title: 't', metric: 'opsPerSec' });
    expect(svg).toContain('>vtcam (bs=4096 qd=32)</text>');
    expect(svg).toContain('>sync-cache</text>');
    expect(svg).toContain('>1,050,000</text>');
    expect(svg.indexOf('>read</text>')).toBeLessThan(svg.indexOf('>flush</text>'));
    expect(svg).toContain('>0</text>'); // first tick of the x-axis
  });

  it('ratio: missing ratios draw an empty bar labelled -, and 1× is on the axis', () => {
    const svg = renderSvgChart(rows, { title: 't', metric: 'ratio' });
    expect(svg).toContain('>0.42×</text>');
    expect(svg).toContain('>1×</text>');
    expect(svg.match(/width="0"/g)).toHaveLength(2);
  });

  it('height grows with the number of rows; no rows is still a valid chart', () => {
    const height = (svg: string): number => Number(/height="([\d.]+)"/.exec(svg)?.[1]);
    const many = Array.from({ length: 20 }, (_, i): BenchRow => ({ group: 'g', name: `r${i}`, params: {}, opsPerSec: i }));
    const h2 = height(renderSvgChart(many.slice(0, 2), { title: 't', metric: 'opsPerSec' }));
    const h20 = height(renderSvgChart(many, { title: 't', metric: 'opsPerSec' }));
    expect(h20 - h2).toBe(18 * 22);
    const empty = renderSvgChart([], { title: 'empty', metric: 'opsPerSec' });
    expect(checkXml(empty)).not.toContain('rect');
  });
});

describe('writeReport', () => {
  let tmp: string | undefined;
  afterEach(async () => {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('writes the JSON, table and SVG files and returns their paths', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'vtcam-report-'));
    const dir = join(tmp, 'nested', 'out');
    const paths = await writeReport(dir, 'read-4k', { meta: { scenario: 'qd sweep', seed: 7n }, rows });
    expect(paths).toEqual({
      json: join(dir, 'read-4k.json'),
      table: join(dir, 'read-4k.txt'),
      svg: join(dir, 'read-4k.svg'),
    });
    const json = JSON.parse(await readFile(paths.json, 'utf8')) as { meta: Record<string, unknown>; rows: unknown };
    expect(json.meta['node']).toBe(process.version);
    expect(typeof json.meta['cpu']).toBe('string');
    expect(Number.isNaN(Date.parse(String(json.meta['date'])))).toBe(false);
    expect(json.meta['scenario']).toBe('qd sweep');
    expect(json.meta['seed']).toBe('7');
    expect(json.rows).toEqual(rows);
    expect(await readFile(paths.table, 'utf8')).toBe(formatTable(rows));
    expect(await readFile(paths.svg, 'utf8')).toBe(renderSvgChart(rows, { title: 'read-4k', metric: 'opsPerSec' }));
  });

  it('rejects a name that is not a plain file name', async () => {
    for (const name of ['', '..', 'a/b', 'a\\b']) {
      await expect(writeReport(tmpdir(), name, { meta: {}, rows })).rejects.toThrow(RangeError);
    }
  });
});

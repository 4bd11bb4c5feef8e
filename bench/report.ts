// Benchmark reports: an aligned text table for the terminal, a self-contained
// SVG bar chart, and the JSON/TXT/SVG files `npm run bench` leaves behind.
//
// Everything here is a pure function of its rows except writeReport, so the
// same rows always render to the same bytes.

import { mkdir, writeFile } from 'node:fs/promises';
import { arch, cpus, platform } from 'node:os';
import { basename, join } from 'node:path';

/** One measured configuration. */
export interface BenchRow {
  group: string;
  name: string;
  params: Record<string, string | number>;
  opsPerSec: number;
  p50Us?: number;
  p99Us?: number;
  /** Name of the row this one is compared against (see {@link computeRatios}). */
  baseline?: string;
  /**
   * opsPerSec / baseline's opsPerSec, filled by {@link computeRatios}; or set
   * by the benchmark when it measured the two in interleaved rounds (the
   * median of per-round ratios, bench/rounds.ts), which computeRatios keeps.
   */
  ratio?: number;
  /** A second row to compare with, the floor under every layer (e.g. a bare memory copy). */
  floorBaseline?: string;
  /** opsPerSec / floorBaseline's opsPerSec, filled by {@link computeRatios}. */
  floorRatio?: number;
}

// ---------------------------------------------------------------------------
// Number and label formatting

/** `x` with `digits` decimals and `,` between thousands; locale-independent. */
export function formatNumber(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 1e21) return x.toExponential(3); // toFixed switches to exponent form here too
  const fixed = Math.abs(x).toFixed(digits);
  const dot = fixed.indexOf('.');
  const int = dot === -1 ? fixed : fixed.slice(0, dot);
  const frac = dot === -1 ? '' : fixed.slice(dot);
  const sign = x < 0 && /[1-9]/.test(fixed) ? '-' : '';
  return sign + int.replace(/\B(?=(\d{3})+$)/g, ',') + frac;
}

/** Throughput: whole numbers with separators; two decimals below 100 ops/s. */
function formatOps(x: number): string {
  return formatNumber(x, Math.abs(x) >= 100 ? 0 : 2);
}

function formatRatio(x: number): string {
  return `${formatNumber(x, 2)}×`;
}

/** `k=v` pairs in insertion order, space-separated. */
export function formatParams(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** A label on one line: control characters (tabs, newlines) become spaces. */
function oneLine(s: string): string {
  return s.replace(/\p{Cc}/gu, ' ');
}

const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** User-perceived characters of `s` (a base letter plus combining marks is one). */
function graphemes(s: string): string[] {
  return Array.from(GRAPHEMES.segment(s), (g) => g.segment);
}

/** Terminal width of `s` in columns, assuming one column per grapheme (µ and × are one). */
function width(s: string): number {
  return graphemes(s).length;
}

// ---------------------------------------------------------------------------
// Text table

interface Column {
  title: string;
  right: boolean;
  cell: (r: BenchRow) => string;
}

const MISSING = '-';

const COLUMNS: readonly Column[] = [
  { title: 'group', right: false, cell: (r) => oneLine(r.group) },
  { title: 'name', right: false, cell: (r) => oneLine(r.name) },
  { title: 'params', right: false, cell: (r) => oneLine(formatParams(r.params)) },
  { title: 'ops/s', right: true, cell: (r) => formatOps(r.opsPerSec) },
  { title: 'p50 µs', right: true, cell: (r) => (r.p50Us === undefined ? MISSING : formatNumber(r.p50Us, 2)) },
  { title: 'p99 µs', right: true, cell: (r) => (r.p99Us === undefined ? MISSING : formatNumber(r.p99Us, 2)) },
  { title: 'ratio', right: true, cell: (r) => (r.ratio === undefined ? MISSING : formatRatio(r.ratio)) },
];

/** Shown only when some row has a floor ratio. */
const FLOOR_COLUMN: Column = { title: 'vs floor', right: true, cell: (r) => (r.floorRatio === undefined ? MISSING : formatRatio(r.floorRatio)) };

/**
 * Plain-text table, one line per row after a header and a rule: text columns
 * left-aligned, numbers right-aligned, two spaces between columns, `-` for
 * values a row does not have. Ends with a newline.
 */
export function formatTable(rows: readonly BenchRow[]): string {
  const columns = rows.some((r) => r.floorRatio !== undefined) ? [...COLUMNS, FLOOR_COLUMN] : COLUMNS;
  const cells = [columns.map((c) => c.title), ...rows.map((r) => columns.map((c) => c.cell(r)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => width(line[i] ?? ''))));
  const pad = (s: string, i: number): string => {
    const fill = ' '.repeat((widths[i] ?? 0) - width(s));
    return columns[i]?.right === true ? fill + s : s + fill;
  };
  const render = (line: readonly string[]): string => line.map(pad).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const [header, ...body] = cells.map(render);
  return [header, rule, ...body].join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Ratios

/**
 * Returns copies of `rows` with `ratio = opsPerSec / baseline.opsPerSec` for
 * every row that names a `baseline`; other rows are copied unchanged.
 *
 * The baseline is looked up by `name` in the row's own group first and, only
 * if the group has none, among all rows. When several rows share that name
 * (the same code at several queue depths, say), the one whose params equal
 * the row's params is chosen. A missing, ambiguous or non-positive baseline
 * throws: a ratio against the wrong row is worse than none.
 */
export function computeRatios(rows: readonly BenchRow[]): BenchRow[] {
  const ratioTo = (row: BenchRow, name: string): number => {
    const base = findBaseline(rows, row, name);
    if (!(Number.isFinite(base.opsPerSec) && base.opsPerSec > 0)) {
      throw new RangeError(`baseline "${name}" of ${describeRow(row)} has opsPerSec ${base.opsPerSec}; a ratio needs a positive rate`);
    }
    return row.opsPerSec / base.opsPerSec;
  };
  return rows.map((row) => {
    const out: BenchRow = { ...row };
    if (row.baseline !== undefined && row.ratio === undefined) out.ratio = ratioTo(row, row.baseline);
    if (row.floorBaseline !== undefined) out.floorRatio = ratioTo(row, row.floorBaseline);
    return out;
  });
}

function findBaseline(rows: readonly BenchRow[], row: BenchRow, name: string): BenchRow {
  const named = rows.filter((r) => r.name === name);
  const inGroup = named.filter((r) => r.group === row.group);
  const candidates = inGroup.length > 0 ? inGroup : named;
  if (candidates.length === 0) {
    const known = [...new Set(rows.map((r) => r.name))].join(', ');
    throw new Error(`baseline "${name}" of ${describeRow(row)} not found (row names: ${known})`);
  }
  if (candidates.length === 1) return candidates[0] as BenchRow;
  const key = formatParams(row.params);
  const sameParams = candidates.filter((r) => formatParams(r.params) === key);
  if (sameParams.length === 1) return sameParams[0] as BenchRow;
  throw new Error(
    `baseline "${name}" of ${describeRow(row)} is ambiguous: ${candidates.length} rows have that name ` +
      `and ${sameParams.length} of them have params "${key}"`,
  );
}

function describeRow(r: BenchRow): string {
  const params = formatParams(r.params);
  return `row ${r.group}/${r.name}${params === '' ? '' : ` (${params})`}`;
}

// ---------------------------------------------------------------------------
// SVG chart

/** Options of {@link renderSvgChart}. */
export interface SvgChartOptions {
  title: string;
  metric: 'opsPerSec' | 'ratio';
}

const SVG_W = 900;
const PAD = 16;
const TITLE_H = 40;
const GROUP_H = 26;
const ROW_H = 22;
const BAR_H = 14;
const AXIS_H = 44;
const CHAR_W = 6.6; // average advance of 12 px sans-serif, for layout estimates
const LABEL_W_MIN = 120;
const LABEL_W_MAX = 340;
const VALUE_W = 90; // room right of the longest bar for its value label
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'] as const;

/** `s` safe in XML text and in double- or single-quoted attributes. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ENTITIES[c as keyof typeof XML_ENTITIES]);
}
const XML_ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' } as const;

/** Coordinates to 0.1 px: enough for a screen, stable across platforms. */
function px(x: number): string {
  return String(Math.round(x * 10) / 10);
}

function truncate(s: string, maxChars: number): string {
  const gs = graphemes(s);
  return gs.length <= maxChars ? s : gs.slice(0, Math.max(1, maxChars - 1)).join('') + '…';
}

/** A tick step of 1, 2 or 5 × 10^k giving about five intervals up to `max`. */
function tickStep(max: number): number {
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

/** Axis label: 3 significant digits with k/M/G suffixes. */
function formatCompact(x: number): string {
  const units = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const;
  for (const [scale, suffix] of units) {
    if (Math.abs(x) >= scale) return `${Number((x / scale).toPrecision(3))}${suffix}`;
  }
  return String(Number(x.toPrecision(3)));
}

function rowLabel(r: BenchRow): string {
  const params = formatParams(r.params);
  return oneLine(params === '' ? r.name : `${r.name} (${params})`);
}

/**
 * Horizontal bar chart as a standalone SVG document (no external fonts,
 * styles or scripts). Rows are grouped by `group` in order of first
 * appearance, each group under a heading; every row gets exactly one
 * `<rect>`, labelled with name and params on the left and its value at the
 * bar's end. A row without a usable value (no ratio, NaN) gets a zero-width
 * bar labelled `-`. For `ratio` the axis always reaches 1× and a dashed line
 * marks parity with the baseline.
 */
export function renderSvgChart(rows: readonly BenchRow[], opts: SvgChartOptions): string {
  const value = (r: BenchRow): number | undefined => {
    const v = opts.metric === 'ratio' ? r.ratio : r.opsPerSec;
    return v !== undefined && Number.isFinite(v) && v >= 0 ? v : undefined;
  };
  const format = (v: number): string => (opts.metric === 'ratio' ? formatRatio(v) : formatOps(v));
  const formatTick = (v: number): string => (opts.metric === 'ratio' ? `${formatCompact(v)}×` : formatCompact(v));

  const groups = new Map<string, BenchRow[]>();
  for (const r of rows) {
    const g = groups.get(r.group);
    if (g === undefined) groups.set(r.group, [r]);
    else g.push(r);
  }

  const labels = rows.map(rowLabel);
  const labelW = Math.min(LABEL_W_MAX, Math.max(LABEL_W_MIN, ...labels.map((l) => width(l) * CHAR_W + 12)));
  const labelChars = Math.floor((labelW - 12) / CHAR_W);
  const x0 = PAD + labelW;
  const x1 = SVG_W - PAD - VALUE_W;

  const maxValue = Math.max(opts.metric === 'ratio' ? 1 : 0, ...rows.map((r) => value(r) ?? 0));
  const step = tickStep(maxValue > 0 ? maxValue : 1);
  const axisMax = Math.max(step, Math.ceil(maxValue / step - 1e-9) * step);
  const xOf = (v: number): number => x0 + (v / axisMax) * (x1 - x0);

  const plotTop = TITLE_H;
  const plotBottom = plotTop + groups.size * GROUP_H + rows.length * ROW_H + 6;
  const height = plotBottom + AXIS_H;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_W}" height="${px(height)}" ` +
      `viewBox="0 0 ${SVG_W} ${px(height)}" font-family="sans-serif" font-size="12" ` +
      `role="img" style="background:#fff">`,
  );
  out.push(`<title>${escapeXml(opts.title)}</title>`);
  out.push(`<text x="${PAD}" y="26" font-size="16" font-weight="bold" fill="#222">${escapeXml(opts.title)}</text>`);

  // Grid first so bars paint over it.
  const ticks: number[] = [];
  for (let k = 0; k * step <= axisMax * (1 + 1e-9); k++) ticks.push(k * step);
  out.push('<g stroke="#e3e3e3" stroke-width="1">');
  for (const t of ticks) {
    out.push(`<line x1="${px(xOf(t))}" y1="${plotTop}" x2="${px(xOf(t))}" y2="${px(plotBottom)}"/>`);
  }
  out.push('</g>');

  let y = plotTop;
  let gi = 0;
  for (const [group, members] of groups) {
    const color = PALETTE[gi++ % PALETTE.length] ?? PALETTE[0];
    out.push(`<text x="${PAD}" y="${px(y + 18)}" font-weight="bold" fill="#222">${escapeXml(oneLine(group))}</text>`);
    y += GROUP_H;
    for (const r of members) {
      const label = rowLabel(r);
      const v = value(r);
      const barW = v === undefined ? 0 : xOf(v) - x0;
      const valueText = v === undefined ? MISSING : format(v);
      const mid = y + ROW_H / 2;
      out.push(
        `<text x="${px(x0 - 6)}" y="${px(mid + 4)}" text-anchor="end" fill="#333">${escapeXml(truncate(label, labelChars))}</text>`,
        `<rect x="${px(x0)}" y="${px(mid - BAR_H / 2)}" width="${px(barW)}" height="${BAR_H}" fill="${color}">` +
          `<title>${escapeXml(`${oneLine(group)} / ${label}: ${valueText}`)}</title></rect>`,
        `<text x="${px(x0 + barW + 4)}" y="${px(mid + 4)}" fill="#333">${escapeXml(valueText)}</text>`,
      );
      y += ROW_H;
    }
  }

  if (opts.metric === 'ratio') {
    const x = px(xOf(1));
    out.push(`<line x1="${x}" y1="${plotTop}" x2="${x}" y2="${px(plotBottom)}" stroke="#888" stroke-dasharray="4 3"/>`);
  }

  // x-axis: baseline, tick marks, tick labels, metric caption.
  out.push(`<g stroke="#555" stroke-width="1">`);
  out.push(`<line x1="${px(x0)}" y1="${px(plotBottom)}" x2="${px(x1)}" y2="${px(plotBottom)}"/>`);
  for (const t of ticks) {
    out.push(`<line x1="${px(xOf(t))}" y1="${px(plotBottom)}" x2="${px(xOf(t))}" y2="${px(plotBottom + 5)}"/>`);
  }
  out.push('</g>');
  out.push(`<g text-anchor="middle" fill="#555">`);
  for (const t of ticks) {
    out.push(`<text x="${px(xOf(t))}" y="${px(plotBottom + 18)}">${escapeXml(formatTick(t))}</text>`);
  }
  out.push('</g>');
  const caption = opts.metric === 'ratio' ? 'ratio vs baseline (ops/s ÷ baseline ops/s)' : 'operations per second';
  out.push(`<text x="${px((x0 + x1) / 2)}" y="${px(plotBottom + 36)}" text-anchor="middle" fill="#555">${caption}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Files

/** What a benchmark run hands to {@link writeReport}. */
export interface BenchResult {
  meta: Record<string, unknown>;
  rows: BenchRow[];
}

/** Paths written by {@link writeReport}. */
export interface ReportPaths {
  json: string;
  table: string;
  svg: string;
}

/**
 * Writes `<dir>/<name>.json` (`{ meta, rows }`, meta holding node version,
 * CPU model, platform and ISO date, then the caller's keys, which win),
 * `<dir>/<name>.txt` ({@link formatTable}) and `<dir>/<name>.svg`
 * ({@link renderSvgChart} of opsPerSec, titled `name`). Creates `dir` if
 * needed. Rows are written as given: call {@link computeRatios} first.
 * BigInt values in meta are written as decimal strings.
 */
export async function writeReport(dir: string, name: string, result: BenchResult): Promise<ReportPaths> {
  if (name === '' || name === '.' || name === '..' || basename(name) !== name || name.includes('\\')) {
    throw new RangeError(`report name must be a plain file name, got "${name}"`);
  }
  const meta = {
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    arch: arch(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus().length,
    date: new Date().toISOString(),
    ...result.meta,
  };
  const paths: ReportPaths = {
    json: join(dir, `${name}.json`),
    table: join(dir, `${name}.txt`),
    svg: join(dir, `${name}.svg`),
  };
  const json = JSON.stringify({ meta, rows: result.rows }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  await mkdir(dir, { recursive: true });
  await Promise.all([
    writeFile(paths.json, json + '\n'),
    writeFile(paths.table, formatTable(result.rows)),
    writeFile(paths.svg, renderSvgChart(result.rows, { title: name, metric: 'opsPerSec' })),
  ]);
  return paths;
}

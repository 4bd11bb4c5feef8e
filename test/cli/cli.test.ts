import { afterAll, describe, expect, test } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { parseCli, parseSize } from '../../src/cli/args.js';
import { capture } from './capture.js';


const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'vtcam-cli-'));
  dirs.push(d);
  return d;
}

describe('bad flags: exit 2 with a message that says what to do', () => {
  test.each([
    [['--queue-size', '3'], /--queue-size must be a power of two in 4\.\.32768, got '3'/],
    [['--queue-size', '65536'], /--queue-size must be a power of two in 4\.\.32768/],
    [['--queue-size', 'x'], /--queue-size must be a power of two in 4\.\.32768, got 'x'/],
    [['--queue-size', '1'], /--queue-size must be a power of two in 4\.\.32768, got '1'/],
    // A flag given twice is a conflict to resolve, not last-wins.
    [['--size', '8M', '--size', '16M'], /--size is given twice \('--size 8M', then '--size 16M'\); give it once/],
    // Without indirect descriptors a flush costs 2 descriptors and a one-segment request 3: at least 8.
    [['--queue-size', '4', '--no-indirect'], /--queue-size must be a power of two in 8\.\.32768, got '4'/],
    [['--block-size', '1024'], /--block-size must be 512 or 4096, got '1024'/],
    [['--size', '12Q'], /--size must be a positive size/],
    [['--size', '1000'], /--size 1000 is not a multiple of the 512-byte block size/],
    [['--requests', '-5'], /--requests/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['mount'], /unknown command 'mount'/],
    [['demo', 'extra'], /unexpected argument 'extra'/],
    [['--image'], /--image/],
  ])('%j', async (argv, message) => {
    const io = capture();
    expect(await main(argv, io)).toBe(2);
    expect(io.errors.join('\n')).toMatch(message);
    expect(io.errors.join('\n')).toMatch(/Try 'vtcam --help'/);
    expect(io.lines).toEqual([]);
  });
});

describe('help and version', () => {
  test('--help prints usage, exit 0', async () => {
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.lines.join('\n')).toMatch(/^Usage: vtcam/);
  });
  test('--version prints the package version', async () => {
    const io = capture();
    expect(await main(['-v'], io)).toBe(0);
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(io.lines).toEqual([pkg.version]);
  });
});

describe('parseSize', () => {
  test.each([['4096', 4096], ['64M', 64 * 2 ** 20], ['1G', 2 ** 30], ['2KiB', 2048], ['1t', 2 ** 40]])('%s', (t, n) => {
    expect(parseSize(t)).toBe(n);
  });
  test.each(['0', '-1', '1.5M', 'M', '', '1P'])('rejects %j', (t) => {
    expect(parseSize(t)).toBeUndefined();
  });
});

describe('demo', () => {
  test('memory disk: prints the device, verifies data, exit 0', async () => {
    const io = capture();
    expect(await main(['--requests', '2000', '--size', '8M', '--queue-size', '16'], io)).toBe(0);
    const out = io.lines.join('\n');
    expect(out).toMatch(/memory \(sparse\), 8 MiB \(16384 sectors\)/);
    expect(out).toMatch(/features .*INDIRECT_DESC EVENT_IDX VERSION_1/);
    expect(out).toMatch(/queue 0 {3}16 entries/);
    expect(out).toMatch(/verified pass: 2000 requests \(\d+ writes, \d+ reads\)/);
    expect(out).toMatch(/all data verified/);
    expect(io.errors).toEqual([]);
  });

  test('--no-indirect --no-event-idx leaves them out of the negotiated set', async () => {
    const io = capture();
    expect(await main(['--requests', '0', '--no-indirect', '--no-event-idx'], io)).toBe(0);
    expect(io.lines.join('\n')).not.toMatch(/INDIRECT_DESC|EVENT_IDX/);
    expect(io.lines.join('\n')).toMatch(/a 4 KiB read costs 3 descriptor/);
  });

  test('progress is drawn on a TTY only', async () => {
    const tty = capture(true);
    await main(['--requests', '500', '--size', '1M'], tty);
    expect(tty.drawn.some((c) => c.startsWith('\r'))).toBe(true);
    const pipe = capture(false);
    await main(['--requests', '500', '--size', '1M'], pipe);
    expect(pipe.drawn.every((c) => !c.startsWith('\r'))).toBe(true);
  });

  test('a missing image without --size: exit 1 and advice', async () => {
    const d = await tmp();
    const io = capture();
    expect(await main(['--image', join(d, 'nope.img'), '--requests', '10'], io)).toBe(1);
    expect(io.errors.join('\n')).toMatch(/not found.*--size/s);
  });

  test('a missing image with --size is created sparse and used read-write', async () => {
    const d = await tmp();
    const io = capture();
    const img = join(d, 'new.img');
    expect(await main(['--image', img, '--size', '4M', '--requests', '500'], io)).toBe(0);
    expect((await stat(img)).size).toBe(4 * 2 ** 20);
    expect(io.lines.join('\n')).toMatch(/created sparse/);
    expect(io.lines.join('\n')).toMatch(/\d+ writes/);
  });

  test('an existing image is only read, never overwritten', async () => {
    const d = await tmp();
    const img = join(d, 'mine.img');
    const content = Buffer.alloc(1 << 20, 0x42);
    await writeFile(img, content);
    const io = capture();
    expect(await main(['--image', img, '--requests', '300'], io)).toBe(0);
    expect(io.lines.join('\n')).toMatch(/0 writes, 300 reads, read-only/);
    expect(Buffer.compare(await readFile(img), content)).toBe(0);
  });

  test('--read-only memory disk: RO negotiated and reported', async () => {
    const io = capture();
    expect(await main(['--read-only', '--requests', '100', '--size', '1M'], io)).toBe(0);
    expect(io.lines.join('\n')).toMatch(/read-only/);
    expect(io.lines.join('\n')).toMatch(/ RO /);
  });
});

test('parseCli defaults', () => {
  expect(parseCli([])).toEqual({ ok: true, args: { command: 'demo', image: undefined, size: undefined, blockSize: 512, queueSize: 128, requests: 20000, readOnly: false, indirect: true, eventIdx: true } });
});

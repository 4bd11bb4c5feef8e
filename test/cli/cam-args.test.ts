// Parsing of the camcontrol-style commands: defaults, each command's flags,
// and every bad flag with its message.

import { describe, expect, test } from 'vitest';
import { parseCamCli } from '../../src/cli/cam-args.js';

const stackDefaults = { image: undefined, memory: 64 * 2 ** 20, blockSize: 512, queueSize: 128, readOnly: false, serial: undefined, json: false };

describe('parseCamCli', () => {
  test('devlist defaults: a 64 MiB memory disk, 512-byte blocks, ring 128', () => {
    expect(parseCamCli('devlist', [])).toEqual({ ok: true, args: { command: 'devlist', stack: stackDefaults } });
  });

  test('stack options', () => {
    const r = parseCamCli('readcap', ['--image', 'disk.img', '--block-size', '4096', '--queue-size', '256', '--read-only', '--serial', 'DISK 7', '--json']);
    expect(r).toEqual({ ok: true, args: { command: 'readcap', stack: { image: 'disk.img', memory: 64 * 2 ** 20, blockSize: 4096, queueSize: 256, readOnly: true, serial: 'DISK 7', json: true } } });
    expect(parseCamCli('tur', ['--memory', '1G'])).toMatchObject({ ok: true, args: { stack: { memory: 2 ** 30 } } });
  });

  test('modepage -m in decimal, 0x and h forms, with -P', () => {
    expect(parseCamCli('modepage', ['-m', '8'])).toMatchObject({ ok: true, args: { page: 8, pc: 0 } });
    expect(parseCamCli('modepage', ['-m', '0x3f', '-P', '1'])).toMatchObject({ ok: true, args: { page: 0x3f, pc: 1 } });
    expect(parseCamCli('modepage', ['-m', '0ah'])).toMatchObject({ ok: true, args: { page: 0x0a } });
  });

  test('cmd: CDB, Data-In length, Data-Out bytes, timeout', () => {
    const r = parseCamCli('cmd', ['-c', '28 00 00 00 00 00 00 00 01 00', '-i', '512']);
    expect(r).toMatchObject({ ok: true, args: { command: 'cmd', inLength: 512, out: undefined, timeoutMs: 60_000 } });
    if (r.ok && r.args.command === 'cmd') expect(Array.from(r.args.cdb)).toEqual([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    const w = parseCamCli('cmd', ['-c', '2a00000000000000010000', '-o', 'ab'.repeat(512), '-t', '5']);
    expect(w).toMatchObject({ ok: true, args: { inLength: 0, timeoutMs: 5000 } });
    if (w.ok && w.args.command === 'cmd') expect(w.args.out?.length).toBe(512);
  });

  test.each([
    ['devlist', ['--block-size', '1024'], /--block-size must be 512 or 4096, got '1024'/],
    ['devlist', ['--queue-size', '100'], /--queue-size must be a power of two in 4\.\.32768, got '100'/],
    // 1 and 2 are powers of two, but no ring that small holds a request beside the SIM's reserve.
    ['devlist', ['--queue-size', '2'], /--queue-size must be a power of two in 4\.\.32768, got '2'/],
    // Past 2^53 − 1 bytes is too large, not "not positive"; 0 and junk are not sizes.
    ['devlist', ['--memory', '99999T'], /--memory 99999T is too large: at most 8191T \(2\^53 − 1 bytes\)/],
    ['devlist', ['--memory', '0'], /--memory must be a positive size such as 64M or 1G, got '0'/],
    ['devlist', ['--memory', '1.5G'], /--memory must be a positive size such as 64M or 1G, got '1.5G'/],
    ['devlist', ['--memory', '64M', '--memory', '1G'], /--memory is given twice \('--memory 64M', then '--memory 1G'\); give it once/],
    ['cmd', ['-c', '00 00 00 00 00 00', '-c', '12 00 00 00 24 00'], /-c is given twice/],
    ['devlist', ['--memory', '12Q'], /--memory must be a positive size/],
    ['devlist', ['--memory', '1000'], /--memory 1000 is not a multiple of the 512-byte block size/],
    ['devlist', ['--image', 'a', '--memory', '1M'], /either --image or --memory, not both/],
    ['devlist', ['--image', ''], /--image needs a path/],
    ['devlist', ['-m', '8'], /-m does not apply to 'devlist'/],
    ['inquiry', ['--serial', ''], /^--serial needs 1\.\.20 printable ASCII characters, got ''$/],
    ['inquiry', ['--serial', 'x'.repeat(21)], /^--serial is 21 characters; the device's GET_ID carries at most 20 \(VIRTIO 1\.2 §5\.2\.6\)/],
    ['inquiry', ['--serial', 'a\u0000b'], /^--serial must be printable ASCII \(20h\.\.7Eh\), got "a\\u0000b": character 2 is U\+0000$/],
    ['inquiry', ['--serial', 'disk '], /^--serial must not begin or end with a space/],
    ['devlist', ['extra'], /Unexpected argument 'extra'/],
    ['devlist', ['--bogus'], /Unknown option '--bogus'/],
    ['modepage', [], /'modepage' needs -m PAGE/],
    ['modepage', ['-m', '0x40'], /-m must be a number in 0\.\.63/],
    ['modepage', ['-m', '8', '-P', '4'], /-P must be a number in 0\.\.3/],
    ['modepage', ['-m', '8', '-c', '00'], /-c does not apply to 'modepage'/],
    ['cmd', [], /'cmd' needs -c "CDB bytes in hex"/],
    ['cmd', ['-c', 'zz'], /-c: 'zz' is not hex bytes/],
    ['cmd', ['-c', '00'.repeat(33)], /a CDB is at most 32 bytes, got 33/],
    ['cmd', ['-c', '00', '-i', '8', '-o', '00'], /either -i \(Data-In\) or -o \(Data-Out\), not both/],
    ['cmd', ['-c', '00', '-i', '-1'], /Option '-i' argument is ambiguous/],
    ['cmd', ['-c', '00', '-i', 'x'], /-i must be a byte count/],
    ['cmd', ['-c', '00', '-t', '0'], /-t must be seconds in 1\.\.3600/],
  ] as const)('%s %j', (command, argv, re) => {
    const r = parseCamCli(command, argv);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(re);
  });
});

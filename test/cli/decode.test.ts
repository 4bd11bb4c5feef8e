// `vtcam sense` and `vtcam cdb`: decoded output, exit statuses, bad input.

import { describe, expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseHexBytes } from '../../src/cli/args.js';
import { capture } from './capture.js';


async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(args, io);
  return { code, out: io.lines.join('\n'), err: io.errors.join('\n') };
}

describe('vtcam sense', () => {
  test('fixed sense from SPC-5: ILLEGAL REQUEST, INVALID FIELD IN CDB, field pointer byte 1 bit 1', async () => {
    // 70h current fixed; key 05h; ADDITIONAL SENSE LENGTH 0Ah; ASC 24h ASCQ 00h; SKSV|C/D|BPV|bit 1 = C9h, FIELD POINTER 0001h.
    const r = await run(['sense', '70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 c9 00 01']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('fixed format, current (70h)\nILLEGAL REQUEST: INVALID FIELD IN CDB (24h/00h), CDB byte 1 bit 1');
  });

  test('descriptor sense, deferred, one word of hex', async () => {
    // 73h deferred descriptor; key 04h; ASC 44h ASCQ 00h; no descriptors.
    const r = await run(['sense', '7304440000000000']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('descriptor format, deferred (73h)\nHARDWARE ERROR: INTERNAL TARGET FAILURE (44h/00h), deferred error');
  });

  test.each([
    // SPC-5 §4.4.3 fixed: SENSE KEY byte 2, ASC byte 12, ASCQ byte 13; §4.4.2 descriptor: bytes 1, 2, 3.
    ['70 00 06', 'fixed format, current (70h)\nUNIT ATTENTION: ASC and ASCQ missing\nnote: the sense data ends before byte 12 (ADDITIONAL SENSE CODE)'],
    ['70 00 05 00 00 00 00 0a 00 00 00 00 24', 'fixed format, current (70h)\nILLEGAL REQUEST: ASC 24h, ASCQ missing\nnote: the sense data ends before byte 13 (ADDITIONAL SENSE CODE QUALIFIER)'],
    // ADDITIONAL SENSE LENGTH 5 ends the sense data after the ASC: the 00h after it is not an ASCQ.
    ['70 00 05 00 00 00 00 05 00 00 00 00 3a 00', 'fixed format, current (70h)\nILLEGAL REQUEST: ASC 3Ah, ASCQ missing\nnote: the sense data ends before byte 13 (ADDITIONAL SENSE CODE QUALIFIER), where its ADDITIONAL SENSE LENGTH ends it'],
    // VALID with the whole INFORMATION field: what is there is still shown.
    ['f0 00 03 00 00 12 34', 'fixed format, current (70h)\nMEDIUM ERROR: ASC and ASCQ missing, information 0x1234\nnote: the sense data ends before byte 12 (ADDITIONAL SENSE CODE)'],
    ['72 05 24', 'descriptor format, current (72h)\nILLEGAL REQUEST: ASC 24h, ASCQ missing\nnote: the sense data ends before byte 3 (ADDITIONAL SENSE CODE QUALIFIER)'],
  ])('short sense %s: says which byte is missing, never reads it as 00h', async (hex, out) => {
    const r = await run(['sense', hex]);
    expect(r).toEqual({ code: 0, out, err: '' });
  });

  test.each([
    ['70', 'too short for sense data: fixed format (70h) has the SENSE KEY in byte 2 (SPC-5 §4.4.3), but only byte 0 was given'],
    ['71 00', 'too short for sense data: fixed format (71h) has the SENSE KEY in byte 2 (SPC-5 §4.4.3), but only bytes 0..1 were given'],
    ['72', 'too short for sense data: descriptor format (72h) has the SENSE KEY in byte 1 (SPC-5 §4.4.2), but only byte 0 was given'],
    ['70 00 0c 00 00 00 00 0a', 'not sense data: sense key 0Ch (byte 2) is obsolete'],
  ])('%s ends before a sense key it can decode: exit 1 and which byte', async (hex, err) => {
    const r = await run(['sense', hex]);
    expect(r).toEqual({ code: 1, out: '', err });
  });

  test('not sense data: exit 1 and why', async () => {
    const r = await run(['sense', '7f', '00']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('not sense data: response code 7fh is not 70h..73h (fixed or descriptor, current or deferred)');
  });
});

describe('vtcam cdb', () => {
  test('READ(10) LBA 16, 1 block', async () => {
    const r = await run(['cdb', '28:00:00:00:00:10:00:00:01:00']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('READ_10 (opcode 28h, 10-byte CDB, data in)');
    expect(r.out).toMatch(/lba: 16 \(0x10\)/);
    expect(r.out).toMatch(/blocks: 1$/m);
  });

  test('service-action command and bytes past the CDB length', async () => {
    // READ CAPACITY (16): 9Eh / 10h, ALLOCATION LENGTH 32, padded to 18 bytes.
    const r = await run(['cdb', '9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00 00 00']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^READ_CAPACITY_16 \(opcode 9eh service action 10h, 16-byte CDB, data in\)/);
    expect(r.out).toMatch(/allocationLength: 32/);
    expect(r.out).toMatch(/2 byte\(s\) past the CDB length ignored/);
  });

  test('RDPROTECT on a unit without protection information: exit 1 with the sense', async () => {
    // RDPROTECT is byte 1 bits 7..5: the field pointer names its first bit, 7, whichever bit is set (SPC-5 4.4.2.4.2).
    const r = await run(['cdb', '28 20 00 00 00 10 00 00 01 00']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('this CDB gets CHECK CONDITION, ILLEGAL REQUEST: INVALID FIELD IN CDB (24h/00h), CDB byte 1 bit 7');
  });

  test('unknown operation code', async () => {
    const r = await run(['cdb', 'c0 00 00 00 00 00']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/INVALID COMMAND OPERATION CODE \(20h\/00h\), CDB byte 0/);
  });
});

describe('bad usage: exit 2 with advice', () => {
  test.each([
    [['sense'], /give the bytes in hex/],
    [['sense', 'zz'], /'zz' is not hex bytes; write them like 70 00 05 or 700005/],
    [['cdb', '280'], /'280' is not hex bytes/],
    [['cdb', '--image', 'x', '00'], /--image is a demo option; 'cdb' takes only hex bytes/],
    [['cdb', '00'.repeat(261)], /261 bytes is more than sense data or a CDB can be/],
    [['decode'], /unknown command 'decode' \(this version has: demo, sense, cdb, devlist, inquiry, readcap, tur, modepage, cmd, stats, serve\)/],
  ])('%j', async (args, re) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(re);
    expect(r.err).toMatch(/Try 'vtcam --help'/);
  });
});

test('parseHexBytes accepts the usual spellings', () => {
  expect(Array.from(parseHexBytes(['70', '0A']) as Uint8Array)).toEqual([0x70, 0x0a]);
  expect(Array.from(parseHexBytes(['700a']) as Uint8Array)).toEqual([0x70, 0x0a]);
  expect(Array.from(parseHexBytes(['0x7', '0xff']) as Uint8Array)).toEqual([0x07, 0xff]);
});

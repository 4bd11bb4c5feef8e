// The camcontrol-style commands end to end on an in-process stack: output in
// words and JSON, failed commands exit 1 with the sense in words, a missing
// image exits 1 with advice.

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { hexDump } from '../../src/cli/camcontrol.js';
import { capture } from './capture.js';


async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(args, io);
  return { code, out: io.lines.join('\n'), err: io.errors.join('\n') };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('camcontrol-style commands on a memory disk', () => {
  test('devlist', async () => {
    const r = await run(['devlist', '--memory', '4M']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^<VTCAM VIRTIO-BLK 0001> +at scbus0 target 0 lun 0 \(pass0,da0\) +8192 × 512 B \(4 MiB\)$/);
  });

  test('devlist --json', async () => {
    const r = await run(['devlist', '--memory', '4M', '--block-size', '4096', '--json']);
    expect(r.code).toBe(0);
    const devices = JSON.parse(r.out) as { serial: string }[];
    // A memory disk's serial is random (the device's default): no two of them share one.
    const serial = devices[0]?.serial;
    expect(serial).toMatch(/^vtcam-[0-9a-f]{14}$/);
    expect(devices).toEqual([
      { path: { bus: 0, target: 0, lun: 0 }, da: 'da0', pass: 'pass0', sim: 'vtblk0', vendor: 'VTCAM', product: 'VIRTIO-BLK', revision: '0001', serial, blocks: '1024', blockSize: 4096 },
    ]);
  });

  test('inquiry', async () => {
    const r = await run(['inquiry', '--memory', '1M']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^pass0: <VTCAM VIRTIO-BLK 0001> Fixed Direct Access SPC-4 SCSI device$/m);
    expect(r.out).toMatch(/^pass0: Serial Number vtcam-[0-9a-f]{14}$/m);
    expect(r.out).toMatch(/^pass0: NAA 3[0-9a-f]{15}$/m);
    expect(r.out).toMatch(/^pass0: VPD pages 00h 80h 83h 86h b0h b1h b2h$/m);
  });

  test('readcap, 4096-byte blocks, JSON', async () => {
    const r = await run(['readcap', '--memory', '8M', '--block-size', '4096', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ lastBlock: '2047', blockSize: 4096, blocks: '2048' });
    const words = await run(['readcap', '--memory', '8M']);
    expect(words.out).toMatch(/^Last Block: 16383, Block Length: 512 bytes, Device Size: 8 MiB$/m);
  });

  test('tur', async () => {
    expect(await run(['tur', '--memory', '1M'])).toEqual({ code: 0, out: 'Unit is ready', err: '' });
  });

  test('modepage -m 8 shows WCE; -m 0x0a -P 1 the changeable Control page', async () => {
    const r = await run(['modepage', '--memory', '1M', '-m', '8']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Caching page \(08h\):$/m);
    expect(r.out).toMatch(/^ {2}WCE +1$/m);
    const c = await run(['modepage', '--memory', '1M', '-m', '0x0a', '-P', '1', '--json']);
    expect(JSON.parse(c.out)).toMatchObject({ writeProtected: false, pages: [{ code: 0x0a, fields: { D_SENSE: '1', TST: '0' } }] });
  });

  test('modepage of a page the unit does not have: exit 1, sense in words', async () => {
    const r = await run(['modepage', '--memory', '1M', '-m', '0x19']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/MODE SENSE \(10\) of page 19h failed: CAM_SCSI_STATUS_ERROR\|CAM_DEV_QFRZN\|CAM_AUTOSNS_VALID, CHECK CONDITION, ILLEGAL REQUEST: INVALID FIELD IN CDB \(24h\/00h\), CDB byte 2 bit 5/);
  });

  test('cmd: a WRITE(10) then a READ(10) of the same block shows the bytes', async () => {
    const d = await mkdtemp(join(tmpdir(), 'vtcam-cc-'));
    dirs.push(d);
    const img = join(d, 'disk.img');
    await writeFile(img, Buffer.alloc(1 << 20));
    const w = await run(['cmd', '--image', img, '-c', '2a 00 00 00 00 07 00 00 01 00', '-o', '5a'.repeat(512)]);
    expect(w).toMatchObject({ code: 0, out: 'GOOD, 0 bytes in, residual 0' });
    const r = await run(['cmd', '--image', img, '-c', '28 00 00 00 00 07 00 00 01 00', '-i', '512']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('GOOD, 512 bytes in, residual 0');
    expect(lines[1]).toBe('0000  5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a  ZZZZZZZZZZZZZZZZ');
    expect(lines).toHaveLength(1 + 32);
  });

  test('cmd: READ(10) past the end exits 1 with LBA OUT OF RANGE in words', async () => {
    const r = await run(['cmd', '--memory', '1M', '-c', '28 00 00 00 08 00 00 00 01 00', '-i', '512']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/command failed: .*CHECK CONDITION, ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE \(21h\/00h\)/);
  });

  test.each([
    // READ (10) of 1 block without -i, and with too little: TRANSFER LENGTH × 512.
    [['-c', '28 00 00 00 00 00 00 00 01 00'], 'this READ moves 512 bytes in: give -i 512'],
    [['-c', '28 00 00 00 00 00 00 00 01 00', '-i', '100'], 'this READ moves 512 bytes in: give -i 512'],
    // READ (6) with TRANSFER LENGTH 0 reads 256 blocks (SBC-4).
    [['-c', '08 00 00 00 00 00', '-i', '4'], 'this READ moves 131072 bytes in: give -i 131072'],
    // INQUIRY: ALLOCATION LENGTH (bytes 3..4) 60h; READ CAPACITY (10): always 8 bytes.
    [['-c', '12 00 00 00 60 00', '-i', '36'], 'INQUIRY returns up to 96 bytes: give -i 96'],
    [['-c', '25 00 00 00 00 00 00 00 00 00', '-i', '4'], 'READ CAPACITY 10 returns up to 8 bytes: give -i 8'],
  ])('cmd %j with too little Data-In room: exit 1, CAM_DATA_RUN_ERR and what -i to give', async (flags, hint) => {
    const r = await run(['cmd', '--memory', '1M', ...flags]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`command failed: CAM_DATA_RUN_ERR|CAM_DEV_QFRZN; ${hint}`);
  });

  test.each([
    // WRITE (10) of 1 block with 100 bytes, and with none: TRANSFER LENGTH × 512.
    ['a WRITE (10) of 1 block given 100 bytes', ['-c', '2a 00 00 00 00 00 00 00 01 00', '-o', '00'.repeat(100)], 'this WRITE moves 512 bytes out: give 512 bytes with -o'],
    ['a WRITE (10) of 1 block given no -o', ['-c', '2a 00 00 00 00 00 00 00 01 00'], 'this WRITE moves 512 bytes out: give 512 bytes with -o'],
    // WRITE (6) with TRANSFER LENGTH 0 writes 256 blocks (SBC-4); 4096-byte blocks.
    ['a WRITE (6) of 256 blocks given 1', ['-c', '0a 00 00 00 00 00', '-o', '00'.repeat(4096), '--block-size', '4096'], 'this WRITE moves 1048576 bytes out: give 1048576 bytes with -o'],
  ])('cmd: %s: exit 1, the device refuses it, and how many bytes -o should give', async (_what, flags, hint) => {
    const r = await run(['cmd', '--memory', '1M', ...flags]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^command failed: .*ILLEGAL REQUEST: INVALID FIELD IN COMMAND INFORMATION UNIT \\(0Eh/03h\\); ${hint}$`));
  });

  test('cmd: a WRITE given all its Data-Out that fails otherwise gets no Data-Out hint', async () => {
    const r = await run(['cmd', '--memory', '1M', '-c', '2a 00 00 00 08 00 00 00 01 00', '-o', '00'.repeat(512)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/LOGICAL BLOCK ADDRESS OUT OF RANGE \(21h\/00h\)$/);
  });

  test.each([
    ['an image that cannot be opened', ['readcap', '--image', '/nonexistent/vtcam.img'], /^image \/nonexistent\/vtcam\.img not found: /, { code: 'ENOENT' }],
    ['a device error', ['modepage', '--memory', '1M', '-m', '0x05'], /^MODE SENSE \(10\) of page 05h failed: .*INVALID FIELD IN CDB \(24h\/00h\), CDB byte 2 bit 5$/, { scsiStatus: 2, senseText: 'ILLEGAL REQUEST: INVALID FIELD IN CDB (24h/00h), CDB byte 2 bit 5' }],
    ['a failed command', ['cmd', '--memory', '1M', '-c', '28 00 00 00 08 00 00 00 01 00', '-i', '512'], /^command failed: CAM_SCSI_STATUS_ERROR\|.*LOGICAL BLOCK ADDRESS OUT OF RANGE \(21h\/00h\)$/, { scsiStatus: 2, sense: '700005000000000a00000000210000000000' }],
  ])('--json failure, %s: one JSON object on stdout whose error is the stderr message, exit 1', async (_kind, args, message, details) => {
    const r = await run([...args, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { error: string };
    expect(j.error).toMatch(message);
    expect(j).toMatchObject(details);
    expect(r.err).toBe(j.error);
  });

  test('inquiry --json gives the NAA in hex, as the text output does', async () => {
    // The same serial on both runs: a memory disk's own is new each run.
    const text = await run(['inquiry', '--memory', '1M', '--serial', 'MEM-1']);
    const j = JSON.parse((await run(['inquiry', '--memory', '1M', '--serial', 'MEM-1', '--json'])).out) as { naa: string };
    expect(j.naa).toMatch(/^[0-9a-f]{16}$/);
    expect(text.out).toContain(`NAA ${j.naa}`);
  });

  test('two memory disks: different serial numbers and NAA designators', async () => {
    const a = JSON.parse((await run(['inquiry', '--memory', '1M', '--json'])).out) as { serial: string; naa: string };
    const b = JSON.parse((await run(['inquiry', '--memory', '1M', '--json'])).out) as { serial: string; naa: string };
    expect(b.serial).not.toBe(a.serial);
    expect(b.naa).not.toBe(a.naa);
  });

  test('an image file answers its own serial number and NAA, the same on each run; another image others', async () => {
    const d = await mkdtemp(join(tmpdir(), 'vtcam-cc-'));
    dirs.push(d);
    const a = join(d, 'a.img'), b = join(d, 'b.img');
    await writeFile(a, Buffer.alloc(1 << 20));
    await writeFile(b, Buffer.alloc(1 << 20));
    const inquiry = async (image: string, ...more: string[]): Promise<{ serial: string; naa: string }> =>
      JSON.parse((await run(['inquiry', '--image', image, ...more, '--json'])).out) as { serial: string; naa: string };
    const ia = await inquiry(a);
    expect(ia.serial).toMatch(/^vtcam-[0-9a-f]{14}$/);
    expect(await inquiry(a, '--read-only')).toMatchObject(ia);
    const ib = await inquiry(b);
    expect(ib.serial).not.toBe(ia.serial);
    expect(ib.naa).not.toBe(ia.naa);
    expect(await inquiry(a, '--serial', 'IMG-A')).toMatchObject({ serial: 'IMG-A' });
  });

  test('--serial: inquiry says it, and INQUIRY VPD 80h answers it after its 4-byte header', async () => {
    const r = await run(['inquiry', '--memory', '1M', '--serial', 'S/N 42']);
    expect(r.out).toMatch(/^pass0: Serial Number S\/N 42$/m);
    const vpd = await run(['cmd', '--memory', '1M', '--serial', 'S/N 42', '-c', '12 01 80 00 ff 00', '-i', '255', '--json']);
    // PERIPHERAL DEVICE TYPE 0, PAGE CODE 80h, PAGE LENGTH 6, PRODUCT SERIAL NUMBER.
    expect((JSON.parse(vpd.out) as { data: string }).data).toBe('00800006' + Buffer.from('S/N 42').toString('hex'));
  });

  test('cmd --json carries the raw sense bytes', async () => {
    const r = await run(['cmd', '--memory', '1M', '--json', '-c', '28 00 00 00 08 00 00 00 01 00', '-i', '512']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { sense: string; scsiStatus: number };
    expect(j.scsiStatus).toBe(2);
    expect(j.sense).toBe('700005000000000a0000000021000000' + '0000');
  });

  test('a read-only export refuses WRITE(10) with DATA PROTECT', async () => {
    const r = await run(['cmd', '--memory', '1M', '--read-only', '-c', '2a 00 00 00 00 00 00 00 01 00', '-o', '00'.repeat(512)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/DATA PROTECT: WRITE PROTECTED \(27h\/00h\)/);
  });

  test('stats', async () => {
    const r = await run(['stats', '--memory', '1M', '--queue-size', '32']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^da0: openings \d+, active 0, queued 0, held 0, frozen 0 \(SIM 0\)$/m);
    expect(r.out).toMatch(/descriptors charged 0 of \d+/);
  });

  test('a missing image: exit 1 and what to do', async () => {
    const d = await mkdtemp(join(tmpdir(), 'vtcam-cc-'));
    dirs.push(d);
    const img = join(d, 'vtcam.img');
    const r = await run(['devlist', '--image', img]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`image ${img} not found; create an empty one (truncate -s 64M ${img}), or use --memory SIZE`);
  });

  test('a missing image in a missing directory: create the directory, not the image (truncate would fail)', async () => {
    const r = await run(['devlist', '--image', '/nonexistent/vtcam.img']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('image /nonexistent/vtcam.img not found: its directory /nonexistent does not exist either; create it (mkdir -p /nonexistent) or give --image another path, or use --memory SIZE');
  });

  test('bad flags exit 2 with advice', async () => {
    const r = await run(['modepage', '--memory', '1M']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/'modepage' needs -m PAGE/);
    expect(r.err).toMatch(/Try 'vtcam --help'/);
  });
});

test('hexDump: offset, 16 bytes, ASCII', () => {
  expect(hexDump(Uint8Array.from([0x41, 0x42, 0x00, 0x7f, ...new Array<number>(14).fill(0x30)]))).toEqual([
    '0000  41 42 00 7f 30 30 30 30 30 30 30 30 30 30 30 30  AB..000000000000',
    '0010  30 30                                            00',
  ]);
});

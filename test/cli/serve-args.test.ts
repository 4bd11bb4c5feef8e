// Parsing of `vtcam serve`: defaults, every flag, and every bad flag with a
// message that names it; through `vtcam` itself, exit status 2 and the usage hint.

import { describe, expect, test } from 'vitest';
import { MAX_SHARED_MEMORY_DISK, parseServeCli } from '../../src/cli/serve-args.js';
import { parseCli } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import { capture } from './capture.js';

const DEFAULTS = {
  image: undefined,
  size: undefined,
  blockSize: 512,
  physicalBlockSize: 512,
  queueSize: 128,
  transport: 'local',
  queues: 1,
  pollUs: undefined,
  busyPollUs: 200,
  dataOutBudget: undefined,
  maxConnections: 1024,
  io: 'auto',
  maxBandwidth: undefined,
  readOnly: false,
  thin: false,
  removable: false,
  serial: undefined,
  taskAbortedStatus: false,
  address: '127.0.0.1',
  port: 3260,
  targetName: 'iqn.2026-11.org.vtcam:disk0',
  chap: undefined,
};

describe('parseServeCli', () => {
  test('no arguments: a memory disk (size decided by serve: 1 GiB), transport local with one queue, 127.0.0.1:3260, the default IQN, no CHAP', () => {
    expect(parseServeCli([])).toEqual({ ok: true, args: DEFAULTS });
  });

  test('every flag', () => {
    const r = parseServeCli([
      '--image', 'disk.img', '--size', '2G', '--block-size', '4096', '--physical-block-size', '16384', '--queue-size', '256',
      '--transport', 'worker', '--queues', '4', '--poll-us', '50', '--busy-poll-us', '0', '--max-connections', '16', '--read-only', '--thin', '--removable', '--task-aborted-status',
      '--serial', 'LAB DISK-01', '--address', '::1', '--port', '0', '--target-name', 'iqn.2026-11.org.example:lab.disk-1',
      '--chap-user', 'alice', '--chap-secret', 'twelve-bytes', '--chap-mutual-user', 'target', '--chap-mutual-secret', 'another-secret',
    ]);
    expect(r).toEqual({
      ok: true,
      args: {
        image: 'disk.img',
        size: 2 * 2 ** 30,
        blockSize: 4096,
        physicalBlockSize: 16384,
        queueSize: 256,
        transport: 'worker',
        queues: 4,
        pollUs: 50,
        busyPollUs: 0,
        maxConnections: 16,
        io: 'auto',
        maxBandwidth: undefined,
        readOnly: true,
        thin: true,
        removable: true,
        serial: 'LAB DISK-01',
        taskAbortedStatus: true,
        address: '::1',
        port: 0,
        targetName: 'iqn.2026-11.org.example:lab.disk-1',
        chap: { user: 'alice', secret: 'twelve-bytes', mutualUser: 'target', mutualSecret: 'another-secret' },
      },
    });
  });

  test('sizes with K/M/G/T suffixes; one-way CHAP without mutual', () => {
    expect(parseServeCli(['--size', '512K'])).toMatchObject({ ok: true, args: { size: 512 * 1024 } });
    expect(parseServeCli(['--size', '1T'])).toMatchObject({ ok: true, args: { size: 2 ** 40 } });
    expect(parseServeCli(['--size', '64MiB'])).toMatchObject({ ok: true, args: { size: 64 * 2 ** 20 } });
    expect(parseServeCli(['--chap-user', 'alice', '--chap-secret', '123456789012'])).toMatchObject({ ok: true, args: { chap: { user: 'alice', secret: '123456789012' } } });
  });

  test('physical block sizes from the block size up to 2^15 times it', () => {
    expect(parseServeCli(['--physical-block-size', '4096'])).toMatchObject({ ok: true, args: { blockSize: 512, physicalBlockSize: 4096 } });
    expect(parseServeCli(['--physical-block-size', String(512 * 2 ** 15)])).toMatchObject({ ok: true, args: { physicalBlockSize: 512 * 2 ** 15 } });
    expect(parseServeCli(['--block-size', '4096'])).toMatchObject({ ok: true, args: { physicalBlockSize: 4096 } });
  });

  test('--io auto|async|sync with an image on transport local; auto by default', () => {
    expect(parseServeCli(['--image', 'disk.img', '--io', 'sync'])).toMatchObject({ ok: true, args: { transport: 'local', io: 'sync' } });
    expect(parseServeCli(['--image', 'disk.img', '--transport', 'local', '--io', 'async'])).toMatchObject({ ok: true, args: { io: 'async' } });
    expect(parseServeCli(['--image', 'disk.img', '--io', 'auto'])).toMatchObject({ ok: true, args: { io: 'auto' } });
    expect(parseServeCli(['--image', 'disk.img'])).toMatchObject({ ok: true, args: { io: 'auto' } });
  });

  test('--max-bandwidth: bytes per second in the --size units, on a memory disk or an image with --io async', () => {
    expect(parseServeCli(['--max-bandwidth', '16M'])).toMatchObject({ ok: true, args: { transport: 'local', maxBandwidth: 16 * 2 ** 20 } });
    expect(parseServeCli(['--max-bandwidth', '1'])).toMatchObject({ ok: true, args: { maxBandwidth: 1 } });
    expect(parseServeCli(['--max-bandwidth', '500KiB'])).toMatchObject({ ok: true, args: { maxBandwidth: 500 * 1024 } });
    expect(parseServeCli(['--max-bandwidth', '2g', '--transport', 'local'])).toMatchObject({ ok: true, args: { maxBandwidth: 2 * 2 ** 30 } });
    expect(parseServeCli(['--image', 'disk.img', '--io', 'async', '--max-bandwidth', '32M'])).toMatchObject({ ok: true, args: { io: 'async', maxBandwidth: 32 * 2 ** 20 } });
    // The default io yields to the limit (the limited disk takes the thread pool); only a given --io sync or auto conflicts.
    expect(parseServeCli(['--image', 'disk.img', '--max-bandwidth', '32M'])).toMatchObject({ ok: true, args: { io: 'auto', maxBandwidth: 32 * 2 ** 20 } });
    expect(parseServeCli(['--read-only', '--thin', '--max-bandwidth', String(Number.MAX_SAFE_INTEGER)])).toMatchObject({ ok: true, args: { maxBandwidth: Number.MAX_SAFE_INTEGER } });
  });

  test('--data-out-budget: bytes in the --size units, at least one 32 MiB command; the server decides when not given', () => {
    expect(parseServeCli(['--data-out-budget', '512M'])).toMatchObject({ ok: true, args: { dataOutBudget: 512 * 2 ** 20 } });
    expect(parseServeCli(['--data-out-budget', '32M'])).toMatchObject({ ok: true, args: { dataOutBudget: 32 * 2 ** 20 } });
    expect(parseServeCli(['--data-out-budget', '2GiB'])).toMatchObject({ ok: true, args: { dataOutBudget: 2 * 2 ** 30 } });
    expect(parseServeCli([])).toMatchObject({ ok: true, args: { dataOutBudget: undefined } });
  });

  test('--max-connections: at least 1, 1024 when not given', () => {
    expect(parseServeCli(['--max-connections', '1'])).toMatchObject({ ok: true, args: { maxConnections: 1 } });
    expect(parseServeCli(['--max-connections', '100000'])).toMatchObject({ ok: true, args: { maxConnections: 100_000 } });
    expect(parseServeCli([])).toMatchObject({ ok: true, args: { maxConnections: 1024 } });
  });

  test('--busy-poll-us 0..10000 on either transport, 200 when not given', () => {
    expect(parseServeCli(['--busy-poll-us', '0'])).toMatchObject({ ok: true, args: { busyPollUs: 0 } });
    expect(parseServeCli(['--transport', 'worker', '--busy-poll-us', '10000'])).toMatchObject({ ok: true, args: { busyPollUs: 10_000 } });
    expect(parseServeCli(['--image', 'disk.img'])).toMatchObject({ ok: true, args: { busyPollUs: 200 } });
  });

  test('queues 1..64 on either transport; --poll-us 0..10000 on worker', () => {
    expect(parseServeCli(['--queues', '64'])).toMatchObject({ ok: true, args: { transport: 'local', queues: 64 } });
    expect(parseServeCli(['--transport', 'local', '--queues', '2'])).toMatchObject({ ok: true, args: { transport: 'local', queues: 2, pollUs: undefined } });
    expect(parseServeCli(['--transport', 'worker'])).toMatchObject({ ok: true, args: { transport: 'worker', queues: 1, pollUs: undefined } });
    expect(parseServeCli(['--transport', 'worker', '--queues', '1', '--poll-us', '0'])).toMatchObject({ ok: true, args: { queues: 1, pollUs: 0 } });
    expect(parseServeCli(['--transport', 'worker', '--poll-us', '10000'])).toMatchObject({ ok: true, args: { pollUs: 10_000 } });
  });

  test('transport worker keeps a memory disk in shared memory: up to its limit (4 GiB on Node 20), one block more is refused', () => {
    const limit = Math.floor(MAX_SHARED_MEMORY_DISK / 512) * 512;
    const over = String(limit + 512);
    expect(parseServeCli(['--transport', 'worker', '--size', String(limit)])).toMatchObject({ ok: true, args: { size: limit } });
    const r = parseServeCli(['--transport', 'worker', '--size', over]);
    expect(r).toEqual({
      ok: false,
      message:
        `--size ${over} is more than the ${MAX_SHARED_MEMORY_DISK} bytes a memory disk in shared memory can hold (transport worker); ` +
        'serve a larger disk from a file with --image PATH, or keep it in memory with --transport local',
    });
    // No such limit for an image file, nor for the local transport's memory disk.
    expect(parseServeCli(['--transport', 'worker', '--size', over, '--image', 'big.img'])).toMatchObject({ ok: true, args: { size: limit + 512 } });
    expect(parseServeCli(['--transport', 'local', '--size', over])).toMatchObject({ ok: true, args: { size: limit + 512 } });
  });

  test('--task-aborted-status: TAS 1 with any disk, transport and image I/O (it is the unit’s, not the device’s)', () => {
    expect(parseServeCli(['--task-aborted-status'])).toEqual({ ok: true, args: { ...DEFAULTS, taskAbortedStatus: true } });
    expect(parseServeCli(['--image', 'disk.img', '--io', 'sync', '--read-only', '--task-aborted-status'])).toMatchObject({ ok: true, args: { io: 'sync', readOnly: true, taskAbortedStatus: true } });
    expect(parseServeCli(['--transport', 'worker', '--queues', '2', '--task-aborted-status'])).toMatchObject({ ok: true, args: { transport: 'worker', taskAbortedStatus: true } });
  });

  test('--serial: printable ASCII of 1 to 20 characters, spaces inside, as typed', () => {
    for (const serial of ['S', '~', 'S/N 42: disk #1 (a)', '01234567890123456789']) {
      expect(parseServeCli(['--serial', serial])).toMatchObject({ ok: true, args: { serial } });
    }
  });

  test('--negotiate KEY=VALUE, once per key, as RFC 7143 spells them: the server\'s negotiation options', () => {
    const argv = ['--negotiate', 'InitialR2T=No', '--negotiate', 'MaxOutstandingR2T=0x4', '--negotiate', 'HeaderDigest=CRC32C,None', '--negotiate', 'ImmediateData=Yes', '--negotiate', 'FirstBurstLength=131072'];
    expect(parseServeCli(argv)).toMatchObject({ ok: true, args: { negotiation: { initialR2T: false, maxOutstandingR2T: 4, headerDigests: ['CRC32C', 'None'], immediateData: true, firstBurstLength: 131072 } } });
    expect(parseServeCli([])).toMatchObject({ ok: true, args: { negotiation: undefined } });
  });

  test.each([
    [['--negotiate', 'Foo=1'], /^--negotiate 'Foo=1': the key must be one of HeaderDigest, DataDigest, InitialR2T, .*DefaultTime2Retain \(as RFC 7143 spells them\), as KEY=VALUE$/],
    [['--negotiate', 'InitialR2T'], /^--negotiate 'InitialR2T' needs a value: InitialR2T=VALUE$/],
    [['--negotiate', 'InitialR2T=no'], /^--negotiate InitialR2T takes Yes or No, got 'no'$/],
    [['--negotiate', 'MaxBurstLength=1M'], /^--negotiate MaxBurstLength takes a number, got '1M'$/],
    [['--negotiate', 'MaxOutstandingR2T=0'], /^--negotiate: MaxOutstandingR2T must be an integer 1\.\.65535 \(RFC 7143 §13\.17\), got 0$/],
    [['--negotiate', 'FirstBurstLength=1048576'], /^--negotiate: FirstBurstLength 1048576 is above MaxBurstLength 262144 \(RFC 7143 §13\.14\)$/],
    [['--negotiate', 'DataDigest=MD5'], /^--negotiate: DataDigest must list 'CRC32C' and\/or 'None', each once, in the order offered \(RFC 7143 §13\.1\), got \["MD5"\]$/],
    [['--negotiate', 'InitialR2T=No', '--negotiate', 'InitialR2T=Yes'], /^--negotiate gives InitialR2T twice; give it once$/],
  ])('%j: %s', (argv, message) => {
    const r = parseServeCli(argv);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.message).toMatch(message);
  });

  test('ports 0 and 65535, addresses of both families', () => {
    expect(parseServeCli(['--port', '65535'])).toMatchObject({ ok: true, args: { port: 65535 } });
    expect(parseServeCli(['--address', '0.0.0.0'])).toMatchObject({ ok: true, args: { address: '0.0.0.0' } });
    expect(parseServeCli(['--address', 'fe80::1'])).toMatchObject({ ok: true, args: { address: 'fe80::1' } });
  });

  test.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--task-aborted-status=yes'], /^Option '--task-aborted-status' does not take an argument$/],
    [['--task-aborted-status', '1'], /Unexpected argument '1'/],
    [['extra'], /Unexpected argument 'extra'/],
    [['--image'], /Option '--image <value>' argument missing/],
    [['--image', ''], /--image needs a path/],
    [['--size', '12Q'], /--size must be a positive size such as 64M or 1G, got '12Q'/],
    [['--size', '0'], /--size must be a positive size/],
    [['--size', '1000'], /--size 1000 is not a multiple of the 512-byte block size/],
    [['--size', '6K', '--block-size', '4096'], /--size 6144 is not a multiple of the 4096-byte block size/],
    [['--block-size', '1024'], /--block-size must be 512 or 4096, got '1024'/],
    [['--physical-block-size', '256'], /--physical-block-size must be the 512-byte block size times a power of two up to 2\^15, got '256'/],
    [['--physical-block-size', '1536'], /--physical-block-size must be the 512-byte block size times a power of two/],
    [['--physical-block-size', '2048', '--block-size', '4096'], /--physical-block-size must be the 4096-byte block size times a power of two/],
    [['--physical-block-size', String(512 * 2 ** 16)], /up to 2\^15, got '33554432'/],
    [['--physical-block-size', '4k'], /--physical-block-size must be/],
    [['--queue-size', '100'], /--queue-size must be a power of two in 4\.\.32768, got '100'/],
    [['--queue-size', '65536'], /--queue-size must be a power of two in 4\.\.32768, got '65536'/],
    [['--queue-size', '2'], /--queue-size must be a power of two in 4\.\.32768, got '2'/],
    [['--size', '99999T'], /--size 99999T is too large: at most 8191T/],
    [['--read-only', '--read-only'], /--read-only is given twice \('--read-only', then '--read-only'\); give it once/],
    [['--port', '3260', '--port', '3261'], /--port is given twice \('--port 3260', then '--port 3261'\)/],
    [['--queue-size', '0'], /--queue-size must be a power of two/],
    [['--transport', 'vhost-user'], /--transport must be local or worker, got 'vhost-user'/],
    [['--transport', 'Worker'], /--transport must be local or worker, got 'Worker'/],
    [['--transport', ''], /--transport must be local or worker, got ''/],
    [['--queues', '0'], /--queues must be a whole number of request queues in 1\.\.64, got '0'/],
    [['--queues', '65'], /--queues must be a whole number of request queues in 1\.\.64, got '65'/],
    [['--queues', '2.5'], /--queues must be a whole number/],
    [['--queues', '0x2'], /--queues must be a whole number/],
    [['--queues', ''], /--queues must be a whole number/],
    [['--queues', '-1'], /Option '--queues' argument is ambiguous/],
    [['--poll-us', '50'], /--poll-us applies to transport worker only \(device worker threads\), not local; use --transport worker or drop --poll-us/],
    [['--image', 'disk.img', '--io', 'direct'], /--io must be auto, async or sync, got 'direct'/],
    [['--image', 'disk.img', '--io', 'SYNC'], /--io must be auto, async or sync, got 'SYNC'/],
    [['--image', 'disk.img', '--io', ''], /--io must be auto, async or sync, got ''/],
    [['--io', 'sync'], /--io applies to an image file \(--image PATH\); a memory disk is read and written in place/],
    [['--image', 'disk.img', '--transport', 'worker', '--io', 'sync'], /--io applies to transport local; device workers always do blocking I\/O in their own threads \(drop --io\)/],
    [['--transport', 'local', '--poll-us', '0'], /--poll-us applies to transport worker only/],
    [['--max-bandwidth', '0'], /^--max-bandwidth must be a positive rate in bytes per second such as 32M or 500K, got '0'$/],
    [['--max-bandwidth', '-1'], /Option '--max-bandwidth' argument is ambiguous/],
    [['--max-bandwidth', '1.5M'], /^--max-bandwidth must be a positive rate in bytes per second such as 32M or 500K, got '1\.5M'$/],
    [['--max-bandwidth', '32M/s'], /^--max-bandwidth must be a positive rate in bytes per second such as 32M or 500K, got '32M\/s'$/],
    [['--max-bandwidth', 'fast'], /^--max-bandwidth must be a positive rate/],
    [['--max-bandwidth', ''], /^--max-bandwidth must be a positive rate in bytes per second such as 32M or 500K, got ''$/],
    [['--max-bandwidth', '99999999T'], /^--max-bandwidth must be a positive rate/],
    [['--max-bandwidth', '32M', '--transport', 'worker'], /^--max-bandwidth applies to transport local: device workers do their I\/O in their own threads, outside the limit \(drop --transport worker\)$/],
    [['--max-bandwidth', '32M', '--image', 'disk.img', '--io', 'sync'], /^--max-bandwidth and --io sync do not combine: a limited disk waits between requests, so its I\/O goes through the thread pool \(drop --io sync\)$/],
    [['--max-bandwidth', '32M', '--image', 'disk.img', '--io', 'auto'], /^--max-bandwidth and --io auto do not combine: a limited disk waits between requests, so its I\/O goes through the thread pool \(drop --io auto\)$/],
    [['--transport', 'worker', '--poll-us', '10001'], /--poll-us must be a whole number of microseconds in 0\.\.10000, got '10001'/],
    [['--transport', 'worker', '--poll-us', '1e3'], /--poll-us must be a whole number of microseconds/],
    [['--transport', 'worker', '--poll-us', ''], /--poll-us must be a whole number of microseconds/],
    [['--data-out-budget', String(32 * 2 ** 20 - 1)], /^--data-out-budget must be a size of at least 32M \(one command of the LUN's maximum transfer\), such as 256M or 1G, got '33554431'$/],
    [['--data-out-budget', '0'], /^--data-out-budget must be a size of at least 32M/],
    [['--data-out-budget', 'lots'], /^--data-out-budget must be a size of at least 32M .*, got 'lots'$/],
    [['--data-out-budget', ''], /^--data-out-budget must be a size of at least 32M/],
    [['--max-connections', '0'], /^--max-connections must be a whole number of connections, at least 1, got '0'$/],
    [['--max-connections', '2.5'], /^--max-connections must be a whole number of connections, at least 1, got '2\.5'$/],
    [['--max-connections', 'many'], /^--max-connections must be a whole number of connections, at least 1, got 'many'$/],
    [['--max-connections', ''], /^--max-connections must be a whole number of connections, at least 1, got ''$/],
    [['--max-connections', '99999999999999999999'], /^--max-connections must be a whole number of connections, at least 1, got '99999999999999999999'$/],
    [['--max-connections', '-1'], /Option '--max-connections' argument is ambiguous/],
    [['--busy-poll-us', '10001'], /^--busy-poll-us must be a whole number of microseconds in 0\.\.10000 \(0: off\), got '10001'$/],
    [['--busy-poll-us', '50.5'], /^--busy-poll-us must be a whole number of microseconds/],
    [['--busy-poll-us', ''], /^--busy-poll-us must be a whole number of microseconds in 0\.\.10000 \(0: off\), got ''$/],
    [['--busy-poll-us', '-1'], /Option '--busy-poll-us' argument is ambiguous/],
    [['--serial', ''], /^--serial needs 1\.\.20 printable ASCII characters, got ''$/],
    [['--serial', '012345678901234567890'], /^--serial is 21 characters; the device's GET_ID carries at most 20 \(VIRTIO 1\.2 §5\.2\.6\), got '012345678901234567890'$/],
    [['--serial', 'disk\t1'], /^--serial must be printable ASCII \(20h\.\.7Eh\), got "disk\\t1": character 5 is U\+0009$/],
    [['--serial', 'DISK\x7f'], /^--serial must be printable ASCII \(20h\.\.7Eh\), got "DISK\x7f": character 5 is U\+007F$/],
    [['--serial', 'dísk'], /^--serial must be printable ASCII \(20h\.\.7Eh\), got "dísk": character 2 is U\+00ED$/],
    [['--serial', '💾1'], /^--serial must be printable ASCII .*: character 1 is U\+1F4BE$/],
    [['--serial', ' disk'], /^--serial must not begin or end with a space \(the unit serial number is trimmed of them\), got ' disk'$/],
    [['--serial', 'disk '], /^--serial must not begin or end with a space/],
    [['--serial', 'a', '--serial', 'b'], /^--serial is given twice/],
    [['--port', '65536'], /--port must be a TCP port in 0\.\.65535 \(0 picks a free one\), got '65536'/],
    [['--port', 'x'], /--port must be a TCP port in 0\.\.65535/],
    [['--port', '-1'], /Option '--port' argument is ambiguous/],
    [['--port', '3260.5'], /--port must be a TCP port/],
    [['--address', 'localhost'], /--address must be an IPv4 or IPv6 address such as 127\.0\.0\.1 or ::1, got 'localhost'/],
    [['--address', '127.0.0.256'], /--address must be an IPv4 or IPv6 address/],
    [['--target-name', 'disk0'], /--target-name 'disk0' is not an iSCSI name: use iqn\.YYYY-MM\.reversed\.domain\[:name\], eui\.<16 hex digits> or naa\.<16 or 32 hex digits>/],
    [['--target-name', 'iqn.2026-13.org.vtcam:disk0'], /--target-name 'iqn\.2026-13\.org\.vtcam:disk0' is not an iSCSI name/],
    [['--target-name', 'iqn.2026-11.org.vtcam:Disk0'], /has capital letters; iSCSI names are compared in lower case \(RFC 3722\)/],
    [['--target-name', `iqn.2026-11.org.vtcam:${'a'.repeat(202)}`], /--target-name 'iqn\.2026-11\.org\.vtcam:a+' is 224 bytes; an iSCSI name is at most 223/],
    [['--chap-user', 'alice'], /--chap-user needs --chap-secret/],
    [['--chap-secret', 'twelve-bytes'], /--chap-secret needs --chap-user/],
    [['--chap-user', 'alice', '--chap-secret', 'short'], /--chap-secret must be at least 12 bytes \(96 bits; RFC 7143 wants IPsec below that\), got 5/],
    [['--chap-user', 'al ice', '--chap-secret', 'twelve-bytes'], /--chap-user must be printable ASCII without spaces, got 'al ice'/],
    [['--chap-mutual-user', 'target', '--chap-mutual-secret', 'another-secret'], /mutual CHAP \(--chap-mutual-user\) needs --chap-user and --chap-secret too/],
    [['--chap-user', 'a', '--chap-secret', 'twelve-bytes', '--chap-mutual-user', 'target'], /--chap-mutual-user needs --chap-mutual-secret/],
    [['--chap-user', 'a', '--chap-secret', 'twelve-bytes', '--chap-mutual-secret', 'another-secret'], /--chap-mutual-secret needs --chap-mutual-user/],
    [['--chap-user', 'a', '--chap-secret', 'twelve-bytes', '--chap-mutual-user', 't', '--chap-mutual-secret', 'short'], /--chap-mutual-secret must be at least 12 bytes/],
    [['--chap-user', 'a', '--chap-secret', 'twelve-bytes', '--chap-mutual-user', 'tar\tget', '--chap-mutual-secret', 'another-secret'], /--chap-mutual-user must be printable ASCII/],
    [['--chap-user', 'a', '--chap-secret', 'twelve-bytes', '--chap-mutual-user', 't', '--chap-mutual-secret', 'twelve-bytes'], /--chap-mutual-secret must differ from --chap-secret/],
  ] as const)('%j', (argv, re) => {
    const r = parseServeCli(argv);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(re);
  });
});

describe('vtcam serve on the command line', () => {
  test('parseCli dispatches serve and its --help', () => {
    expect(parseCli(['serve', '--port', '0'])).toMatchObject({ ok: true, args: { command: 'serve', serve: { port: 0 } } });
    expect(parseCli(['serve', '--help'])).toEqual({ ok: true, args: { command: 'help' } });
    expect(parseCli(['serve', '-h'])).toEqual({ ok: true, args: { command: 'help' } });
  });

  test('a bad flag exits 2 with the message and the usage hint, before anything starts', async () => {
    const io = capture();
    expect(await main(['serve', '--port', '99999'], io)).toBe(2);
    expect(io.errors.join('\n')).toMatch(/--port must be a TCP port in 0\.\.65535 \(0 picks a free one\), got '99999'\nTry 'vtcam --help' for the options\./);
    expect(io.lines).toEqual([]);
  });

  test.each([
    [['serve', '--queues', '0'], /^--queues must be a whole number of request queues in 1\.\.64, got '0'\nTry 'vtcam --help'/],
    [['serve', '--transport', 'threads'], /^--transport must be local or worker, got 'threads'\nTry 'vtcam --help'/],
    [['serve', '--transport', 'local', '--poll-us', '10'], /^--poll-us applies to transport worker only/],
    [['serve', '--io', 'sync'], /^--io applies to an image file \(--image PATH\)/],
    [['serve', '--max-connections', '0'], /^--max-connections must be a whole number of connections, at least 1, got '0'\nTry 'vtcam --help'/],
    [['serve', '--busy-poll-us', 'fast'], /^--busy-poll-us must be a whole number of microseconds in 0\.\.10000 \(0: off\), got 'fast'\nTry 'vtcam --help'/],
    [['serve', '--transport', 'worker', '--max-bandwidth', '8M'], /^--max-bandwidth applies to transport local: .*\nTry 'vtcam --help'/],
    [['serve', '--serial', 'x'.repeat(21)], /^--serial is 21 characters; the device's GET_ID carries at most 20 .*\nTry 'vtcam --help'/],
    [['serve', '--serial', 'a\nb'], /^--serial must be printable ASCII \(20h\.\.7Eh\), got "a\\nb": character 2 is U\+000A\nTry 'vtcam --help'/],
    [['serve', '--task-aborted-status=1'], /^Option '--task-aborted-status' does not take an argument\nTry 'vtcam --help'/],
  ] as const)('%j exits 2 naming the flag', async (argv, re) => {
    const io = capture();
    expect(await main(argv, io)).toBe(2);
    expect(io.errors.join('\n')).toMatch(re);
    expect(io.lines).toEqual([]);
  });

  test('--help lists the serve options', async () => {
    const io = capture();
    expect(await main(['serve', '--help'], io)).toBe(0);
    const text = io.lines.join('\n');
    for (const flag of ['--image', '--size', '--block-size', '--physical-block-size', '--queue-size', '--transport', '--queues', '--poll-us', '--busy-poll-us', '--data-out-budget', '--max-connections', '--io', '--max-bandwidth', '--read-only', '--thin', '--removable', '--task-aborted-status', '--serial', '--address', '--port', '--target-name', '--chap-user', '--chap-secret', '--chap-mutual-user', '--chap-mutual-secret']) {
      expect(text).toContain(flag);
    }
  });
});

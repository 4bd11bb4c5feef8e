// `vtcam serve` around the iSCSI server: what it builds and hands the server,
// what it prints, how it stops. The server is a placeholder standing in for
// IscsiServer (its own tests log in over TCP): it records the options, and the
// tests drive the exported LUN through the pass periph it was given.

import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { IscsiServerOptions } from '../../src/iscsi/server.js';
import type { PassPeriph } from '../../src/cam/periph/pass.js';
import type { ScsiResult } from '../../src/cam/periph/request.js';
import { reportDeviceLoss, runServe, syncGateClosed, type ServeEnv, type ServingTarget, type ShutdownSignal } from '../../src/cli/serve.js';
import { parseServeCli, type ServeArgs } from '../../src/cli/serve-args.js';
import { ThrottledBackend } from '../../src/virtio/device/backends/throttled.js';
import { SharedMemoryBackend } from '../../src/virtio/device/backends/shared-memory.js';
import { WorkerTransport } from '../../src/virtio/transport/worker.js';
import { createStack } from '../../src/stack.js';
import { capture, type CapturedIo } from './capture.js';
import { unitIdentity, type UnitIdentity } from '../stack/identity.js';

/** Device threads the stack starts for 2 queues: one per queue, at most the CPUs beside the main thread. */
const threadCount2 = Math.min(2, Math.max(1, availableParallelism() - 1));
const threadsFor2 = threadCount2 === 1 ? '1 device worker thread' : '2 device worker threads';

// serve.ts imports IscsiServer for its default environment; these tests pass
// their own, so the real module (and its state of the day) is not loaded.
vi.mock('../../src/iscsi/server.js', () => ({
  IscsiServer: {
    listen: () => Promise.reject(new Error('the real IscsiServer is not used in these tests')),
  },
}));

interface Placeholder {
  readonly env: ServeEnv;
  /** The options serve listened with. */
  opts(): IscsiServerOptions;
  pass(): PassPeriph;
  signal(s: ShutdownSignal): void;
  readonly exits: number[];
  readonly events: string[];
  /** Resolve the server's close() (it waits until then when `holdClose`). */
  releaseClose(): void;
}

function placeholder(opts: { holdClose?: boolean; boundPort?: number; listenError?: () => Promise<never> } = {}): Placeholder {
  let got: IscsiServerOptions | undefined;
  let handler: ((s: ShutdownSignal) => void) | undefined;
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => (release = r));
  const exits: number[] = [];
  const events: string[] = [];
  const p: Placeholder = {
    env: {
      listen: async (o): Promise<ServingTarget> => {
        if (opts.listenError !== undefined) return opts.listenError();
        got = o;
        return {
          address: { address: o.address ?? '127.0.0.1', port: opts.boundPort ?? o.port ?? 3260 },
          sessions: 2,
          close: async () => {
            events.push('close started');
            // The stack must still serve while the server lets in-flight commands complete.
            const tur = await p.pass().scsi({ cdb: new Uint8Array(6), direction: 'none' });
            events.push(`TUR during close: status ${tur.scsiStatus}, cam ${tur.camStatus & 0x3f}`);
            if (opts.holdClose === true) await released;
            events.push('close done');
          },
        };
      },
      onSignal: (h) => {
        handler = h;
        events.push('signals on');
        return () => {
          handler = undefined;
          events.push('signals off');
        };
      },
      exit: (code) => {
        exits.push(code);
      },
    },
    opts: () => {
      if (got === undefined) throw new Error('serve did not listen');
      return got;
    },
    pass: () => {
      const lun = p.opts().targets[0]?.luns[0];
      if (lun === undefined) throw new Error('no LUN 0');
      return lun.pass;
    },
    signal: (s) => {
      if (handler === undefined) throw new Error('no signal handler installed');
      handler(s);
    },
    exits,
    events,
    releaseClose: () => {
      release();
    },
  };
  return p;
}

function args(argv: string[]): ServeArgs {
  const r = parseServeCli(argv);
  if (!r.ok) throw new Error(r.message);
  return r.args;
}

/** Starts serve and waits for the READY line; `run` settles with the exit status once serve stops. */
async function serve(argv: string[], p: Placeholder, io: CapturedIo): Promise<{ run: Promise<number> }> {
  const run = runServe(args(argv), io, p.env);
  for (let i = 0; i < 500 && !io.lines.some((l) => l.startsWith('READY ')); i++) {
    const early = await Promise.race([run, new Promise<undefined>((r) => setTimeout(() => { r(undefined); }, 10))]);
    if (early !== undefined) throw new Error(`serve ended with ${early} before READY: ${io.errors.join(' | ')}`);
  }
  // Wrapped: an async function returning the promise itself would wait for it.
  return { run };
}

/** A command through the exported LUN; a pending unit attention is taken first, as an initiator would. */
async function cmd(pass: PassPeriph, cdb: number[], dir: 'in' | 'out' | 'none', lenOrData?: number | Uint8Array): Promise<ScsiResult> {
  const req = { cdb: Uint8Array.from(cdb), direction: dir, ...(dir === 'in' ? { length: lenOrData as number } : dir === 'out' ? { data: lenOrData as Uint8Array } : {}) };
  const r = await pass.scsi(req);
  return r.senseData?.key === 0x6 ? pass.scsi(req) : r;
}

const READ_CAPACITY_16 = [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];
const WRITE_10_LBA_0_ONE_BLOCK = [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0];
const INQUIRY = [0x12, 0, 0, 0, 36, 0];
/** MODE SENSE (6) (SPC-5): DBD 1 (byte 1 bit 3), PC 00b and PAGE CODE 0Ah (Control), ALLOCATION LENGTH 64. */
const MODE_SENSE_CONTROL = [0x1a, 0x08, 0x0a, 0, 64, 0];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vtcam-serve-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('vtcam serve, defaults', () => {
  test('a 1 GiB memory disk on the local transport as LUN 0 of iqn.2026-11.org.vtcam:disk0 on 127.0.0.1:3260; banner, then READY last', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve([], p, io);
    const o = p.opts();
    expect(o.address).toBe('127.0.0.1');
    expect(o.port).toBe(3260);
    expect(o.busyPollUs).toBe(200);
    // The server's own default Data-Out budget.
    expect(o.dataOutBudget).toBeUndefined();
    expect(o.connectionLimit).toBe(1024);
    expect(o.targets).toHaveLength(1);
    expect(o.targets[0]).toMatchObject({ name: 'iqn.2026-11.org.vtcam:disk0' });
    expect(o.targets[0]?.chap).toBeUndefined();
    expect(o.targets[0]?.luns.map((l) => l.lun)).toEqual([0]);
    const rc = await cmd(p.pass(), READ_CAPACITY_16, 'in', 32);
    const v = new DataView((rc.data ?? new Uint8Array(32)).buffer, rc.data?.byteOffset);
    expect(v.getBigUint64(0) + 1n).toBe(2_097_152n);
    expect(v.getUint32(8)).toBe(512);
    expect(v.getUint8(14) & 0x80).toBe(0); // LBPME 0: fully provisioned

    expect(io.lines[0]).toBe('vtcam serve: iSCSI target listening on 127.0.0.1:3260');
    expect(io.lines[1]).toBe('  target  iqn.2026-11.org.vtcam:disk0');
    expect(io.lines[2]).toMatch(/^ {2}LUN 0 {3}<VTCAM VIRTIO-BLK \S+> +at scbus\d+ target 0 lun 0 \(pass0,da0\) {2}2097152 × 512 B \(1 GiB\)$/);
    expect(io.lines[3]).toMatch(/^ {2}serial {2}vtcam-[0-9a-f]{14}, NAA 3[0-9a-f]{15} \(random for this memory disk; --serial sets one\)$/);
    expect(io.lines[4]).toBe('  disk    memory (sparse) · 1 GiB · read-write · fully provisioned');
    expect(io.lines[5]).toBe('  virtio  transport local (device on the main thread) · 1 queue × ring 128');
    expect(io.lines[6]).toBe('  auth    none: any initiator may log in');
    expect(io.lines[7]).toBe('  loop    polls 200 µs after each PDU before sleeping (--busy-poll-us 0 to save the CPU)');
    expect(io.lines).toContain('  iscsi-inq iscsi://127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0');
    expect(io.lines).toContain('  qemu-system-x86_64 … -drive file=iscsi://127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0,format=raw,if=virtio');
    expect(io.lines.at(-1)).toBe('READY iscsi://127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0');
    expect(io.lines.filter((l) => l.startsWith('READY'))).toHaveLength(1);

    p.signal('SIGINT');
    expect(await run).toBe(0);
    expect(p.exits).toEqual([]);
    expect(io.errors).toEqual(['SIGINT: stopping; 2 session(s) finish their commands first (Ctrl-C again to force)', 'stopped']);
  });

  test('--busy-poll-us 0: the portal sleeps when idle, and the banner says so', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve(['--busy-poll-us', '0'], p, io);
    expect(p.opts().busyPollUs).toBe(0);
    expect(io.lines[7]).toBe('  loop    sleeps when idle (--busy-poll-us 0)');
    p.signal('SIGINT');
    expect(await run).toBe(0);
  });

  test('--data-out-budget 512M: the portal is given that budget', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve(['--data-out-budget', '512M'], p, io);
    expect(p.opts().dataOutBudget).toBe(512 * 2 ** 20);
    p.signal('SIGINT');
    expect(await run).toBe(0);
  });

  test('--max-connections 8: the portal serves at most 8 connections', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve(['--max-connections', '8'], p, io);
    expect(p.opts().connectionLimit).toBe(8);
    p.signal('SIGINT');
    expect(await run).toBe(0);
  });

  test('shutdown order: the server closes while the stack still serves, then the stack is closed; signal handlers removed', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve([], p, io);
    const pass = p.pass();
    p.signal('SIGTERM');
    expect(await run).toBe(0);
    expect(p.events).toEqual(['signals on', 'close started', 'TUR during close: status 0, cam 1', 'close done', 'signals off']);
    const after = await pass.scsi({ cdb: new Uint8Array(6), direction: 'none' });
    expect(after.camStatus & 0x3f).not.toBe(1); // the stack is gone: not REQ_CMP
  });

  test('the server logs to stderr', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve([], p, io);
    p.opts().log?.('login from iqn.1993-08.org.debian:01:abc');
    expect(io.errors).toEqual(['login from iqn.1993-08.org.debian:01:abc']);
    p.signal('SIGINT');
    await run;
  });
});

describe('stopping', () => {
  test('a second Ctrl-C while in-flight commands drain forces exit 130', async () => {
    const p = placeholder({ holdClose: true });
    const io = capture();
    const { run } = await serve([], p, io);
    p.signal('SIGINT');
    await vi.waitFor(() => {
      expect(p.events).toContain('close started');
    });
    p.signal('SIGINT');
    expect(p.exits).toEqual([130]);
    expect(io.errors).toContain('SIGINT again: exiting without waiting');
    p.releaseClose();
    await run;
  });

  test('a second SIGTERM forces exit 143 (128 + 15)', async () => {
    const p = placeholder({ holdClose: true });
    const io = capture();
    const { run } = await serve([], p, io);
    p.signal('SIGTERM');
    p.signal('SIGTERM');
    expect(p.exits).toEqual([143]);
    p.releaseClose();
    await run;
  });
});

describe('listening fails', () => {
  let busy: Server;
  let busyPort = 0;
  beforeEach(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const a = busy.address();
    busyPort = typeof a === 'object' && a !== null ? a.port : 0;
  });
  afterEach(async () => {
    await new Promise<void>((r) => busy.close(() => { r(); }));
  });

  /** A listen that binds for real, so the error is the one Node gives. */
  const realBind = (o: IscsiServerOptions): Promise<never> =>
    new Promise((_, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(o.port, o.address, () => {
        s.close();
        reject(new Error('unexpectedly bound'));
      });
    });

  test('port in use: a message that says what to do, exit 1, nothing READY', async () => {
    const io = capture();
    let bind: IscsiServerOptions | undefined;
    const p = placeholder({ listenError: () => realBind(bind ?? { targets: [] }) });
    const env: ServeEnv = { ...p.env, listen: (o) => { bind = o; return p.env.listen(o); } };
    expect(await runServe(args(['--port', String(busyPort)]), io, env)).toBe(1);
    expect(io.errors).toEqual([`port ${busyPort} on 127.0.0.1 is already in use (another iSCSI target?); stop it or pick another with --port (--port 0 takes any free one)`]);
    expect(io.lines).toEqual([]);
  });

  test('an address this machine does not have', async () => {
    const io = capture();
    const err = Object.assign(new Error('listen EADDRNOTAVAIL: address not available 192.0.2.1:3260'), { code: 'EADDRNOTAVAIL' });
    const p = placeholder({ listenError: () => Promise.reject(err) });
    expect(await runServe(args(['--address', '192.0.2.1']), io, p.env)).toBe(1);
    expect(io.errors).toEqual(['192.0.2.1 is not an address of this machine; pass one it has with --address (default 127.0.0.1)']);
  });

  test('any other listen error is passed on in words', async () => {
    const io = capture();
    const p = placeholder({ listenError: () => Promise.reject(new Error('something odd')) });
    expect(await runServe(args([]), io, p.env)).toBe(1);
    expect(io.errors).toEqual(['cannot listen on 127.0.0.1:3260: something odd']);
  });

  test('an IPv6 address in a message is in brackets, so its port stands apart', async () => {
    const io = capture();
    const p = placeholder({ listenError: () => Promise.reject(new Error('something odd')) });
    expect(await runServe(args(['--address', 'fd00::5', '--port', '0']), io, p.env)).toBe(1);
    expect(io.errors).toEqual(['cannot listen on [fd00::5]:0: something odd']);
  });

  test('a link-local address without its interface (bind gives EINVAL): say to add %IFACE', async () => {
    const io = capture();
    const err = Object.assign(new Error('listen EINVAL: invalid argument fe80::1'), { code: 'EINVAL' });
    const p = placeholder({ listenError: () => Promise.reject(err) });
    expect(await runServe(args(['--address', 'fe80::1', '--port', '0']), io, p.env)).toBe(1);
    expect(io.errors).toEqual(['fe80::1 is a link-local address, which needs its interface: --address fe80::1%IFACE (such as %eth0; ip -6 addr lists them)']);
  });
});

describe('--image', () => {
  test('a missing image without --size is refused: exit 1, the message says how to create one', async () => {
    const io = capture();
    const p = placeholder();
    const path = join(dir, 'missing.img');
    expect(await runServe(args(['--image', path]), io, p.env)).toBe(1);
    expect(io.errors).toEqual([`image ${path} not found; add --size SIZE to create it sparse (e.g. --size 1G)`]);
    expect(() => p.opts()).toThrow(/did not listen/);
  });

  test('a missing image in a missing directory: create the directory (--size would not help)', async () => {
    const io = capture();
    const path = join(dir, 'gone', 'x.img');
    expect(await runServe(args(['--image', path]), io, placeholder().env)).toBe(1);
    expect(io.errors).toEqual([`image ${path} not found: its directory ${join(dir, 'gone')} does not exist either; create it (mkdir -p ${join(dir, 'gone')}) or give --image another path`]);
  });

  test('an empty image: delete it and add --size, or pad it', async () => {
    const io = capture();
    const path = join(dir, 'empty.img');
    writeFileSync(path, new Uint8Array(0));
    expect(await runServe(args(['--image', path]), io, placeholder().env)).toBe(1);
    expect(io.errors).toEqual([`image ${path} is empty (0 bytes); delete it and add --size SIZE to create it anew, or pad it (truncate -s 64M ${path})`]);
  });

  test('a missing image with --size is created sparse; writes reach it by the time serve exits', async () => {
    const io = capture();
    const p = placeholder();
    const path = join(dir, 'new.img');
    const { run } = await serve(['--image', path, '--size', '4M'], p, io);
    expect(statSync(path).size).toBe(4 * 2 ** 20);
    expect(io.lines[4]).toBe(`  disk    file ${path} (created sparse) (io auto: on the event loop while the page cache answers) · 4 MiB · read-write · fully provisioned`);
    const w = await cmd(p.pass(), WRITE_10_LBA_0_ONE_BLOCK, 'out', new Uint8Array(512).fill(0xa5));
    expect(w.scsiStatus).toBe(0);
    p.signal('SIGTERM');
    expect(await run).toBe(0);
    expect(readFileSync(path).subarray(0, 512)).toEqual(Buffer.alloc(512, 0xa5));
  });

  test('an existing image keeps its size; a different --size is reported as ignored', async () => {
    const io = capture();
    const p = placeholder();
    const path = join(dir, 'old.img');
    writeFileSync(path, new Uint8Array(2 * 2 ** 20));
    const { run } = await serve(['--image', path, '--size', '8M'], p, io);
    expect(io.errors).toEqual([`image ${path} exists (2097152 bytes); --size is ignored`]);
    expect(io.lines[4]).toBe(`  disk    file ${path} (io auto: on the event loop while the page cache answers) · 2 MiB · read-write · fully provisioned`);
    p.signal('SIGINT');
    expect(await run).toBe(0);
  });

  /** Serves `argv` until READY, reads the LUN's identity and the banner's serial line, and stops. */
  async function identityOf(argv: string[]): Promise<UnitIdentity & { readonly banner: string | undefined }> {
    const p = placeholder();
    const io = capture();
    const { run } = await serve(argv, p, io);
    const id = await unitIdentity(p.pass());
    p.signal('SIGINT');
    expect(await run).toBe(0);
    return { ...id, banner: io.lines[3] };
  }

  test('two images: two serial numbers (80h) and two NAA designators (83h), each said in the banner', async () => {
    const a = join(dir, 'a.img'), b = join(dir, 'b.img');
    writeFileSync(a, new Uint8Array(1 << 20));
    writeFileSync(b, new Uint8Array(1 << 20));
    const ia = await identityOf(['--image', a]);
    const ib = await identityOf(['--image', b]);
    expect(ia.serial).toMatch(/^vtcam-[0-9a-f]{14}$/); // GET_ID's 20 bytes
    expect(ib.serial).toMatch(/^vtcam-[0-9a-f]{14}$/);
    expect(ib.serial).not.toBe(ia.serial);
    expect(ib.naa).not.toBe(ia.naa);
    expect(ib.t10).toBe(`VTCAM   ${ib.serial}`);
    expect(ia.banner).toBe(`  serial  ${ia.serial}, NAA ${ia.naa} (the image file's own: the same each time it is served)`);
  });

  test('the same image served again answers the same identity, also renamed; a copy of it its own', async () => {
    const a = join(dir, 'a.img');
    writeFileSync(a, new Uint8Array(1 << 20));
    const first = await identityOf(['--image', a]);
    expect(await identityOf(['--image', a, '--read-only'])).toEqual(first);
    const moved = join(dir, 'moved.img');
    renameSync(a, moved);
    expect(await identityOf(['--image', moved, '--transport', 'worker'])).toEqual(first);
    const copy = join(dir, 'copy.img');
    copyFileSync(moved, copy);
    expect((await identityOf(['--image', copy])).serial).not.toBe(first.serial);
  });

  test("--serial overrides the image file's own", async () => {
    const a = join(dir, 'a.img');
    writeFileSync(a, new Uint8Array(1 << 20));
    const id = await identityOf(['--image', a, '--serial', 'IMG-A']);
    expect(id).toMatchObject({ serial: 'IMG-A', t10: 'VTCAM   IMG-A', banner: `  serial  IMG-A, NAA ${id.naa} (--serial)` });
  });

  test('an image that is not a multiple of the block size: the backend says how to fix it, exit 1', async () => {
    const io = capture();
    const path = join(dir, 'odd.img');
    writeFileSync(path, new Uint8Array(1000));
    expect(await runServe(args(['--image', path]), io, placeholder().env)).toBe(1);
    expect(io.errors.join('\n')).toMatch(/not a multiple of 512; pad it with `truncate -s 1024/);
  });
});

describe('device personalities', () => {
  async function withServe(argv: string[], body: (pass: PassPeriph, io: CapturedIo) => Promise<void>): Promise<void> {
    const p = placeholder();
    const io = capture();
    const { run } = await serve([...argv, '--size', '16M'], p, io);
    await body(p.pass(), io);
    p.signal('SIGINT');
    expect(await run).toBe(0);
  }

  test('--thin: LBPME 1 in READ CAPACITY (16)', async () => {
    await withServe(['--thin'], async (pass, io) => {
      const rc = await cmd(pass, READ_CAPACITY_16, 'in', 32);
      expect((rc.data?.[14] ?? 0) & 0x80).toBe(0x80);
      expect(io.lines[4]).toMatch(/ · thin-provisioned( · |$)/);
    });
  });

  test('--read-only: a WRITE fails with DATA PROTECT', async () => {
    await withServe(['--read-only'], async (pass, io) => {
      const w = await cmd(pass, WRITE_10_LBA_0_ONE_BLOCK, 'out', new Uint8Array(512));
      expect(w.scsiStatus).toBe(0x02);
      expect(w.senseData?.key).toBe(0x7);
      expect(io.lines[4]).toContain(' · read-only · ');
    });
  });

  test('--removable: RMB 1 in standard INQUIRY data', async () => {
    await withServe(['--removable'], async (pass, io) => {
      const inq = await cmd(pass, INQUIRY, 'in', 36);
      expect((inq.data?.[1] ?? 0) & 0x80).toBe(0x80);
      expect(io.lines[4]).toMatch(/ · removable$/);
    });
  });

  test('without --removable: RMB 0', async () => {
    await withServe([], async (pass) => {
      const inq = await cmd(pass, INQUIRY, 'in', 36);
      expect((inq.data?.[1] ?? 0) & 0x80).toBe(0);
    });
  });

  test('--task-aborted-status: TAS 1 in the Control mode page (MODE SENSE 0Ah, current values); the banner says so', async () => {
    await withServe(['--task-aborted-status'], async (pass, io) => {
      const ms = await cmd(pass, MODE_SENSE_CONTROL, 'in', 64);
      expect(ms.scsiStatus).toBe(0);
      // Mode parameter header (6) with no block descriptors, then PAGE CODE 0Ah, PAGE LENGTH 0Ah; TAS is byte 5 bit 6.
      expect([ms.data?.[3], ms.data?.[4], ms.data?.[5]]).toEqual([0, 0x0a, 0x0a]);
      expect((ms.data?.[4 + 5] ?? 0) & 0x40).toBe(0x40);
      expect(io.lines[4]).toMatch(/ · task aborted status \(TAS 1\)$/);
    });
  });

  test('without --task-aborted-status: TAS 0, and the banner does not mention it', async () => {
    await withServe(['--removable'], async (pass, io) => {
      const ms = await cmd(pass, MODE_SENSE_CONTROL, 'in', 64);
      expect(ms.data?.[4]).toBe(0x0a);
      expect((ms.data?.[4 + 5] ?? 0) & 0x40).toBe(0);
      expect(io.lines[4]).not.toContain('TAS');
    });
  });

  test('--physical-block-size 4096 on 512-byte blocks: LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT 3', async () => {
    await withServe(['--physical-block-size', '4096'], async (pass, io) => {
      const rc = await cmd(pass, READ_CAPACITY_16, 'in', 32);
      expect((rc.data?.[13] ?? 0) & 0x0f).toBe(3);
      expect(io.lines[4]).toMatch(/ · 4 KiB physical blocks$/);
    });
  });

  test('--serial: the unit serial number (80h) and the T10 vendor ID designator (83h) carry it; the NAA follows it, whatever the disk', async () => {
    let first: UnitIdentity | undefined;
    await withServe(['--serial', 'LAB DISK-01'], async (pass) => {
      first = await unitIdentity(pass);
    });
    expect(first).toMatchObject({ serial: 'LAB DISK-01', t10: 'VTCAM   LAB DISK-01' });
    expect(first?.naa).toMatch(/^3[0-9a-f]{15}$/); // NAA 3h, locally assigned
    let again: UnitIdentity | undefined;
    await withServe(['--serial', 'LAB DISK-01', '--thin'], async (pass) => {
      again = await unitIdentity(pass);
    });
    expect(again).toEqual(first);
  });

  test('--block-size 4096 and --queue-size 256 reach the device', async () => {
    await withServe(['--block-size', '4096', '--queue-size', '256'], async (pass, io) => {
      const rc = await cmd(pass, READ_CAPACITY_16, 'in', 32);
      expect(new DataView((rc.data ?? new Uint8Array(32)).buffer, rc.data?.byteOffset).getUint32(8)).toBe(4096);
      expect(io.lines[5]).toMatch(/ring 256$/);
    });
  });
});

/** WRITE (10) or READ (10) of one 512-byte block at `lba` (SBC-4: LBA in bytes 2..5, TRANSFER LENGTH in 7..8). */
function rw10(op: 0x28 | 0x2a, lba: number): number[] {
  return [op, 0, (lba >>> 24) & 0xff, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, 0, 1, 0];
}

/** Writes block i of `lbas` full of byte i + 1, all at once (spread over the queues), and reads each back. */
async function writeAndVerify(pass: PassPeriph, lbas: readonly number[]): Promise<void> {
  const writes = await Promise.all(lbas.map((lba, i) => cmd(pass, rw10(0x2a, lba), 'out', new Uint8Array(512).fill(i + 1))));
  expect(writes.map((w) => w.scsiStatus)).toEqual(lbas.map(() => 0));
  const reads = await Promise.all(lbas.map((lba) => cmd(pass, rw10(0x28, lba), 'in', 512)));
  reads.forEach((r, i) => {
    expect(r.scsiStatus).toBe(0);
    expect(r.data).toEqual(new Uint8Array(512).fill(i + 1));
  });
}

/** After serve exited: block `lbas[i]` of the image at `path` holds i + 1 (what writeAndVerify wrote). */
function expectWritten(path: string, lbas: readonly number[]): void {
  const image = readFileSync(path);
  lbas.forEach((lba, i) => {
    expect(image.subarray(lba * 512, (lba + 1) * 512)).toEqual(Buffer.alloc(512, i + 1));
  });
}

/** Live MessagePorts: each device worker holds one, so none left over means every worker ended. */
const messagePorts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;

describe('transports', () => {
  const LBAS = Array.from({ length: 32 }, (_, i) => i * 97);

  test('--transport worker without --image: a shared-memory disk served by device worker threads, which stop with serve', async () => {
    const portsBefore = messagePorts();
    const p = placeholder();
    const io = capture();
    const { run } = await serve(['--transport', 'worker', '--queues', '2', '--size', '16M'], p, io);
    expect(io.lines[4]).toBe('  disk    shared memory (sparse) · 16 MiB · read-write · fully provisioned');
    expect(io.lines[5]).toBe(`  virtio  transport worker (${threadsFor2}) · 2 queues × ring 128`);
    expect(messagePorts()).toBe(portsBefore + threadCount2);
    await writeAndVerify(p.pass(), LBAS);
    p.signal('SIGINT');
    expect(await run).toBe(0);
    expect(io.errors.at(-1)).toBe('stopped');
    expect(messagePorts()).toBe(portsBefore);
  });

  test('--transport worker on an image: what the workers write is in the file when serve exits; --poll-us in the banner', async () => {
    const p = placeholder();
    const io = capture();
    const path = join(dir, 'worker.img');
    const { run } = await serve(['--transport', 'worker', '--queues', '2', '--poll-us', '20', '--image', path, '--size', '1M'], p, io);
    expect(io.lines[4]).toBe(`  disk    file ${path} (created sparse) · 1 MiB · read-write · fully provisioned`);
    expect(io.lines[5]).toBe(`  virtio  transport worker (${threadsFor2}, polling 20 µs before sleeping) · 2 queues × ring 128`);
    const lbas = LBAS.map((lba) => lba % 2048);
    await writeAndVerify(p.pass(), lbas);
    p.signal('SIGTERM');
    expect(await run).toBe(0);
    expectWritten(path, lbas);
  });

  test('--io auto: the line logged when the image stops answering from the page cache says what happened and for how long', () => {
    expect(syncGateClosed({ backoffMs: 1000, slow: 16, ops: 40, slowMs: 3.24 })).toBe(
      'io auto: 16 of the last 40 image reads and writes took over 50 µs, 3.2 ms in all (not from the page cache); using the thread pool for 1 s',
    );
    expect(syncGateClosed({ backoffMs: 16_000, slow: 1, ops: 1, slowMs: 12 })).toMatch(/^io auto: 1 of the last 1 image .*, 12\.0 ms in all .* for 16 s$/);
  });

  test.each([
    [['--io', 'sync'], ' (io sync: pread/pwrite on the event loop)'],
    [['--io', 'async'], ''],
    [[], ' (io auto: on the event loop while the page cache answers)'],
  ])('--image with %j: the banner says which io (from the opened backend); reads and writes reach the file', async (ioFlags, label) => {
    const io = capture();
    const p = placeholder();
    const path = join(dir, 'sync.img');
    const { run } = await serve(['--image', path, '--size', '1M', ...ioFlags], p, io);
    expect(io.lines[4]).toBe(`  disk    file ${path} (created sparse)${label} · 1 MiB · read-write · fully provisioned`);
    const lbas = LBAS.map((lba) => lba % 2048);
    await writeAndVerify(p.pass(), lbas);
    p.signal('SIGTERM');
    expect(await run).toBe(0);
    expectWritten(path, lbas);
  });

  test('--transport worker --read-only: the shared-memory disk refuses writes with DATA PROTECT', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve(['--transport', 'worker', '--read-only', '--size', '1M'], p, io);
    expect(io.lines[4]).toBe('  disk    shared memory (sparse) · 1 MiB · read-only · fully provisioned');
    const w = await cmd(p.pass(), WRITE_10_LBA_0_ONE_BLOCK, 'out', new Uint8Array(512));
    expect(w.senseData?.key).toBe(0x7);
    p.signal('SIGINT');
    expect(await run).toBe(0);
  });

  test('--queues 4 on the local transport: the device offers four queues and serves across them', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve(['--queues', '4', '--size', '1M'], p, io);
    expect(io.lines[5]).toBe('  virtio  transport local (device on the main thread) · 4 queues × ring 128');
    await writeAndVerify(p.pass(), LBAS.map((lba) => lba % 2048));
    p.signal('SIGINT');
    expect(await run).toBe(0);
  });

  test('a memory disk shared memory cannot hold (args not from the parser, which refuses it): exit 1 saying what to do', async () => {
    const io = capture();
    const p = placeholder();
    const huge = { ...args(['--transport', 'worker']), size: Math.floor(Number.MAX_SAFE_INTEGER / 512) * 512 };
    expect(await runServe(huge, io, p.env)).toBe(1);
    expect(io.errors).toHaveLength(1);
    expect(io.errors[0]).toMatch(/^cannot allocate the memory disk: SharedMemoryBackend: .+; try a smaller --size or serve an image file with --image PATH$/);
    expect(() => p.opts()).toThrow(/did not listen/);
  });
});

// The limit's arithmetic is ThrottledBackend's tests' (fake timers); here, that
// serve puts it under the device, with the parsed rate, without waiting on it.
describe('a device lost while serving', () => {
  test('is said on stderr with the reason and what to do; a close after the unsubscribe says nothing', async () => {
    const stack = await createStack({ backend: new SharedMemoryBackend({ blocks: 256 }), transport: 'worker', queueSize: 32, memorySize: 16 << 20 });
    const io = capture();
    const quiet = reportDeviceLoss(stack, io);
    const t = stack.virtio.transport;
    if (!(t instanceof WorkerTransport)) throw new Error('not a worker transport');
    const lost = new Promise((resolve) => {
      t.onLost(resolve);
    });
    t.injectFault(0, 'exit');
    await lost;
    // The SIM drops the device once its reset finds the worker gone: wait for what serve prints.
    for (let i = 0; i < 200 && io.errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(io.errors).toEqual(['device lost: device worker 0 exited (code 70); the LUN answers LOGICAL UNIT NOT SUPPORTED until vtcam serve is restarted']);
    quiet();
    await stack.close();
    expect(io.errors).toHaveLength(1);
  });
});

describe('--max-bandwidth', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test('on an image: the device reads and writes through a ThrottledBackend at that rate; the banner says so; the data lands', async () => {
    const writes = vi.spyOn(ThrottledBackend.prototype, 'write');
    const reads = vi.spyOn(ThrottledBackend.prototype, 'read');
    const p = placeholder();
    const io = capture();
    const path = join(dir, 'limited.img');
    // Fast enough that nothing here waits for the bucket.
    const { run } = await serve(['--image', path, '--size', '1M', '--max-bandwidth', '1G'], p, io);
    expect(io.lines[4]).toBe(`  disk    file ${path} (created sparse) · 1 MiB · read-write · fully provisioned · at most 1 GiB/s`);
    const lbas = [0, 7, 2047];
    await writeAndVerify(p.pass(), lbas);
    expect(writes.mock.calls.map(([offset, src]) => [offset, src.length]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))).toEqual(lbas.map((lba) => [lba * 512, 512]));
    expect(reads.mock.calls.map(([offset]) => offset).filter((o) => lbas.includes(o / 512))).toHaveLength(lbas.length);
    const limited = writes.mock.contexts[0];
    expect(limited).toBeInstanceOf(ThrottledBackend);
    expect((limited as ThrottledBackend).bytesPerSecond).toBe(2 ** 30);
    p.signal('SIGTERM');
    expect(await run).toBe(0);
    expectWritten(path, lbas);
    // The shutdown closed the wrapper: nothing waits in it, and it takes nothing more.
    expect((limited as ThrottledBackend).waiting).toBe(0);
    expect(await (limited as ThrottledBackend).write(0, new Uint8Array(512))).toBe('io-error');
  });

  test('on the memory disk too; without the flag there is no limit', async () => {
    const writes = vi.spyOn(ThrottledBackend.prototype, 'write');
    for (const [argv, banner] of [
      [['--size', '1M', '--max-bandwidth', '48M'], '  disk    memory (sparse) · 1 MiB · read-write · fully provisioned · at most 48 MiB/s'],
      [['--size', '1M'], '  disk    memory (sparse) · 1 MiB · read-write · fully provisioned'],
    ] as const) {
      const p = placeholder();
      const io = capture();
      const { run } = await serve([...argv], p, io);
      expect(io.lines[4]).toBe(banner);
      await writeAndVerify(p.pass(), [1, 2]);
      p.signal('SIGINT');
      expect(await run).toBe(0);
    }
    // Two writes through the limited disk, none through the other.
    expect(writes).toHaveBeenCalledTimes(2);
  });
});

describe('addresses and names in what serve prints', () => {
  test('--port 0: the bound port in the banner and the READY line; IPv6 in brackets', async () => {
    const p = placeholder({ boundPort: 41234 });
    const io = capture();
    const { run } = await serve(['--address', '::1', '--port', '0', '--target-name', 'iqn.2026-11.org.example:lab'], p, io);
    expect(p.opts()).toMatchObject({ address: '::1', port: 0 });
    expect(io.lines[0]).toBe('vtcam serve: iSCSI target listening on [::1]:41234');
    expect(io.lines.at(-1)).toBe('READY iscsi://[::1]:41234/iqn.2026-11.org.example:lab/0');
    p.signal('SIGINT');
    await run;
  });

  test('listening on all addresses: the URLs to connect to use loopback', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve(['--address', '0.0.0.0'], p, io);
    expect(io.lines[0]).toBe('vtcam serve: iSCSI target listening on 0.0.0.0:3260 (all addresses)');
    expect(io.lines.at(-1)).toBe('READY iscsi://127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0');
    p.signal('SIGINT');
    await run;
  });

  test('one-way CHAP: the qemu line carries the initiator user only', async () => {
    const p = placeholder();
    const io = capture();
    const { run } = await serve(['--chap-user', 'alice', '--chap-secret', 'one-way-secret-1'], p, io);
    expect(io.lines).toContain("  qemu-system-x86_64 … -drive 'file=iscsi://alice%<secret>@127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0,format=raw,if=virtio'");
    p.signal('SIGINT');
    await run;
  });

  test('what to paste stays one shell word each: IPv6 brackets and placeholders quoted', async () => {
    const p = placeholder({ boundPort: 41234 });
    const io = capture();
    const { run } = await serve(['--address', '::1', '--port', '0', '--chap-user', 'alice', '--chap-secret', 'one-way-secret-1'], p, io);
    const text = io.lines.join('\n');
    expect(text).toContain("  LIBISCSI_CHAP_USERNAME=alice LIBISCSI_CHAP_PASSWORD='<secret>' iscsi-inq 'iscsi://[::1]:41234/iqn.2026-11.org.vtcam:disk0/0'");
    expect(text).toContain("  iscsiadm -m discovery -t sendtargets -p '[::1]:41234' && iscsiadm -m node -T iqn.2026-11.org.vtcam:disk0 -p '[::1]:41234' --login");
    p.signal('SIGINT');
    await run;
  });

  test("CHAP user names libiscsi's URL cannot carry: quoted for the shell, and given to qemu in the environment", async () => {
    const p = placeholder();
    const io = capture();
    const user = "o'brien@lab";
    const { run } = await serve(['--chap-user', user, '--chap-secret', 'one-way-secret-1', '--chap-mutual-user', 'tgt&x', '--chap-mutual-secret', 'mutual-secret-22'], p, io);
    const env = `LIBISCSI_CHAP_USERNAME='o'\\''brien@lab' LIBISCSI_CHAP_PASSWORD='<secret>' LIBISCSI_CHAP_TARGET_USERNAME='tgt&x' LIBISCSI_CHAP_TARGET_PASSWORD='<mutual secret>' `;
    expect(io.lines).toContain(`  ${env}iscsi-inq iscsi://127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0`);
    expect(io.lines).toContain(`  ${env}qemu-system-x86_64 … -drive file=iscsi://127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0,format=raw,if=virtio`);
    p.signal('SIGINT');
    await run;
  });

  test('CHAP: the credentials go to the server; the banner names the users and never prints a secret', async () => {
    const p = placeholder();
    const io = capture();
    const secret = 'one-way-secret-1';
    const mutual = 'mutual-secret-22';
    const { run } = await serve(['--chap-user', 'alice', '--chap-secret', secret, '--chap-mutual-user', 'tgt', '--chap-mutual-secret', mutual], p, io);
    expect(p.opts().targets[0]?.chap).toEqual({ user: 'alice', secret, mutualUser: 'tgt', mutualSecret: mutual });
    const text = io.lines.join('\n');
    expect(text).toContain('  auth    CHAP, initiator user alice; mutual, the target answers as tgt');
    expect(text).toContain("LIBISCSI_CHAP_USERNAME=alice LIBISCSI_CHAP_PASSWORD='<secret>' LIBISCSI_CHAP_TARGET_USERNAME=tgt LIBISCSI_CHAP_TARGET_PASSWORD='<mutual secret>' iscsi-inq iscsi://127.0.0.1:3260/");
    // libiscsi's URL, as qemu parses it: mutual CHAP's target credentials in target_user/target_password.
    expect(text).toContain("  qemu-system-x86_64 … -drive 'file=iscsi://alice%<secret>@127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0?target_user=tgt&target_password=<mutual secret>,format=raw,if=virtio'");
    expect(text).not.toContain(secret);
    expect(text).not.toContain(mutual);
    expect(io.lines.at(-1)).toBe('READY iscsi://127.0.0.1:3260/iqn.2026-11.org.vtcam:disk0/0');
    p.signal('SIGINT');
    await run;
  });
});

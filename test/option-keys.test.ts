// Options objects with a key the call does not know (option-keys.ts): a
// misspelling from a JavaScript caller is a TypeError naming it, and the key
// meant when only case or separators differ; before, it was dropped and the
// default used in its place. Every entry point, and the objects nested in its
// options, is tried.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOptionKeys } from '../src/option-keys.js';
import { createStack, type Stack, type StackOptions } from '../src/stack.js';
import { MemoryBackend } from '../src/virtio/device/backends/memory.js';
import { SharedMemoryBackend } from '../src/virtio/device/backends/shared-memory.js';
import { FileBackend } from '../src/virtio/device/backends/file.js';
import { IscsiServer, type IscsiServerOptions } from '../src/iscsi/server.js';

const IQN = 'iqn.2026-11.org.vtcam:keys';

describe('checkOptionKeys', () => {
  const keys = { queueSize: true, readOnly: true } as const;

  it('passes known keys and an empty object', () => {
    expect(() => {
      checkOptionKeys({ queueSize: 1, readOnly: false }, keys, 'f');
    }).not.toThrow();
    expect(() => {
      checkOptionKeys({}, keys, 'f');
    }).not.toThrow();
  });

  it.each([
    ['queuesize', " (did you mean 'queueSize'?)"],
    ['queue_size', " (did you mean 'queueSize'?)"],
    ['read-only', " (did you mean 'readOnly'?)"],
    ['ringSize', ''],
  ])('%s is a TypeError naming it%s and listing the known keys', (key, meant) => {
    expect(() => {
      checkOptionKeys({ [key]: 1 }, keys, 'f: o');
    }).toThrow(new TypeError(`f: o: unknown option '${key}'${meant}; known options: queueSize, readOnly`));
  });

  it('looks only at own keys (an inherited one is not the caller\'s option)', () => {
    const o: object = Object.create({ inherited: 1 }) as object;
    expect(() => {
      checkOptionKeys(o, keys, 'f');
    }).not.toThrow();
  });
});

describe('createStack', () => {
  // Small, so that a stack made because a check let a key through (the test then fails) costs little memory.
  const base = (): StackOptions => ({ backend: new MemoryBackend({ blocks: 64 }), queueSize: 16, memorySize: 2 ** 20 });
  it.each([
    [{ queuesize: 64 }, "createStack: unknown option 'queuesize' (did you mean 'queueSize'?)"],
    [{ device: { blocksize: 4096 } }, "createStack: device: unknown option 'blocksize' (did you mean 'blockSize'?)"],
    [{ emulator: { vendr: 'X' } }, "createStack: emulator: unknown option 'vendr'"],
    [{ xpt: { tunning: {} } }, "createStack: xpt: unknown option 'tunning'"],
    [{ xpt: { tuning: { mintags: 2 } } }, "createStack: xpt.tuning: unknown option 'mintags' (did you mean 'minTags'?)"],
    [{ xpt: { probe: { timeout: 5 } } }, "createStack: xpt.probe: unknown option 'timeout'"],
    [{ da: { retry: 3 } }, "createStack: da: unknown option 'retry'"],
    [{ da: { delays: { notready: 5 } } }, "createStack: da.delays: unknown option 'notready' (did you mean 'notReady'?)"],
  ])('%j is refused before anything starts', async (extra, message) => {
    await expect(createStack({ ...base(), ...(extra as object) })).rejects.toThrow(TypeError);
    await expect(createStack({ ...base(), ...(extra as object) })).rejects.toThrow(message);
  });

  it.each([[{ xpt: { tuning: null } }], [{ da: { delays: 5 } }]])('%j: a nested option that is not an object is a TypeError', async (extra) => {
    await expect(createStack({ ...base(), ...(extra as object) })).rejects.toThrow(/must be an object of options, got (null|number)/);
  });

  it('every documented option is still taken', async () => {
    const stack = await createStack({
      ...base(),
      device: { blockSize: 512, writeback: true },
      emulator: { vendor: 'VTCAM', removable: false },
      xpt: { tuning: { minTags: 2 }, probe: { retries: 3 } },
      da: { retries: 2, delays: { busy: 10 } },
      closeGraceMs: 1000,
    });
    expect(stack.devices()).toHaveLength(1);
    await stack.close();
  });
});

describe('IscsiServer.listen', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await createStack({ backend: new MemoryBackend({ blocks: 64 }), queueSize: 16 });
  });
  afterAll(async () => {
    await stack.close();
  });
  const options = (): IscsiServerOptions => ({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }] });

  it.each([
    [(o: IscsiServerOptions) => ({ ...o, busypollus: 5 }), "iSCSI server: unknown option 'busypollus' (did you mean 'busyPollUs'?)"],
    [(o: IscsiServerOptions) => ({ ...o, timers: { pingInterval: 5 } }), "iSCSI server: timers: unknown option 'pingInterval'"],
    [(o: IscsiServerOptions) => ({ ...o, targets: [{ ...o.targets[0], Alias: 'x' }] }), "iSCSI server: a target: unknown option 'Alias' (did you mean 'alias'?)"],
    [(o: IscsiServerOptions) => ({ ...o, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0), id: 1 }] }] }), `iSCSI server: a LUN of '${IQN}': unknown option 'id'`],
    [(o: IscsiServerOptions) => ({ ...o, targets: [{ name: IQN, luns: o.targets[0]?.luns ?? [], chap: { user: 'u', secret: 'sixteen-bytes-ok', mutual_user: 'm' } }] }), `iSCSI server: chap of '${IQN}': unknown option 'mutual_user' (did you mean 'mutualUser'?)`],
  ])('%#: a misspelt key is a TypeError from listen, and nothing listens', async (change, message) => {
    await expect(IscsiServer.listen(change(options()) as IscsiServerOptions)).rejects.toThrow(new TypeError(message).message);
  });

  it.each([
    [null, 'iSCSI server: listen needs options: { targets, … }'],
    [{ port: 0, targets: [{ name: IQN, luns: [], chap: null }] }, 'iSCSI server: chap must be an object, got null'],
    [{ port: 0, targets: [null] }, 'iSCSI server: a target must be an object, got null'],
    [{ port: 0, timers: 5, targets: [] }, 'iSCSI server: timers must be an object, got number'],
  ])('%j is a TypeError', async (opts, message) => {
    await expect(IscsiServer.listen(opts as unknown as IscsiServerOptions)).rejects.toThrow(new TypeError(message));
  });
});

describe('FileBackend.open', () => {
  let dir: string;
  let image: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtcam-keys-'));
    image = join(dir, 'disk.img');
    await writeFile(image, new Uint8Array(4096));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [{ readonly: true }, "FileBackend.open: unknown option 'readonly' (did you mean 'readOnly'?)"],
    [{ io: 'auto', syncGate: { slowbasems: 1 } }, "FileBackend.open: syncGate: unknown option 'slowbasems' (did you mean 'slowBaseMs'?)"],
  ])('%j is a TypeError (a read-write open of what was meant read-only)', async (opts, message) => {
    await expect(FileBackend.open(image, opts as object)).rejects.toThrow(new TypeError(message).message);
  });

  it('null options are a TypeError, not a crash inside', async () => {
    await expect(FileBackend.open(image, null as unknown as object)).rejects.toThrow(new TypeError('FileBackend.open: options must be an object, got null'));
  });
});

describe('RAM disks', () => {
  it.each([
    ['MemoryBackend', (o: object) => new MemoryBackend(o as { blocks: number })],
    ['SharedMemoryBackend', (o: object) => new SharedMemoryBackend(o as { blocks: number })],
  ])('%s: a misspelt key and non-object options are TypeErrors', (who, make) => {
    expect(() => make({ blocks: 8, readonly: true })).toThrow(new TypeError(`${who}: unknown option 'readonly' (did you mean 'readOnly'?); known options: blocks, blockSize, readOnly`));
    expect(() => make(null as unknown as object)).toThrow(new TypeError(`${who}: options must be an object ({ blocks, blockSize?, readOnly? }), got null`));
    expect(() => make({ blocks: 8, readOnly: true })).not.toThrow();
  });
});

// CHAP settings (chap-config.ts): what IscsiServer.listen refuses with a
// RangeError naming the target and the field, so that a login never meets
// settings it cannot use (before, one secret for both directions made every
// CHAP login end with no Login Response, and an empty secret was accepted).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { chapConfigProblem } from '../../src/iscsi/chap-config.js';
import type { IscsiChapConfig } from '../../src/iscsi/target.js';

const IQN = 'iqn.2026-11.org.vtcam:chap-config';
const SECRET = 'twelve-bytes';
const OTHER_SECRET = 'another-secret';
let stack: Stack;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16 });
});
afterAll(async () => {
  await stack.close();
});

const cases: readonly (readonly [string, IscsiChapConfig, string])[] = [
  ['an empty secret', { user: 'alice', secret: '' }, 'chap.secret must be at least 12 bytes (96 bits; RFC 7143 wants IPsec below that), got 0'],
  ['a short secret', { user: 'alice', secret: 'short' }, 'chap.secret must be at least 12 bytes (96 bits; RFC 7143 wants IPsec below that), got 5'],
  ['an empty user', { user: '', secret: SECRET }, "chap.user must be printable ASCII without spaces, got ''"],
  ['a user with a space', { user: 'al ice', secret: SECRET }, "chap.user must be printable ASCII without spaces, got 'al ice'"],
  ['a mutual user without its secret', { user: 'alice', secret: SECRET, mutualUser: 'target' }, 'chap.mutualUser needs chap.mutualSecret'],
  ['a mutual secret without its user', { user: 'alice', secret: SECRET, mutualSecret: OTHER_SECRET }, 'chap.mutualSecret needs chap.mutualUser'],
  ['a short mutual secret', { user: 'alice', secret: SECRET, mutualUser: 'target', mutualSecret: 'short' }, 'chap.mutualSecret must be at least 12 bytes (96 bits; RFC 7143 wants IPsec below that), got 5'],
  ['one secret for both directions', { user: 'alice', secret: SECRET, mutualUser: 'target', mutualSecret: SECRET }, 'chap.mutualSecret must differ from chap.secret (RFC 7143 forbids one secret for both directions)'],
];

describe('chapConfigProblem', () => {
  it.each(cases)('%s', (_name, c, problem) => {
    expect(chapConfigProblem(c, (f) => `chap.${f}`)).toBe(problem);
  });

  it('accepts one-way and mutual settings, and none at all', () => {
    expect(chapConfigProblem({ user: 'alice', secret: SECRET }, String)).toBeUndefined();
    expect(chapConfigProblem({ user: 'alice', secret: SECRET, mutualUser: 'target', mutualSecret: OTHER_SECRET }, String)).toBeUndefined();
    expect(chapConfigProblem({}, String)).toBeUndefined();
  });
});

describe('IscsiServer.listen with CHAP settings', () => {
  it.each(cases)('refuses %s with a RangeError naming the target and the field', async (_name, chap, problem) => {
    const luns = [{ lun: 0, pass: stack.pass(0) }];
    await expect(IscsiServer.listen({ port: 0, targets: [{ name: IQN, luns, chap }] })).rejects.toThrow(
      new RangeError(`iSCSI server: target '${IQN}': ${problem}`),
    );
  });
});

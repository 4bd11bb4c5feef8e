// IscsiServerOptions checked when the portal opens (server-options.ts). A bad
// value used to be found by the first connection, inside a socket callback,
// where the throw ended the process.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer, type IscsiServerOptions, type NegotiationOptions } from '../../src/iscsi/server.js';
import { negotiationPreferences } from '../../src/iscsi/server-options.js';
import { field32, opcodeOf, parseText, TestInitiator, type RawPdu } from './initiator.js';

const IQN = 'iqn.2026-11.org.vtcam:options';
const MAX_WINDOW = 2 ** 31 - 1;
let stack: Stack;

beforeAll(async () => {
  stack = await createStack({ backend: new MemoryBackend({ blocks: 64, blockSize: 512 }), queueSize: 16 });
});
afterAll(async () => {
  await stack.close();
});

const options = (o: Partial<IscsiServerOptions> = {}): IscsiServerOptions => ({ port: 0, targets: [{ name: IQN, luns: [{ lun: 0, pass: stack.pass(0) }] }], ...o });

/** MaxCmdSN − (ExpCmdSN − 1) of a response, RFC 7143 §4.2.2.1: the commands its window admits. */
const windowOf = (p: RawPdu): number => (field32(p, 32) - field32(p, 28) + 1) >>> 0;

describe('queueAllowance', () => {
  it.each([0, -1, 1.5, Number.NaN, MAX_WINDOW + 1, 1e12])('%s is a RangeError from listen', async (queueAllowance) => {
    await expect(IscsiServer.listen(options({ queueAllowance }))).rejects.toThrow(
      new RangeError(`iSCSI server: queueAllowance must be an integer 1..${MAX_WINDOW}, got ${queueAllowance}`),
    );
  });

  it('at its largest, the login and the session keep MaxCmdSN inside the serial window', async () => {
    const server = await IscsiServer.listen(options({ queueAllowance: MAX_WINDOW }));
    const a = await TestInitiator.connect(server.address.port);
    const login = await a.login(IQN);
    expect(login.bhs[36]).toBe(0);
    expect(windowOf(login)).toBe(MAX_WINDOW);
    // TEST UNIT READY; its status (the unit's first UNIT ATTENTION) does not matter, its window does.
    const r = await a.result(a.command({ cdb: new Uint8Array(6), edtl: 0 }));
    // The LUN's openings on top of the allowance would pass 2^31 − 1; the session holds the window under it.
    expect(windowOf(r.response)).toBeGreaterThan(0);
    expect(windowOf(r.response)).toBeLessThanOrEqual(MAX_WINDOW);
    a.close();
    await server.close();
  });

  it('1 is taken: the login opens a window of one command, and the session serves', async () => {
    const server = await IscsiServer.listen(options({ queueAllowance: 1 }));
    const a = await TestInitiator.connect(server.address.port);
    const login = await a.login(IQN);
    expect(login.bhs[36]).toBe(0);
    expect(windowOf(login)).toBe(1);
    expect((await a.result(a.command({ cdb: new Uint8Array(6), edtl: 0 }))).response.bhs[0]).toBe(0x21);
    a.close();
    await server.close();
  });
});

describe('log', () => {
  it.each<[string, unknown]>([
    ['number', 5],
    ['object', console],
    ['null', null],
  ])('a %s is a TypeError from listen', async (kind, log) => {
    await expect(IscsiServer.listen(options({ log: log as (line: string) => void }))).rejects.toThrow(
      new TypeError(`iSCSI server: log must be a function taking a line, got ${kind}`),
    );
  });

  it('a logger that throws takes down neither a session nor the portal', async () => {
    const lines: string[] = [];
    const log = (line: string): void => {
      lines.push(line);
      throw new Error('logger broke');
    };
    const server = await IscsiServer.listen(options({ log, connectionLimit: 1 }));
    const a = await TestInitiator.connect(server.address.port);
    // The login logs its session; the connection it is about goes on.
    expect((await a.login(IQN)).bhs[36]).toBe(0);
    expect(lines.some((l) => l.includes('Normal session'))).toBe(true);
    // One connection past the limit is refused and logged, in the server's own socket callback.
    const b = await TestInitiator.connect(server.address.port);
    await b.closedWithin();
    expect(lines.some((l) => l.includes('connection refused'))).toBe(true);
    expect((await a.result(a.command({ cdb: new Uint8Array(6), edtl: 0 }))).response.bhs[0]).toBe(0x21);
    expect(server.sessions).toBe(1);
    a.close();
    await server.close();
  });
});

describe('portalGroupTag', () => {
  it.each([-1, 1.5, Number.NaN, 65536, 70000])('%s is a RangeError from listen', async (portalGroupTag) => {
    await expect(IscsiServer.listen(options({ portalGroupTag }))).rejects.toThrow(
      new RangeError(`iSCSI server: portalGroupTag must be an integer 0..65535 (RFC 7143 §13.9), got ${portalGroupTag}`),
    );
  });

  it.each([0, 65535])('%s is taken and reported at login', async (portalGroupTag) => {
    const server = await IscsiServer.listen(options({ portalGroupTag }));
    const a = await TestInitiator.connect(server.address.port);
    a.send(a.loginRequest({ transit: false, csg: 0, nsg: 1, keys: { InitiatorName: 'iqn.2026-11.org.vtcam:test-initiator', SessionType: 'Normal', TargetName: IQN, AuthMethod: 'None' } }));
    const r = await a.next((p) => opcodeOf(p) === 0x23);
    expect(parseText(r.data)['TargetPortalGroupTag']).toBe(String(portalGroupTag));
    a.close();
    await server.close();
  });
});

describe('target names', () => {
  const NOT_A_NAME = 'is not an iSCSI name: use iqn.YYYY-MM.reversed.domain[:name], eui.<16 hex digits> or naa.<16 or 32 hex digits>';
  it.each<[string, string, string]>([
    ['empty', '', NOT_A_NAME],
    ['with a space', 'iqn.2026-11.org.vtcam:a b', NOT_A_NAME],
    ['in capitals', 'iqn.2026-11.org.vtcam:Disk', 'has capital letters; iSCSI names are compared in lower case (RFC 3722)'],
    ['of 322 bytes', `iqn.2026-11.org.vtcam:${'a'.repeat(300)}`, 'is 322 bytes; an iSCSI name is at most 223'],
  ])('a name %s is a RangeError from listen', async (_, name, why) => {
    await expect(IscsiServer.listen(options({ targets: [{ name, luns: [{ lun: 0, pass: stack.pass(0) }] }] }))).rejects.toThrow(
      new RangeError(`iSCSI server: target name '${name}' ${why}`),
    );
  });

  it('a name that is not a string, or targets that are not an array, are TypeErrors', async () => {
    const luns = [{ lun: 0, pass: stack.pass(0) }];
    await expect(IscsiServer.listen(options({ targets: [{ name: 5 as unknown as string, luns }] }))).rejects.toThrow(
      new TypeError('iSCSI server: a target name must be a string, got number'),
    );
    await expect(IscsiServer.listen(options({ targets: undefined as unknown as [] }))).rejects.toThrow(
      new TypeError('iSCSI server: targets must be an array of { name, luns }'),
    );
  });
});

describe('negotiation', () => {
  /** WRITE (10) of `blocks` 512-byte blocks at `lba`, and READ (10) of the same. */
  const rw = (op: 0x2a | 0x28, lba: number, blocks: number): Uint8Array => Uint8Array.of(op, 0, 0, 0, 0, lba, 0, 0, blocks, 0);

  it('InitialR2T No and MaxOutstandingR2T 2: the login answers them, an unsolicited first burst lands, the rest comes by R2T', async () => {
    const server = await IscsiServer.listen(options({ negotiation: { initialR2T: false, maxOutstandingR2T: 2, firstBurstLength: 4096, maxBurstLength: 4096 } }));
    const a = await TestInitiator.connect(server.address.port);
    try {
      const login = await a.login(IQN, { InitialR2T: 'No', MaxOutstandingR2T: '8', FirstBurstLength: '65536', MaxBurstLength: '65536' });
      expect(login.bhs[36]).toBe(0);
      expect(parseText(login.data)).toMatchObject({ InitialR2T: 'No', MaxOutstandingR2T: '2', FirstBurstLength: '4096', MaxBurstLength: '4096' });
      await a.result(a.command({ cdb: Uint8Array.of(0, 0, 0, 0, 0, 0), edtl: 0 })); // TEST UNIT READY: the first UNIT ATTENTION
      const data = Uint8Array.from({ length: 16 * 512 }, (_, i) => (i * 7 + 3) & 0xff);
      // 4 KiB of immediate data is the whole first burst; the other 4 KiB is one R2T of MaxBurstLength.
      const itt = a.command({ cdb: rw(0x2a, 8, 16), write: true, edtl: data.length, data: data.subarray(0, 4096) });
      const r2t = await a.next((p) => opcodeOf(p) === 0x31);
      expect([field32(r2t, 40), field32(r2t, 44)]).toEqual([4096, 4096]);
      a.dataOut({ itt, ttt: field32(r2t, 20), dataSN: 0, offset: 4096, data: data.subarray(4096), final: true });
      expect((await a.result(itt)).status).toBe(0);
      const read = await a.result(a.command({ cdb: rw(0x28, 8, 16), read: true, edtl: data.length }));
      expect(read.data).toEqual(data);
    } finally {
      a.close();
      await server.close();
    }
  });

  it.each([
    [{ maxOutstandingR2T: 0 }, new RangeError('iSCSI server: negotiation.maxOutstandingR2T must be an integer 1..65535 (RFC 7143 §13.17), got 0')],
    [{ maxBurstLength: 511 }, new RangeError('iSCSI server: negotiation.maxBurstLength must be an integer 512..16777215 (RFC 7143 §13.13), got 511')],
    [{ firstBurstLength: 8192, maxBurstLength: 4096 }, new RangeError('iSCSI server: negotiation.firstBurstLength 8192 is above negotiation.maxBurstLength 4096 (RFC 7143 §13.14)')],
    [{ maxRecvDataSegmentLength: 511 }, new RangeError('iSCSI server: negotiation.maxRecvDataSegmentLength must be an integer 512..16777215 (RFC 7143 §13.12), got 511')],
    [{ defaultTime2Wait: 3601 }, new RangeError('iSCSI server: negotiation.defaultTime2Wait must be an integer 0..3600 (RFC 7143 §13.15), got 3601')],
    [{ headerDigests: [] }, new RangeError("iSCSI server: negotiation.headerDigests must list 'CRC32C' and/or 'None', each once, in the order offered (RFC 7143 §13.1), got []")],
    [{ dataDigests: ['CRC32C', 'CRC32C'] }, new RangeError(`iSCSI server: negotiation.dataDigests must list 'CRC32C' and/or 'None', each once, in the order offered (RFC 7143 §13.1), got ["CRC32C","CRC32C"]`)],
    [{ initialR2T: 'No' }, new TypeError('iSCSI server: negotiation.initialR2T must be true or false, got string')],
  ])('%j is refused by listen', async (negotiation, error) => {
    await expect(IscsiServer.listen(options({ negotiation: negotiation as NegotiationOptions }))).rejects.toThrow(error);
  });

  it('a MaxBurstLength below the default FirstBurstLength (64 KiB) brings that default down; one given is still checked', () => {
    expect(negotiationPreferences({ maxBurstLength: 4096 })).toMatchObject({ maxBurstLength: 4096, firstBurstLength: 4096 });
    expect(negotiationPreferences({ maxBurstLength: 1 << 20 })).toMatchObject({ maxBurstLength: 1 << 20, firstBurstLength: 65_536 });
    expect(() => negotiationPreferences({ maxBurstLength: 4096, firstBurstLength: 8192 })).toThrow(/firstBurstLength 8192 is above negotiation\.maxBurstLength 4096/);
  });

  it.each([null, 5, 'InitialR2T=No'])('negotiation %j, not an object of preferences, is a TypeError from listen', async (negotiation) => {
    await expect(IscsiServer.listen(options({ negotiation: negotiation as unknown as NegotiationOptions }))).rejects.toThrow(
      new TypeError(`iSCSI server: negotiation must be an object, got ${negotiation === null ? 'null' : typeof negotiation}`),
    );
  });

  it('a preference vtcam fixes (Data-Out in order: task-data-out.ts checks it) is a TypeError naming the ones a server sets', async () => {
    const negotiation = { dataPDUInOrder: false } as unknown as NegotiationOptions;
    await expect(IscsiServer.listen(options({ negotiation }))).rejects.toThrow(/^iSCSI server: negotiation\.dataPDUInOrder is not a preference a server sets \(one of headerDigests, dataDigests, initialR2T, .*defaultTime2Retain\)$/);
  });
});

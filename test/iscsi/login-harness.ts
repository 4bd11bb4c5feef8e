// Login test harness: Login Request values, a scripted LoginEnvironment, and
// a reader for response text that does not use src/iscsi/text.ts.

import { expect } from 'vitest';
import type { ChapConfig } from '../../src/iscsi/chap.js';
import type { LoginEnvironment, LoginStep, SessionLookup, SessionQuery, TargetLookup } from '../../src/iscsi/login-types.js';
import type { LoginRequestPdu, LoginResponseFields } from '../../src/iscsi/pdu-types.js';

export const INITIATOR = 'iqn.2007-10.org.example:libiscsi-test';
export const TARGET = 'iqn.2024-01.org.vtcam:disk0';
export const ISID = 0x80_12_34_56_00_00n;
export const ITT = 0x1d2c_3b4a;
export const CMD_SN = 0x0000_1000;

/** Text as an initiator sends it: each pair NUL-terminated, UTF-8. */
export const encode = (...pairs: readonly string[]): Uint8Array => new TextEncoder().encode(pairs.map((p) => `${p}\0`).join(''));

/** A response's pairs as `key=value` strings. */
export const decode = (data: Uint8Array): string[] => {
  const s = new TextDecoder().decode(data);
  expect(s === '' || s.endsWith('\0')).toBe(true);
  return s.split('\0').filter((x) => x !== '');
};

/** The response's value for `key`, if any. */
export const valueOf = (r: LoginResponseFields, key: string): string | undefined =>
  decode(r.data)
    .find((p) => p.startsWith(`${key}=`))
    ?.slice(key.length + 1);

/** A Login Request: security stage, T=0, ISID / ITT / CmdSN as above, unless overridden. */
export function request(o: Partial<Omit<LoginRequestPdu, 'data'>> & { readonly text?: readonly string[]; readonly data?: Uint8Array } = {}): LoginRequestPdu {
  const { text, ...rest } = o;
  return {
    opcode: 0x03,
    immediate: true,
    itt: ITT,
    transit: false,
    cont: false,
    csg: 0,
    nsg: 0,
    versionMax: 0,
    versionMin: 0,
    isid: ISID,
    tsih: 0,
    cid: 1,
    cmdSN: CMD_SN,
    expStatSN: 0,
    data: encode(...(text ?? [])),
    ...rest,
  };
}

/** Operational stage, T=1 to full feature. */
export const toFfp = (text: readonly string[], o: Partial<LoginRequestPdu> = {}): LoginRequestPdu => request({ csg: 1, nsg: 3, transit: true, text, ...o });

export interface ScriptedEnv extends LoginEnvironment {
  readonly queries: SessionQuery[];
  readonly random: number[];
}

export interface EnvOptions {
  readonly targets?: Readonly<Record<string, TargetLookup>>;
  readonly session?: SessionLookup;
  readonly tsih?: number | undefined;
  readonly throwOn?: 'findTarget' | 'lookupSession' | 'newTsih';
  /** First byte randomBytes returns; each later byte is one more (mod 256). */
  readonly randomStart?: number;
}

/** A plain target, optionally with CHAP. */
export const target = (auth?: ChapConfig, more: { alias?: string; initiators?: readonly string[] } = {}): TargetLookup => ({
  kind: 'found',
  target: { name: TARGET, portalGroupTag: 1, ...(auth === undefined ? {} : { auth }), ...more },
});

export function env(o: EnvOptions = {}): ScriptedEnv {
  const queries: SessionQuery[] = [];
  const random: number[] = [];
  let next = o.randomStart ?? 0x10;
  const fail = (what: string): void => {
    if (o.throwOn === what) throw new Error(`${what} broke`);
  };
  return {
    queries,
    random,
    findTarget: (name) => {
      fail('findTarget');
      return (o.targets ?? { [TARGET]: target() })[name];
    },
    lookupSession: (q) => {
      fail('lookupSession');
      queries.push(q);
      return o.session ?? { kind: 'not-found' };
    },
    newTsih: () => {
      fail('newTsih');
      return 'tsih' in o ? o.tsih : 0x0102;
    },
    randomBytes: (n) => {
      const b = Uint8Array.from({ length: n }, () => next++ & 0xff);
      random.push(...b);
      return b;
    },
  };
}

/** Asserts the step's outcome and status, returns its response. */
export function expectStep(step: LoginStep, outcome: LoginStep['outcome'], statusClass = 0, statusDetail = 0): LoginResponseFields {
  expect({ outcome: step.outcome, statusClass: step.response.statusClass, statusDetail: step.response.statusDetail }).toEqual({ outcome, statusClass, statusDetail });
  return step.response;
}

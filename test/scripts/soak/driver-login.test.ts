// The soak's login retry (driver.ts): a session that cannot log in is a
// finding, unless --kill-at has killed the target on purpose — then the
// refused connection is the kill's doing, and the slot just stops.

import { describe, expect, test, vi } from 'vitest';
import { Driver } from '../../../scripts/soak/driver.js';
import { Tally } from '../../../scripts/soak/report.js';
import type { Session } from '../../../scripts/soak/session.js';
import { ShadowDisk } from '../../../scripts/soak/shadow.js';

const REFUSED = 'connect: connect ECONNREFUSED 127.0.0.1:1';

function setup(killed: () => boolean) {
  const findings: string[] = [];
  let attempts = 0;
  const s = { slot: 3, login: () => { attempts++; return Promise.resolve(REFUSED); } } as unknown as Session;
  const driver = new Driver({
    shadow: new ShadowDisk(8), tally: new Tally(), blockLength: 512, unmapZeros: false, sessions: [s],
    finding: (kind, text) => findings.push(`${kind}: ${text}`), stopped: () => true, killed,
  });
  return { driver, s, findings, attempts: () => attempts };
}

describe('Driver.login', () => {
  test('a target that keeps refusing is a finding after every retry', async () => {
    vi.useFakeTimers();
    try {
      const { driver, s, findings, attempts } = setup(() => false);
      const done = driver.login(s);
      await vi.runAllTimersAsync();
      expect(await done).toBe(false);
      expect(attempts()).toBe(20);
      expect(findings).toEqual([`serve: slot 3: cannot log in: ${REFUSED}`]);
    } finally {
      vi.useRealTimers();
    }
  });

  test('after the --kill-at SIGKILL a refused login ends the slot with no finding and no retry', async () => {
    const { driver, s, findings, attempts } = setup(() => true);
    expect(await driver.login(s)).toBe(false);
    expect(attempts()).toBe(1);
    expect(findings).toEqual([]);
  });
});

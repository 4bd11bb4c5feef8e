// sendTargetsScope (server.ts): which targets SendTargets=<value> lists, by
// RFC 7143 Appendix C — All (discovery sessions only), a target name, or
// nothing (the session's own target).

import { describe, expect, it } from 'vitest';
import { sendTargetsScope } from '../../src/iscsi/server.js';

const OWN = 'iqn.2026-11.org.vtcam:own';
const OTHER = 'iqn.2026-11.org.vtcam:other';

describe('sendTargetsScope', () => {
  it.each([
    ['All', undefined, 'all'],
    [OTHER, undefined, { only: OTHER }],
    ['', undefined, 'none'],
    ['', OWN, { only: OWN }],
    ['All', OWN, { only: OWN }],
    [OWN, OWN, { only: OWN }],
    [OTHER, OWN, 'none'],
  ] as const)('SendTargets=%j in a session on %s', (value, own, scope) => {
    expect(sendTargetsScope(value, own)).toEqual(scope);
  });
});

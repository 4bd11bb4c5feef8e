// portalAddress (portal-address.ts): the ADDR:PORT a SendTargets answer gives
// for the address a connection reached (RFC 7143 §13.8: an IPv6 address in
// brackets; an IPv4-mapped IPv6 address is the IPv4 address the initiator used).

import { describe, expect, it } from 'vitest';
import { portalAddress } from '../../src/iscsi/portal-address.js';

describe('portalAddress', () => {
  it.each([
    ['127.0.0.1', 3260, '127.0.0.1:3260'],
    ['192.0.2.7', 3260, '192.0.2.7:3260'],
    ['::1', 3260, '[::1]:3260'],
    ['2001:db8::5', 860, '[2001:db8::5]:860'],
    // A socket of a portal listening on :: (dual stack) reports an IPv4 peer's connection this way.
    ['::ffff:192.0.2.7', 3260, '192.0.2.7:3260'],
    ['::FFFF:10.0.0.1', 3260, '10.0.0.1:3260'],
    // Not a mapped IPv4 address: an IPv6 address that merely starts alike.
    ['::ffff:1:2', 3260, '[::ffff:1:2]:3260'],
  ] as const)('%s port %i → %s', (address, port, expected) => {
    expect(portalAddress(address, port)).toBe(expected);
  });
});

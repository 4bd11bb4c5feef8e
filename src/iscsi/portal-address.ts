// The TargetAddress of a SendTargets answer (RFC 7143 §13.8, Appendix C):
// where the initiator can reach the target, so the address this connection
// reached, not the one the portal listens on. A portal on 0.0.0.0 or ::
// listens on every address, and would name an address that reaches nothing
// (connect(2) to 0.0.0.0 reaches the initiator's own machine on Linux).

/** ADDR:PORT for TargetAddress: an IPv6 address in brackets (§13.8), an IPv4-mapped one (::ffff:a.b.c.d) as plain IPv4. */
export function portalAddress(address: string, port: number): string {
  const v4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  if (v4 !== undefined) return `${v4}:${port}`;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

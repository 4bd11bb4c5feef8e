// 32-bit serial number arithmetic (RFC 1982, SERIAL_BITS = 32), which
// RFC 7143 §4.2.2.1 requires for CmdSN, StatSN and friends: they wrap, and
// "a < b" means "b is ahead of a by less than 2^31".

/**
 * The most CmdSNs a command window may span: MaxCmdSN − (ExpCmdSN − 1) must
 * stay below 2^31, or the initiator cannot tell MaxCmdSN ahead (§4.2.2.1).
 */
export const MAX_COMMAND_WINDOW = 0x7fff_ffff;

/** s + n, modulo 2^32. */
export function snAdd(s: number, n: number): number {
  return (s + n) >>> 0;
}

/** s1 < s2 in serial number arithmetic (undefined when they are exactly 2^31 apart; false then). */
export function snLt(s1: number, s2: number): boolean {
  const d = (s2 - s1) >>> 0;
  return d !== 0 && d < 0x8000_0000;
}

/** s1 ≤ s2 in serial number arithmetic. */
export function snLe(s1: number, s2: number): boolean {
  return s1 === s2 || snLt(s1, s2);
}

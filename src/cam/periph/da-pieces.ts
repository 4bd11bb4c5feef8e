// How da issues the commands of one request it has split (READ/WRITE pieces
// beyond the maximum transfer, UNMAP parameter lists, WRITE SAME ranges; the
// cutting is da-plan.ts), and when the request settles. Spec: SBC-4 (LOGICAL
// BLOCK ADDRESS OUT OF RANGE 21h/00h).
//
// - The pieces go at once, and the request settles once every one has,
//   failing with the first failure in range order (allPieces).
// - One command whose range passes the capacity fails whole and changes
//   nothing (SBC-4: LBA OUT OF RANGE, the medium untouched). Split, the pieces
//   before the end would land and the request still fail; so the piece
//   crossing the capacity da knows goes first and alone, and the rest only if
//   it succeeds (the capacity grew meanwhile).

/**
 * Waits for every piece of a split request, then fails with the first failure
 * in range order. Settling as soon as one piece fails would let the caller
 * retry the range while other pieces are still at the device, and a late piece
 * would then land over the retry (FreeBSD completes a split bio only when all
 * its children are done).
 */
export async function allPieces(pieces: readonly Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(pieces);
  for (const s of settled) {
    if (s.status === 'rejected') throw s.reason instanceof Error ? s.reason : new Error(String(s.reason));
  }
}

/**
 * Issues `pieces` (in range order) by the rule of the file header: the first
 * whose range ends past `capacity` blocks (`end`: the LBA after its last
 * block) first and alone, then the rest; settles as allPieces.
 */
export function issuePieces<P>(pieces: readonly P[], capacity: bigint, end: (piece: P) => bigint, issue: (piece: P) => Promise<unknown>): Promise<void> {
  const past = pieces.find((p) => end(p) > capacity);
  if (past === undefined) return allPieces(pieces.map(issue));
  return issue(past).then(() => allPieces(pieces.filter((p) => p !== past).map(issue)));
}

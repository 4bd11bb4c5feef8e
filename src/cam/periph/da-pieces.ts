// How da issues the commands of one request it has split (READ/WRITE pieces
// beyond the maximum transfer, UNMAP parameter lists, WRITE SAME ranges; the
// cutting is da-plan.ts), and when the request settles. Spec: SBC-4 (LOGICAL
// BLOCK ADDRESS OUT OF RANGE 21h/00h; CAPACITY DATA HAS CHANGED 2Ah/09h).
//
// - The request settles once every piece it issued has, failing with the first
//   failure in range order (allPieces).
// - One command whose range passes the capacity fails whole and changes
//   nothing (SBC-4: LBA OUT OF RANGE, the command not executed). A split
//   request that changes the medium (WRITE, UNMAP, WRITE SAME) keeps that rule
//   whatever da believes the capacity is: its last piece, the one reaching
//   furthest, goes first and alone, and the rest only once it has succeeded
//   (issueChangePieces). The unit checks that piece against its real capacity;
//   after a shrink da has not heard of yet, it meets the pending CAPACITY DATA
//   HAS CHANGED (reported to one command only), and recovery re-reads the
//   capacity before its retry. Pieces issued beside it would run against the
//   new end, and those inside it would land. (A shrink while the rest run can
//   still cut the request short; no initiator can close that race.) FreeBSD's
//   GEOM issues a split bio's children at once and promises nothing of the
//   sort; the price here is one piece's round trip per split change.
// - A split read changes nothing, so its pieces go at once, but for one
//   crossing the capacity da knows, which goes first and alone so that the
//   others are not read for nothing (issueReadPieces); a read that fails
//   returns no data.

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

/** Issues `first` alone, then, if it succeeds, the other `pieces` at once; settles as allPieces. */
function firstAlone<P>(pieces: readonly P[], first: P, issue: (piece: P) => Promise<unknown>): Promise<void> {
  const rest = (): Promise<void> => allPieces(pieces.filter((p) => p !== first).map(issue));
  return issue(first).then(rest);
}

/**
 * Issues the pieces (in range order) of a request that changes the medium by
 * the rule of the file header: the last first and alone, then the rest at
 * once; settles as allPieces.
 */
export function issueChangePieces<P>(pieces: readonly P[], issue: (piece: P) => Promise<unknown>): Promise<void> {
  const last = pieces.at(-1);
  return last === undefined ? Promise.resolve() : firstAlone(pieces, last, issue);
}

/**
 * Issues the pieces (in range order) of a read: the first whose range ends
 * past `capacity` blocks (`end`: the LBA after its last block) first and
 * alone, then the rest; with none, all at once. Settles as allPieces.
 */
export function issueReadPieces<P>(pieces: readonly P[], capacity: bigint, end: (piece: P) => bigint, issue: (piece: P) => Promise<unknown>): Promise<void> {
  const past = pieces.find((p) => end(p) > capacity);
  if (past === undefined) return allPieces(pieces.map(issue));
  return firstAlone(pieces, past, issue);
}

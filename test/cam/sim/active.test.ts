import { describe, expect, it } from 'vitest';
import { ActiveCcbs, type ActiveCcb } from '../../../src/cam/sim/vtblk/active.js';
import { CamDir, newScsiIo } from '../../../src/cam/ccb.js';

const ccb = () => newScsiIo({ path: { bus: 0, target: 0, lun: 0 }, cdb: Uint8Array.of(0), dir: CamDir.NONE });
const entry = (c = ccb()): ActiveCcb => ({ ccb: c, index: -1, seq: 0 });

describe('ActiveCcbs', () => {
  it('finds an entry from its CCB, forgets it once deleted, and keeps arrival order across swap-removes', () => {
    const list = new ActiveCcbs<ActiveCcb>();
    const entries = Array.from({ length: 5 }, () => entry());
    for (const e of entries) list.add(e);
    expect(list.size).toBe(5);
    for (const e of entries) expect(list.get(e.ccb)).toBe(e);
    expect(list.delete(entries[1] as ActiveCcb)).toBe(true);
    expect(list.delete(entries[1] as ActiveCcb)).toBe(false);
    expect(list.get((entries[1] as ActiveCcb).ccb)).toBeUndefined();
    expect((entries[1] as ActiveCcb).ccb.simPriv).toBeUndefined();
    expect(list.values()).toEqual([entries[0], entries[2], entries[3], entries[4]]);
    expect(list.has((entries[4] as ActiveCcb).ccb)).toBe(true);
    expect(list.clear()).toEqual([entries[0], entries[2], entries[3], entries[4]]);
    expect([list.size, ...entries.map((e) => e.ccb.simPriv)]).toEqual([0, undefined, undefined, undefined, undefined, undefined]);
  });

  it('adding a CCB again replaces its entry, as a Map keyed by CCB would', () => {
    const list = new ActiveCcbs<ActiveCcb>();
    const c = ccb();
    const first = entry(c);
    const second = entry(c);
    list.add(first);
    list.add(second);
    expect([list.size, list.get(c)]).toEqual([1, second]);
    expect(list.delete(first)).toBe(false);
  });

  it('knows only its own entries: another list, or a foreign simPriv, is not found', () => {
    const a = new ActiveCcbs<ActiveCcb>();
    const b = new ActiveCcbs<ActiveCcb>();
    const e = entry();
    a.add(e);
    expect(b.get(e.ccb)).toBeUndefined();
    const c = ccb();
    c.simPriv = { index: 0 };
    expect(a.get(c)).toBeUndefined();
    c.simPriv = null;
    expect(a.get(c)).toBeUndefined();
  });
});

// What the SBC emulator's logical unit makes of its block device's
// configuration beyond the description (unit-description.ts): the unit serial
// number from the device's GET_ID, and which changes a refresh (a virtio
// config-change interrupt) finds that every I_T nexus is told of.
// Spec: SPC-5 (Unit Serial Number VPD page; CAPACITY DATA HAS CHANGED 2Ah/09h,
// MODE PARAMETERS CHANGED 2Ah/01h), SAM-5 (unit attention condition).

import type { AscAscq } from '../sense.js';
import type { BlockGeometry } from './block-command-set.js';
import { UnitAttention } from './errors.js';

/** The serial of a unit whose device gives no usable GET_ID. */
const NO_SERIAL = 'VTCAM-NOSERIAL';

/** The unit serial number from the device's GET_ID string: printable ASCII only, trimmed; NO_SERIAL when nothing is left. */
export function serialFromId(id: string | undefined): string {
  const serial = id?.replace(/[^\x20-\x7e]/g, '').trim();
  return serial === undefined || serial === '' ? NO_SERIAL : serial;
}

/**
 * The unit attentions a refresh raises for every I_T nexus, in this order: a
 * capacity or block size other than `old`'s gives CAPACITY DATA HAS CHANGED;
 * a WCE other than the one the unit last saw or set (`lastWce`: the device's
 * write cache changed behind MODE SELECT's back) MODE PARAMETERS CHANGED.
 */
export function configChanges(old: BlockGeometry, g: BlockGeometry, lastWce: boolean, wce: boolean): AscAscq[] {
  const raised: AscAscq[] = [];
  if (g.blocks !== old.blocks || g.blockSize !== old.blockSize) raised.push(UnitAttention.CAPACITY_DATA_HAS_CHANGED);
  if (wce !== lastWce) raised.push(UnitAttention.MODE_PARAMETERS_CHANGED);
  return raised;
}

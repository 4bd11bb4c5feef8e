// newScsiIo (xpt_alloc_ccb + cam_fill_csio): the Data-In room and the
// issuer's Data-In Buffer (data_ptr); newTaskSet and the other nexuses a
// CLEAR TASK SET names.

import { describe, expect, test } from 'vitest';
import { CamDir, XptFunc, newScsiIo, newTaskSet } from '../../src/cam/ccb.js';

const path = { bus: 0, target: 0, lun: 0 };
const cdb = Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);

describe('newScsiIo Data-In', () => {
  test('the room is dataInLength, or the length of dataInto without it', () => {
    const into = new Uint8Array(1024);
    expect(newScsiIo({ path, cdb, dir: CamDir.IN, dataInto: into })).toMatchObject({ dxferLen: 1024, resid: 1024, dataPtr: into, dataIn: undefined });
    expect(newScsiIo({ path, cdb, dir: CamDir.IN, dataInLength: 512, dataInto: into })).toMatchObject({ dxferLen: 512, dataPtr: into });
    expect(newScsiIo({ path, cdb, dir: CamDir.IN, dataInLength: 512 })).toMatchObject({ dxferLen: 512, dataPtr: undefined });
  });

  test('dataInto is only kept for CAM_DIR_IN', () => {
    const into = new Uint8Array(512);
    expect(newScsiIo({ path, cdb, dir: CamDir.OUT, dataOut: new Uint8Array(512), dataInto: into }).dataPtr).toBeUndefined();
    expect(newScsiIo({ path, cdb, dir: CamDir.NONE, dataInto: into })).toMatchObject({ dataPtr: undefined, dxferLen: 0 });
  });

  test('a dataInto shorter than the room is a caller bug', () => {
    expect(() => newScsiIo({ path, cdb, dir: CamDir.IN, dataInLength: 1024, dataInto: new Uint8Array(512) })).toThrow(
      new RangeError('newScsiIo: dataInto holds 512 bytes, less than the 1024-byte Data-In room'),
    );
  });
});

describe('newTaskSet', () => {
  test('CLEAR TASK SET carries the nexuses the front end aborted; ABORT TASK SET carries none', () => {
    expect(newTaskSet(XptFunc.CLEAR_TASK_SET, path, 'a', undefined, ['b', 'c'])).toMatchObject({ func: 0x82, initiatorId: 'a', transportAborted: ['b', 'c'], priority: 0x300 });
    expect(newTaskSet(XptFunc.ABORT_TASK_SET, path, 'a').transportAborted).toEqual([]);
  });

  test('an ABORT TASK SET naming other nexuses is a caller bug: it reaches only the sender’s commands', () => {
    expect(() => newTaskSet(XptFunc.ABORT_TASK_SET, path, 'a', undefined, ['b'])).toThrow(new RangeError('newTaskSet: XPT_ABORT_TASK_SET with transportAborted [b]'));
  });
});

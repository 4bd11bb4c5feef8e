// The iSCSI names a target may be given (RFC 7143 §4.2.7): what vtcam serve
// --target-name and IscsiServer.listen accept.

import { describe, expect, test } from 'vitest';
import { checkIscsiName } from '../../src/iscsi/iscsi-name.js';

describe('checkIscsiName', () => {
  test.each(['iqn.2026-11.org.vtcam:disk0', 'iqn.1998-01.com.vmware', 'iqn.2001-04.com.example:storage:diskarrays-sn-a8675309', 'eui.02004567a425678d', 'naa.52004567ba64678d', 'naa.62004567ba64678d0123456789abcdef'])(
    '%s is a name',
    (name) => {
      expect(checkIscsiName(name)).toBeUndefined();
    },
  );

  test.each(['', 'iqn.', 'iqn.2026-11', 'iqn.2026-00.org.x', 'iqn.26-11.org.x', 'iqn.2026-11.-org.x', 'iqn.2026-11.org.x:', 'iqn.2026-11.org.x:a b', 'eui.02004567a425678', 'eui.02004567A425678D', 'naa.0123', 'iscsi.x'])(
    '%j is not',
    (name) => {
      expect(checkIscsiName(name)).toBeTypeOf('string');
    },
  );

  test('223 bytes is the limit', () => {
    const stem = 'iqn.2026-11.org.vtcam:';
    expect(checkIscsiName(stem + 'a'.repeat(223 - stem.length))).toBeUndefined();
    expect(checkIscsiName(stem + 'a'.repeat(224 - stem.length))).toBe('is 224 bytes; an iSCSI name is at most 223');
  });
});

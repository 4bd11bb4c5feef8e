// Which strings are iSCSI names a target may be given (RFC 7143 §4.2.7): the
// rule `vtcam serve --target-name` and IscsiServer.listen both apply.

import { MAX_ISCSI_NAME_BYTES } from '../scsi/transport-id.js';

// RFC 7143 iSCSI name types, after RFC 3722 stringprep (lower case, so a name
// typed in capitals would not match what initiators send): "iqn." + yyyy-mm +
// reversed domain name + optional ":" and anything; "eui." + 16 hex digits;
// "naa." + 16 or 32 hex digits.
const LABEL = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
const IQN_RE = new RegExp(`^iqn\\.\\d{4}-(?:0[1-9]|1[0-2])\\.${LABEL}(?:\\.${LABEL})*(?::[a-z0-9.:-]+)?$`);
const EUI_RE = /^eui\.[0-9a-f]{16}$/;
const NAA_RE = /^naa\.(?:[0-9a-f]{16}|[0-9a-f]{32})$/;

/** Undefined when `name` is a usable iSCSI name, else why not. */
export function checkIscsiName(name: string): string | undefined {
  if (Buffer.byteLength(name) > MAX_ISCSI_NAME_BYTES) return `is ${Buffer.byteLength(name)} bytes; an iSCSI name is at most ${MAX_ISCSI_NAME_BYTES}`;
  if (IQN_RE.test(name) || EUI_RE.test(name) || NAA_RE.test(name)) return undefined;
  if (/[A-Z]/.test(name)) return 'has capital letters; iSCSI names are compared in lower case (RFC 3722)';
  return 'is not an iSCSI name: use iqn.YYYY-MM.reversed.domain[:name], eui.<16 hex digits> or naa.<16 or 32 hex digits>';
}

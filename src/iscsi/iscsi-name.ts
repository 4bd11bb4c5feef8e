// Which strings are iSCSI names (RFC 7143 §4.2.7): the rule `vtcam serve
// --target-name` and IscsiServer.listen apply to target names, and the login
// to the InitiatorName an initiator declares (after foldIscsiName).

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

/**
 * An InitiatorName as the target takes it: ASCII capitals folded to lower case. RFC 3722's stringprep
 * profile (RFC 7143 §4.2.7.2) maps case, so `eui.02004567A425678D` (as RFC 7143 §4.2.7.5 prints it) and
 * `eui.02004567a425678d` are one name, and one initiator port; anything else outside the lower-case grammar
 * is left for checkIscsiName to refuse (vtcam does not carry the profile's Unicode tables).
 */
export function foldIscsiName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

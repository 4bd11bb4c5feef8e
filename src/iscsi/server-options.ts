// The scalar options of IscsiServer.listen, checked before anything starts.
// What a connection or a login reads later runs inside socket callbacks, where
// a throw ends the process: a bad value must be refused here, as listen's
// error, not found by the first initiator that connects.

import type { IscsiServerOptions } from './server.js';
import { MAX_COMMAND_WINDOW } from './serial.js';
import { checkIscsiName } from './iscsi-name.js';

/** RFC 7143 §13.9: TargetPortalGroupTag is a 16-bit binary value. */
const MAX_PORTAL_GROUP_TAG = 0xffff;
/** IscsiServerOptions.queueAllowance by default. */
const DEFAULT_QUEUE_ALLOWANCE = 32;

/** The options a server keeps, checked, with their defaults. */
export interface ServerSettings {
  readonly portalGroupTag: number;
  readonly queueAllowance: number;
  readonly log: (line: string) => void;
}

/**
 * `opts`' settings, checked; `log` made safe to call (an exception it throws is dropped).
 * @throws RangeError for a target name that is not an iSCSI name (checkIscsiName), a portalGroupTag that is
 *   not an integer 0..65535, a queueAllowance that is not an integer 1..MAX_COMMAND_WINDOW; TypeError for
 *   targets that are not an array, a target name that is not a string, a log that is not a function.
 */
export function serverSettings(opts: IscsiServerOptions): ServerSettings {
  // Widened: JavaScript callers can pass anything.
  const targets: unknown = opts.targets;
  if (!Array.isArray(targets)) throw new TypeError('iSCSI server: targets must be an array of { name, luns }');
  for (const t of opts.targets) {
    const name: unknown = t.name;
    if (typeof name !== 'string') throw new TypeError(`iSCSI server: a target name must be a string, got ${typeof name}`);
    // The name initiators log in with and SendTargets lists; one they cannot send could never be reached.
    const problem = checkIscsiName(name);
    if (problem !== undefined) throw new RangeError(`iSCSI server: target name '${name}' ${problem}`);
  }
  const portalGroupTag = opts.portalGroupTag ?? 1;
  if (!Number.isInteger(portalGroupTag) || portalGroupTag < 0 || portalGroupTag > MAX_PORTAL_GROUP_TAG) {
    throw new RangeError(`iSCSI server: portalGroupTag must be an integer 0..${MAX_PORTAL_GROUP_TAG} (RFC 7143 §13.9), got ${portalGroupTag}`);
  }
  const queueAllowance = opts.queueAllowance ?? DEFAULT_QUEUE_ALLOWANCE;
  // The login's command window is the allowance alone (no LUN is open yet), and an empty window would
  // admit no command (RFC 7143 §4.2.2.1); past 2^31 − 1, MaxCmdSN leaves the serial window.
  if (!Number.isInteger(queueAllowance) || queueAllowance < 1 || queueAllowance > MAX_COMMAND_WINDOW) {
    throw new RangeError(`iSCSI server: queueAllowance must be an integer 1..${MAX_COMMAND_WINDOW}, got ${queueAllowance}`);
  }
  return { portalGroupTag, queueAllowance, log: safeLog(opts.log) };
}

/**
 * The log option as the server calls it. A log line is written from socket and timer callbacks, where an
 * exception would close the connection it is about, or end the process; a logger's own failure is not
 * worth either, so it is dropped (the logger's owner sees its lines missing).
 */
function safeLog(log: IscsiServerOptions['log']): (line: string) => void {
  if (log === undefined) return () => undefined;
  // Widened: JavaScript callers (and `log: console`) pass anything.
  const given: unknown = log;
  if (typeof given !== 'function') throw new TypeError(`iSCSI server: log must be a function taking a line, got ${given === null ? 'null' : typeof given}`);
  return (line) => {
    try {
      log(line);
    } catch {
      // Dropped: see above.
    }
  };
}

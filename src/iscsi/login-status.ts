// Login Response Status-Class and Status-Detail. Spec: RFC 7143 §11.13.5.
//
// Class 0 is success, 1 redirection (the response carries TargetAddress),
// 2 initiator error (do not retry unchanged), 3 target error (may retry).
// Every non-zero class ends the login and the connection.

/** One row of the §11.13.5 table. */
export interface LoginStatusCode {
  readonly statusClass: number;
  readonly statusDetail: number;
  readonly description: string;
}

const s = (statusClass: number, statusDetail: number, description: string): LoginStatusCode => ({ statusClass, statusDetail, description });

/** RFC 7143 §11.13.5, as data. */
export const LoginStatus = {
  SUCCESS: s(0x00, 0x00, 'Success'),
  TARGET_MOVED_TEMPORARILY: s(0x01, 0x01, 'Target moved temporarily'),
  TARGET_MOVED_PERMANENTLY: s(0x01, 0x02, 'Target moved permanently'),
  INITIATOR_ERROR: s(0x02, 0x00, 'Initiator error'),
  AUTHENTICATION_FAILURE: s(0x02, 0x01, 'Authentication failure'),
  AUTHORIZATION_FAILURE: s(0x02, 0x02, 'Authorization failure'),
  NOT_FOUND: s(0x02, 0x03, 'Not found'),
  TARGET_REMOVED: s(0x02, 0x04, 'Target removed'),
  UNSUPPORTED_VERSION: s(0x02, 0x05, 'Unsupported version'),
  TOO_MANY_CONNECTIONS: s(0x02, 0x06, 'Too many connections'),
  MISSING_PARAMETER: s(0x02, 0x07, 'Missing parameter'),
  CANT_INCLUDE_IN_SESSION: s(0x02, 0x08, "Can't include in session"),
  SESSION_TYPE_NOT_SUPPORTED: s(0x02, 0x09, 'Session type not supported'),
  SESSION_DOES_NOT_EXIST: s(0x02, 0x0a, 'Session does not exist'),
  INVALID_DURING_LOGIN: s(0x02, 0x0b, 'Invalid request during login'),
  TARGET_ERROR: s(0x03, 0x00, 'Target error'),
  SERVICE_UNAVAILABLE: s(0x03, 0x01, 'Service unavailable'),
  OUT_OF_RESOURCES: s(0x03, 0x02, 'Out of resources'),
} as const satisfies Record<string, LoginStatusCode>;
export type LoginStatus = (typeof LoginStatus)[keyof typeof LoginStatus];

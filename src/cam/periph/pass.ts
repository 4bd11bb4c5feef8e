// The pass periph: raw CDBs to one device, answers back untouched. What SCSI
// command test suites need (FreeBSD's pass(4) / camcontrol cmd): no error
// recovery, no retries, no sense interpretation — the caller sees exactly what
// the device (or the transport) said. The one thing pass does with an error
// completion is release the device queue freeze it carried (CAM_DEV_QFRZN),
// as FreeBSD's passdone does, so later commands run.

import { CAM_DEV_QFRZN, newScsiIo, type CamPath, type Ccb, type PeriphXpt, type ScsiIoCcb } from '../xpt/periph-api.js';
import { checkRequest, resultOf, type ScsiRequest, type ScsiResult } from './request.js';

/** Raw SCSI access to the device at a path. */
export class PassPeriph {
  readonly path: CamPath;
  readonly #xpt: PeriphXpt;

  /** @throws RangeError when the XPT has no device at `path`. */
  constructor(xpt: PeriphXpt, path: CamPath) {
    if (xpt.device(path) === undefined) throw new RangeError(`pass: no device at ${path.bus}:${path.target}:${path.lun}`);
    this.#xpt = xpt;
    this.path = path;
  }

  /**
   * Sends one CDB and resolves with what came back, error or not (the promise
   * rejects only for a malformed request).
   * @throws RangeError for a malformed request (see checkRequest).
   */
  scsi(req: ScsiRequest): Promise<ScsiResult> {
    const r = checkRequest(req, 'pass.scsi');
    return new Promise((resolve) => {
      const done = (c: Ccb): void => {
        const ccb = c as ScsiIoCcb;
        if ((ccb.status & CAM_DEV_QFRZN) !== 0) this.#xpt.releaseDevq(this.path, 1, true);
        resolve(resultOf(ccb));
      };
      this.#xpt.action(newScsiIo({ path: this.path, ...r, retryCount: 0, done }));
    });
  }
}

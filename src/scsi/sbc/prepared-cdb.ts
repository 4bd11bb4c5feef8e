// A CDB the SBC emulator has decoded once, against the command table of the
// moment, so that a transport can learn the Data-Out length and then execute
// the command without a second decode. Spec: SBC-4 (READ/WRITE CDBs), SPC-5
// (CDB format).

import { decodeCdb, type DecodedCdb } from '../cdb/decode.js';
import type { ReadWriteFields } from '../cdb/rw.js';
import type { CommandDescriptor } from '../cdb/registry.js';
import type { Decoded } from '../sense.js';

/**
 * A CDB decoded once, for a transport that needs the Data-Out length before it
 * executes the command (SbcEmulator.prepare): the SIM asks for both on every
 * WRITE, and a second decode would double the emulator's own cost.
 */
export interface PreparedCdb {
  readonly cdb: Uint8Array;
  /** Data-Out bytes the command takes (what SbcEmulator.dataOutLength answers). */
  readonly dataOutLength: number;
  /**
   * A READ or WRITE (10)/(16): one block operation, with no step between
   * others at which an abort could stop it (ExecuteOptions.aborted is never
   * asked for it).
   */
  readonly blockIo: boolean;
}

/**
 * What prepare() keeps, against the command table it was decoded with: for a
 * READ/WRITE (10)/(16) the fast path's fields (the full decode is made only
 * if the generic path needs it), for anything else the full decode.
 */
export class Prepared implements PreparedCdb {
  readonly cdb: Uint8Array;
  readonly dataOutLength: number;
  readonly rw: ReadWriteFields | undefined;
  readonly commands: readonly CommandDescriptor[];
  #decoded: Decoded<DecodedCdb> | undefined;

  constructor(cdb: Uint8Array, dataOutLength: number, commands: readonly CommandDescriptor[], rw: ReadWriteFields | undefined, decoded: Decoded<DecodedCdb> | undefined) {
    this.cdb = cdb;
    this.dataOutLength = dataOutLength;
    this.commands = commands;
    this.rw = rw;
    this.#decoded = decoded;
  }

  get blockIo(): boolean {
    return this.rw !== undefined;
  }

  get decoded(): Decoded<DecodedCdb> {
    this.#decoded ??= decodeCdb(this.cdb, this.commands);
    return this.#decoded;
  }
}

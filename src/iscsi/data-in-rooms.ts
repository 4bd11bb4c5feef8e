// Where a READ's data is received when one Data-In PDU (RFC 7143 §11.7)
// will carry it back: a room with BHS_LENGTH bytes left free in front of it,
// for that PDU's header. Header and data are then one run of bytes, and rooms
// cut one after another make the PDUs of a turn one run too: the connection
// hands the socket a view of them instead of copying them together
// (connection-output.ts, socket-write.ts). Rooms are cut from zeroed slabs
// that only move forward (scsi/slab.ts): no byte is reused, so a room the
// device left short, or a header not yet written, reads as zeros, never as
// another command's data.

import { SlabCutter } from '../scsi/slab.js';
import { BHS_LENGTH } from './bhs-layout.js';

/** Slab size: about 60 rooms of a 4 KiB READ with their headers. */
export const DATA_IN_ROOM_SLAB_BYTES = 256 * 1024;
/** A room of more bytes (header included) gets an ArrayBuffer of its own. */
const POOLED_MAX = 64 * 1024;

/** Data-In rooms of one connection, each with room for its BHS in front. */
export class DataInRooms {
  readonly #slabs = new SlabCutter(DATA_IN_ROOM_SLAB_BYTES);

  /** A zeroed room of `bytes` bytes with BHS_LENGTH free bytes in front of it, right after the room taken before when both fit one slab. */
  take(bytes: number): Uint8Array {
    if (BHS_LENGTH + bytes > POOLED_MAX) return new Uint8Array(new ArrayBuffer(BHS_LENGTH + bytes), BHS_LENGTH, bytes);
    return this.#slabs.cut(bytes, BHS_LENGTH);
  }
}

/** The BHS_LENGTH bytes in front of a room DataInRooms.take gave, for the header of the Data-In PDU carrying it. */
export function headerRoomOf(room: Uint8Array): Uint8Array {
  if (room.byteOffset < BHS_LENGTH) throw new RangeError(`headerRoomOf: a room has ${BHS_LENGTH} bytes in front of it, this one ${room.byteOffset}`);
  return new Uint8Array(room.buffer, room.byteOffset - BHS_LENGTH, BHS_LENGTH);
}

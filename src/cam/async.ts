// Asynchronous events (cam_ccb.h ac_code): what the XPT tells subscribers
// about buses and devices. Values are FreeBSD's.

export const AsyncCode = {
  BUS_RESET: 0x001,
  UNSOL_RESEL: 0x002,
  SCSI_AEN: 0x008,
  SENT_BDR: 0x010,
  PATH_REGISTERED: 0x020,
  PATH_DEREGISTERED: 0x040,
  FOUND_DEVICE: 0x080,
  LOST_DEVICE: 0x100,
  TRANSFER_NEG: 0x200,
  INQ_CHANGED: 0x400,
  GETDEV_CHANGED: 0x800,
  CONTRACT: 0x1000,
  ADVINFO_CHANGED: 0x2000,
  UNIT_ATTENTION: 0x4000,
} as const;
export type AsyncCode = (typeof AsyncCode)[keyof typeof AsyncCode];

// Where fixed and descriptor format sense data keep their fields: byte offsets
// and bit masks, for sense-codec.ts. Spec: SPC-5 §4.4.2 (descriptor format sense
// data and its descriptors), §4.4.3 (fixed format sense data).

// Byte offsets, fixed format.
export const FIXED = {
  RESPONSE_CODE: 0, // VALID bit 7
  SENSE_KEY: 2, // FILEMARK bit 7, EOM bit 6, ILI bit 5, SDAT_OVFL bit 4 (always 0 here)
  INFORMATION: 3, // 4 bytes
  ADDITIONAL_SENSE_LENGTH: 7,
  COMMAND_SPECIFIC_INFORMATION: 8, // 4 bytes
  ADDITIONAL_SENSE_CODE: 12,
  ADDITIONAL_SENSE_CODE_QUALIFIER: 13,
  FIELD_REPLACEABLE_UNIT_CODE: 14,
  SENSE_KEY_SPECIFIC: 15, // 3 bytes, SKSV = byte 15 bit 7
  SIZE: 18,
} as const;

// Byte offsets, descriptor format header (bytes 4..6 reserved; byte 4 bit 7 is SDAT_OVFL).
export const DESC = {
  RESPONSE_CODE: 0,
  SENSE_KEY: 1,
  ADDITIONAL_SENSE_CODE: 2,
  ADDITIONAL_SENSE_CODE_QUALIFIER: 3,
  ADDITIONAL_SENSE_LENGTH: 7,
  DESCRIPTORS: 8,
} as const;

// Descriptor layouts: offsets within the descriptor, ADDITIONAL LENGTH (bytes after byte 1).
export const INFO_DESC = { VALID_BYTE: 2, INFORMATION: 4, ADDITIONAL_LENGTH: 0x0a } as const;
export const CSI_DESC = { COMMAND_SPECIFIC_INFORMATION: 4, ADDITIONAL_LENGTH: 0x0a } as const;
export const SKS_DESC = { SENSE_KEY_SPECIFIC: 4, ADDITIONAL_LENGTH: 0x06 } as const; // byte 7 reserved
export const FRU_DESC = { FIELD_REPLACEABLE_UNIT_CODE: 3, ADDITIONAL_LENGTH: 0x02 } as const;

export const HEADER_SIZE = 8; // both formats: ADDITIONAL SENSE LENGTH counts the bytes after byte 7
export const RESPONSE_CODE_MASK = 0x7f; // byte 0 bits 6..0
export const VALID = 0x80; // fixed byte 0 bit 7; Information descriptor byte 2 bit 7
export const SENSE_KEY_MASK = 0x0f; // bits 3..0
// Sense-key-specific byte 0 (fixed byte 15, SKS descriptor byte 4):
export const SKSV = 0x80; // bit 7: SENSE KEY SPECIFIC VALID
export const C_D = 0x40; // bit 6, field pointer: 1 = CDB, 0 = parameter data
export const SD = 0x20; // bit 5, segment pointer: 1 = from the segment descriptor, 0 = from the parameter list
export const BPV = 0x08; // bit 3, field and segment pointer: BIT POINTER VALID
export const BIT_POINTER = 0x07; // bits 2..0

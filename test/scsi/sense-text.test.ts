import { describe, expect, it } from 'vitest';
import { Asc, invalidFieldInCdb, senseMediumError } from '../../src/scsi/sense.js';
import { ascText, describeSense, senseText } from '../../src/scsi/sense-text.js';
import { ascVectors, describeVectors } from './sense.vectors.js';

describe('senseText', () => {
  it('names every sense key as SPC-5 does', () => {
    expect([...Array(16).keys()].map(senseText)).toEqual([
      'NO SENSE',
      'RECOVERED ERROR',
      'NOT READY',
      'MEDIUM ERROR',
      'HARDWARE ERROR',
      'ILLEGAL REQUEST',
      'UNIT ATTENTION',
      'DATA PROTECT',
      'BLANK CHECK',
      'VENDOR SPECIFIC',
      'COPY ABORTED',
      'ABORTED COMMAND',
      'SENSE KEY 0x0c', // obsolete (formerly EQUAL)
      'VOLUME OVERFLOW',
      'MISCOMPARE',
      'COMPLETED',
    ]);
  });

  it.each([16, -1, 1.5, Number.NaN])('rejects %s', (k) => {
    expect(() => senseText(k)).toThrow(RangeError);
  });
});

describe('ascText', () => {
  it.each(ascVectors)('$code $name', (v) => {
    const code = Asc[v.name as keyof typeof Asc];
    expect(ascText(code.asc, code.ascq)).toBe(v.text);
  });

  it('every Asc key is its T10 description in CAPS_SNAKE (two documented abbreviations aside)', () => {
    const abbreviated: Record<string, string> = {
      LBA_OUT_OF_RANGE: 'LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE',
      NO_ADDITIONAL_SENSE: 'NO_ADDITIONAL_SENSE_INFORMATION',
    };
    for (const [name, code] of Object.entries(Asc)) {
      const snake = ascText(code.asc, code.ascq)
        .toUpperCase()
        .replace(/[^A-Z0-9]+/g, '_')
        .replace(/^_|_$/g, '');
      expect(snake, name).toBe(abbreviated[name] ?? name);
    }
  });

  it.each([
    // T10 table rows commonly seen by block targets and iSCSI initiators
    [0x04, 0x01, 'LOGICAL UNIT IS IN PROCESS OF BECOMING READY'],
    [0x04, 0x0a, 'LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION'],
    [0x04, 0x1b, 'LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS'],
    [0x0c, 0x02, 'WRITE ERROR - AUTO REALLOCATION FAILED'],
    [0x10, 0x01, 'LOGICAL BLOCK GUARD CHECK FAILED'],
    [0x11, 0x04, 'UNRECOVERED READ ERROR - AUTO REALLOCATE FAILED'],
    [0x1a, 0x00, 'PARAMETER LIST LENGTH ERROR'],
    [0x20, 0x00, 'INVALID COMMAND OPERATION CODE'],
    [0x21, 0x01, 'INVALID ELEMENT ADDRESS'],
    [0x25, 0x00, 'LOGICAL UNIT NOT SUPPORTED'],
    [0x26, 0x02, 'PARAMETER VALUE INVALID'],
    [0x27, 0x01, 'HARDWARE WRITE PROTECTED'],
    [0x28, 0x00, 'NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED'],
    [0x29, 0x01, 'POWER ON OCCURRED'],
    [0x2a, 0x06, 'ASYMMETRIC ACCESS STATE CHANGED'],
    [0x2c, 0x00, 'COMMAND SEQUENCE ERROR'],
    [0x31, 0x00, 'MEDIUM FORMAT CORRUPTED'],
    [0x3a, 0x00, 'MEDIUM NOT PRESENT'],
    [0x3f, 0x0e, 'REPORTED LUNS DATA HAS CHANGED'],
    [0x3f, 0x12, 'iSCSI IP ADDRESS ADDED'],
    [0x44, 0x00, 'INTERNAL TARGET FAILURE'],
    [0x47, 0x00, 'SCSI PARITY ERROR'],
    [0x47, 0x03, 'INFORMATION UNIT iuCRC ERROR DETECTED'],
    [0x49, 0x00, 'INVALID MESSAGE ERROR'],
    [0x4b, 0x02, 'TOO MUCH WRITE DATA'],
    [0x4b, 0x05, 'DATA OFFSET ERROR'],
    [0x55, 0x03, 'INSUFFICIENT RESOURCES'],
    [0x5d, 0x00, 'FAILURE PREDICTION THRESHOLD EXCEEDED'],
    [0x5e, 0x00, 'LOW POWER CONDITION ON'],
  ] as const)('%i/%i: %s', (asc, ascq, text) => {
    expect(ascText(asc, ascq)).toBe(text);
  });

  it.each([
    // the table wins over the vendor-specific ASCQ rule
    [0x5d, 0xff, 'FAILURE PREDICTION THRESHOLD EXCEEDED (FALSE)'],
    // Annex D rows whose ASCQ is a parameter
    [0x40, 0x80, 'DIAGNOSTIC FAILURE ON COMPONENT 80h'],
    [0x40, 0xff, 'DIAGNOSTIC FAILURE ON COMPONENT FFh'],
    [0x4d, 0x00, 'TAGGED OVERLAPPED COMMANDS (TASK TAG 00h)'],
    [0x4d, 0xa5, 'TAGGED OVERLAPPED COMMANDS (TASK TAG A5h)'],
    [0x70, 0x12, 'DECOMPRESSION EXCEPTION SHORT ALGORITHM ID OF 12h'],
    // vendor specific ASC (80h..FFh), any ASCQ
    [0x80, 0x00, 'VENDOR SPECIFIC ASC 0x80 ASCQ 0x00'],
    [0x80, 0x01, 'VENDOR SPECIFIC ASC 0x80 ASCQ 0x01'],
    [0xff, 0xff, 'VENDOR SPECIFIC ASC 0xff ASCQ 0xff'],
    // vendor specific ASCQ (80h..FFh) under a standard ASC
    [0x04, 0x80, 'ASC 0x04 VENDOR SPECIFIC ASCQ 0x80'],
    [0x7f, 0xff, 'ASC 0x7f VENDOR SPECIFIC ASCQ 0xff'],
    [0x44, 0xf6, 'ASC 0x44 VENDOR SPECIFIC ASCQ 0xf6'],
    // reserved or not in the table
    [0x40, 0x7f, 'ASC 0x40 ASCQ 0x7f'],
    [0x24, 0x7f, 'ASC 0x24 ASCQ 0x7f'],
    [0x75, 0x00, 'ASC 0x75 ASCQ 0x00'],
    [0x7f, 0x7f, 'ASC 0x7f ASCQ 0x7f'],
    [0x00, 0x01, 'ASC 0x00 ASCQ 0x01'], // FILEMARK DETECTED: tape only, not listed
  ] as const)('rules: %i/%i → %s', (asc, ascq, text) => {
    expect(ascText(asc, ascq)).toBe(text);
  });

  it.each([
    [256, 0],
    [0, 256],
    [-1, 0],
    [0, 1.5],
  ])('rejects %s/%s', (asc, ascq) => {
    expect(() => ascText(asc, ascq)).toThrow(RangeError);
  });

  it('gives a text led by a letter for every one of the 65 536 pairs', () => {
    // Every pair, not a sample: T10's texts lead with a capital but for 3Fh/12h..14h ("iSCSI IP ADDRESS …"),
    // which a sample of 100 pairs met only now and then.
    const bad: string[] = [];
    for (let asc = 0; asc <= 0xff; asc++) {
      for (let ascq = 0; ascq <= 0xff; ascq++) {
        const text = ascText(asc, ascq);
        if (!/^[A-Z]/.test(text) && !text.startsWith('iSCSI ')) bad.push(`${asc}/${ascq}: ${text}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('describeSense', () => {
  it.each(describeVectors)('$text', (v) => {
    expect(describeSense(v.sense)).toBe(v.text);
  });

  it('describes constructor output', () => {
    expect(describeSense(invalidFieldInCdb(1, 3))).toBe('ILLEGAL REQUEST: INVALID FIELD IN CDB (24h/00h), CDB byte 1 bit 3');
    expect(describeSense(senseMediumError(Asc.UNRECOVERED_READ_ERROR, 0x1234n))).toBe(
      'MEDIUM ERROR: UNRECOVERED READ ERROR (11h/00h), information 0x1234',
    );
  });
});

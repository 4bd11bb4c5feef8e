// docs/scsi-commands.md is generated from the same command table that checks
// CDBs and answers REPORT SUPPORTED OPERATION CODES, so the docs cannot drift:
// this test fails when they differ. Regenerate with `npx vitest run -u test/docs`.

import { describe, expect, test } from 'vitest';
import { formatCommandTable } from '../../src/scsi/cdb/registry.js';
import { SbcEmulator } from '../../src/scsi/sbc/emulator.js';
import { MemoryBlockSet } from '../../src/scsi/sbc/memory-block-set.js';

const HEADER = `# SCSI commands vtcam's block device implements

Generated from the command table (\`src/scsi/cdb/command-table.ts\`) as a logical
unit with every capability narrows it (\`SbcEmulator\` over a block device with
discard, write-zeroes and flush). The same data checks every CDB — a bit set
outside *CDB usage data* (and *ignored*) is CHECK CONDITION, ILLEGAL REQUEST,
INVALID FIELD IN CDB with the field pointer on that byte and bit — and is what
REPORT SUPPORTED OPERATION CODES returns (with the service action queried in
place of the SERVICE ACTION field's bits, as SPC-5 has it).

A unit narrows the table to what it can do: without discard there is no UNMAP,
with a MAXIMUM COMPARE AND WRITE LENGTH of 0 no COMPARE AND WRITE, without a
discard that reads back zeros or a write-zeroes that may deallocate, and an
allocation query to show it, no SANITIZE BLOCK ERASE (and the \`sanitize: false\`
option removes SANITIZE). There is no SANITIZE CRYPTOGRAPHIC ERASE (nothing is
encrypted), no ORWRITE (32), and of third-party copy only the LID1 EXTENDED
COPY with RECEIVE COPY STATUS and OPERATING PARAMETERS. Protection
information is never implemented, so RDPROTECT/WRPROTECT/VRPROTECT are not in
any usage data; neither is ANCHOR. PERSISTENT RESERVE OUT has neither REGISTER
AND MOVE nor REPLACE LOST RESERVATION, and RESERVE / RELEASE (10) take no
third-party or long-ID reservations (every field after the operation code is
reserved).

`;

describe('docs/scsi-commands.md', () => {
  test('is the command table of a fully capable unit', async () => {
    const lu = await SbcEmulator.create(new MemoryBlockSet({ blocks: 1024 }));
    await expect(HEADER + formatCommandTable(lu.commands) + '\n').toMatchFileSnapshot('../../docs/scsi-commands.md');
  });
});

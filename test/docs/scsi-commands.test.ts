// docs/scsi-commands.md is generated from the same command table that checks
// CDBs and answers REPORT SUPPORTED OPERATION CODES, so the docs cannot drift:
// this test fails when they differ. Regenerate with `npx vitest run -u test/docs`.

import { describe, expect, test } from 'vitest';
import { formatCommandTable } from '../../src/scsi/cdb/registry.js';
import { SbcEmulator } from '../../src/scsi/sbc/emulator.js';
import { MemoryBlockSet } from '../../src/scsi/sbc/memory-block-set.js';

const HEADER = `# SCSI commands vtcam's block device implements

Generated from the command table (\`src/scsi/cdb/registry.ts\`) as a logical
unit with every capability narrows it (\`SbcEmulator\` over a block device with
discard, write-zeroes and flush). The same data checks every CDB — a bit set
outside *CDB usage data* (and *ignored*) is CHECK CONDITION, ILLEGAL REQUEST,
INVALID FIELD IN CDB with the field pointer on that byte and bit — and is what
REPORT SUPPORTED OPERATION CODES returns.

A unit narrows the table to what it can do: without discard there is no UNMAP,
with a MAXIMUM COMPARE AND WRITE LENGTH of 0 no COMPARE AND WRITE. Protection
information is never implemented, so RDPROTECT/WRPROTECT/VRPROTECT are not in
any usage data; neither is ANCHOR. PERSISTENT RESERVE IN/OUT and RESERVE /
RELEASE arrive with the iSCSI front end.

`;

describe('docs/scsi-commands.md', () => {
  test('is the command table of a fully capable unit', async () => {
    const lu = await SbcEmulator.create(new MemoryBlockSet({ blocks: 1024 }));
    await expect(HEADER + formatCommandTable(lu.commands) + '\n').toMatchFileSnapshot('../../docs/scsi-commands.md');
  });
});

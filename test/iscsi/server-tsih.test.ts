// A login naming a TSIH (RFC 7143 §6.3, §11.12.6, §11.13.5) end to end: the
// TSIH names a session of one initiator port (InitiatorName + ISID) on one
// target, so for any other initiator, port or target the session does not
// exist (02h/0Ah), before any authentication and whatever TSIHs are live; the
// port's own session answers too many connections (02h/06h) for a second CID
// and 02h/0Ah for its own CID (connection reinstatement, §6.3.4, is not
// served: the initiator then reinstates the session with TSIH 0, §6.3.5).
// None of these logins touches the session they name.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStack, type Stack } from '../../src/stack.js';
import { MemoryBackend } from '../../src/virtio/device/backends/memory.js';
import { IscsiServer } from '../../src/iscsi/server.js';
import { TestInitiator, opcodeOf, type RawPdu } from './initiator.js';

const OPEN = 'iqn.2026-11.org.vtcam:tsih-open';
const LOCKED = 'iqn.2026-11.org.vtcam:tsih-locked';
const OWNER = 'iqn.2026-11.org.vtcam:test-initiator'; // initiator.ts's login name
const ISID = 0x23d0_0000_0071n;
let stacks: Stack[];
let server: IscsiServer;
let owner: TestInitiator;
let tsih: number;

beforeAll(async () => {
  stacks = await Promise.all([0, 1].map(() => createStack({ backend: new MemoryBackend({ blocks: 256, blockSize: 512 }), queueSize: 16 })));
  const [open, locked] = stacks as [Stack, Stack];
  server = await IscsiServer.listen({
    port: 0,
    targets: [
      { name: OPEN, luns: [{ lun: 0, pass: open.pass(0) }] },
      { name: LOCKED, luns: [{ lun: 0, pass: locked.pass(0) }], chap: { user: 'alice', secret: 'twelve-chars-plus' } },
    ],
    log: () => undefined,
  });
  owner = await TestInitiator.connect(server.address.port);
  const r = await owner.login(OPEN, {}, ISID);
  expect([r.bhs[36], r.bhs[37]]).toEqual([0, 0]);
  tsih = ((r.bhs[14] ?? 0) << 8) | (r.bhs[15] ?? 0);
});

afterAll(async () => {
  owner.close();
  await server.close();
  for (const s of stacks) await s.close();
});

/** The answer to a first Login Request (security stage, T=0) naming `o.tsih`, as `o.name` / `o.isid` / CID `o.cid`, to `o.target`. */
async function loginNaming(o: { tsih: number; name: string; isid: bigint; cid: number; target: string }): Promise<RawPdu> {
  const ini = await TestInitiator.connect(server.address.port);
  const req = ini.loginRequest({ transit: false, csg: 0, nsg: 0, isid: o.isid, tsih: o.tsih, keys: { InitiatorName: o.name, TargetName: o.target, SessionType: 'Normal', AuthMethod: 'CHAP,None' } });
  // CID (§11.12.7), bytes 20..21.
  req[20] = o.cid >> 8;
  req[21] = o.cid & 0xff;
  ini.send(req);
  const r = await ini.next((p) => opcodeOf(p) === 0x23);
  await ini.closedWithin();
  return r;
}

/** The owner's session still serves: TEST UNIT READY (its power-on unit attention first, then GOOD). */
async function ownerStillServes(): Promise<void> {
  let status = -1;
  for (let i = 0; i < 3 && status !== 0; i++) status = (await owner.result(owner.command({ cdb: new Uint8Array(6), edtl: 0 }))).status;
  expect(status).toBe(0);
  expect(owner.closed).toBe(false);
  expect(server.sessions).toBe(1);
}

describe('a login naming a live TSIH', () => {
  it.each([
    ['another initiator, another ISID', 'iqn.2026-11.org.example:stranger', 0x23d0_0000_0099n, OPEN],
    ['another initiator, the same ISID', 'iqn.2026-11.org.example:stranger', ISID, OPEN],
    ['the same initiator, another ISID (another initiator port)', OWNER, 0x23d0_0000_0072n, OPEN],
    ['the same initiator port on another target, before CHAP', OWNER, ISID, LOCKED],
    ['another initiator on a CHAP target, before CHAP', 'iqn.2026-11.org.example:stranger', 0x23d0_0000_0099n, LOCKED],
  ])('from %s: session does not exist (02h/0Ah), as for a TSIH no session has; the session is untouched', async (_, name, isid, target) => {
    const live = await loginNaming({ tsih, name, isid, cid: 0, target });
    const unused = await loginNaming({ tsih: tsih ^ 0x8000, name, isid, cid: 0, target });
    expect([live.bhs[36], live.bhs[37]]).toEqual([0x02, 0x0a]);
    expect([unused.bhs[36], unused.bhs[37]]).toEqual([0x02, 0x0a]);
    await ownerStillServes();
  });

  it('from its own initiator port with another CID: too many connections (02h/06h, MaxConnections 1)', async () => {
    const r = await loginNaming({ tsih, name: OWNER, isid: ISID, cid: 1, target: OPEN });
    expect([r.bhs[36], r.bhs[37]]).toEqual([0x02, 0x06]);
    await ownerStillServes();
  });

  it('from its own initiator port with its CID (connection reinstatement, not served): 02h/0Ah, so the initiator reinstates with TSIH 0', async () => {
    const r = await loginNaming({ tsih, name: OWNER, isid: ISID, cid: 0, target: OPEN });
    expect([r.bhs[36], r.bhs[37]]).toEqual([0x02, 0x0a]);
    await ownerStillServes();
  });
});

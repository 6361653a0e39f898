import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendCommand, type NatsConnection } from '@secai/streams';
import { waitFor } from '@secai/streams/testing';
import { bootForTest, type BootedForTest } from './fixture.js';

// Issue 10 §3: a revoked identity got 401 over HTTP but its NATS user kept connecting and
// publishing until the next boot. Revocation, asked of the running appliance over the bus
// (`appliance.revoke_identity`), must close its open connections and refuse new ones, while
// the appliance and everyone else keep running. §3 is tested on nats-server 2.9.10's reload.

let t: BootedForTest;
beforeAll(async () => {
  t = await bootForTest({ services: [] });
});
afterAll(async () => {
  await t?.cleanup();
});

async function revoke(caller: string, service: string, signedBy = caller, timeoutMs = 30_000) {
  const nc = await t.connect(caller);
  return sendCommand(nc, {
    command: 'appliance.revoke_identity',
    signer: await t.signer(signedBy),
    trust: await t.trust(),
    request: { service: service as never, reason: 'bus abuse drill', incidentId: 'inc-1' },
    timeoutMs,
  });
}

/** Resolves with the error the connection closed with. */
function closedWith(nc: NatsConnection): Promise<string> {
  return nc.closed().then((err) => (err ? `${err.name}: ${err.message}` : 'closed'));
}

describe('revocation while the appliance runs', () => {
  it("closes the revoked identity's open connection and refuses a new one, sent by the incident recorder", async () => {
    const victim = await t.connect('registry');
    const victimClosed = closedWith(victim);
    // It can publish on its own aggregate now (the server accepts it; nothing verifies here).
    victim.publish('secai.evt.service.registry', 'before');
    await victim.flush();

    const reply = await revoke('incident-recorder', 'registry');
    expect(reply).toEqual({ ok: true, alreadyDone: false });

    expect(await victimClosed).toMatch(/Authorization Violation/i);
    await expect(t.connect('registry')).rejects.toMatchObject({ code: 'NATS_UNREACHABLE' });

    // Recorded once the user is gone; the appliance and the other identities are unaffected.
    await waitFor(
      async () => (await t.events('identity.registry')).some((e) => e.type === 'identity.revoked'),
      30_000,
      'identity.revoked',
    );
    const other = await t.connect('quarantine');
    expect(other.isClosed()).toBe(false);
    expect(t.appliance.status()).toEqual([]);
    expect(t.appliance.bus()).toMatchObject({ state: 'running', restarts: 0 });

    // Idempotent: the second request finds the certificate revoked and the user refused.
    expect(await revoke('cli', 'registry')).toEqual({ ok: true, alreadyDone: true });
  });

  it('refuses a caller that is not listed for the command, at the server and at the handler', async () => {
    // quarantine may not publish on the command subject at all (the server refuses it)...
    await expect(revoke('quarantine', 'ui', 'quarantine', 5_000)).rejects.toThrow();
    // ...and a request on cli's connection but signed by quarantine is refused by the handler.
    const refused = await revoke('cli', 'ui', 'quarantine').catch((e: unknown) => e);
    expect(refused).toMatchObject({ ok: false });
    const ui = await t.connect('ui');
    expect(ui.isClosed()).toBe(false);
    expect(
      (await t.events('identity.ui')).filter((e) => e.type === 'identity.revoked'),
    ).toHaveLength(0);
  });

  it('refuses to revoke the appliance itself, with a code', async () => {
    expect(await revoke('cli', 'appliance')).toMatchObject({
      ok: false,
      code: 'REVOCATION_REFUSED',
    });
  });

  it('`secai identity revoke` goes through the running appliance, so the bus refuses the user too', async () => {
    const victim = await t.connect('airlock');
    const victimClosed = closedWith(victim);
    // The built CLI, as an operator runs it (its own process, the state dir's cli identity).
    const secai = fileURLToPath(new URL('../../cli/bin/secai.js', import.meta.url));
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [secai, ...args, '--state-dir', t.stateDir], {
        env: { PATH: process.env.PATH ?? '' },
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const first = await run(
      'identity',
      'revoke',
      'airlock',
      '--reason',
      'operator drill',
      '--json',
    );
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ service: 'airlock', busAccessRevoked: true });
    expect(await victimClosed).toMatch(/Authorization Violation/i);
    const again = await run('identity', 'revoke', 'airlock', '--reason', 'twice');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('REVOCATION_REFUSED');
  });
});

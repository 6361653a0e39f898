import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamError, isNoResponders, sendCommand } from '../src/index.js';
import {
  fakeContainmentTarget,
  startTestAppliance,
  type ServiceClient,
  type TestAppliance,
} from '../src/testing/index.js';

// A command's handler that is not running and one that does not answer are different failures:
// the first is answered by the server at once ("no responders"), the second only by the timeout.
let app: TestAppliance;
let recorder: ServiceClient;
let agent: ServiceClient;

beforeAll(async () => {
  app = await startTestAppliance();
  recorder = await app.client('incident-recorder');
  agent = await app.client('agent');
});

afterAll(async () => {
  await app?.cleanup();
});

const freeze = (timeoutMs: number) =>
  sendCommand(recorder.nc, {
    command: 'agent.freeze',
    signer: app.pki.signerFor('incident-recorder'),
    trust: app.pki.trust,
    request: { incidentId: 'INC-20250101-000000-000000000000', reason: 'test' },
    timeoutMs,
  });

describe('sendCommand', () => {
  it('talks to a server that reports absent handlers (headers negotiated)', () => {
    // No-responders detection needs headers on the connection; without them an absent handler
    // could only ever show up as a timeout.
    expect(recorder.nc.info?.headers).toBe(true);
  });

  it('an absent handler is COMMAND_TARGET_ABSENT, not a timeout', async () => {
    // A long timeout: only the server's "no responders" answer can end this request as absent.
    const err = await freeze(60_000).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamError);
    expect(err).toMatchObject({ code: 'COMMAND_TARGET_ABSENT' });
    expect((err as Error).message).toContain('no agent service in this appliance');
    expect(isNoResponders((err as Error).cause)).toBe(true);
  });

  it('a handler that does not answer in time is COMMAND_TIMEOUT', async () => {
    const target = fakeContainmentTarget(agent, 'agent.freeze', app.pki);
    target.hold();
    try {
      // The subscription must reach the server before the request, or the handler is absent.
      await agent.nc.flush();
      await expect(freeze(300)).rejects.toMatchObject({ code: 'COMMAND_TIMEOUT' });
    } finally {
      target.release();
      target.stop();
    }
  });

  it('a handler that answers is answered', async () => {
    const target = fakeContainmentTarget(agent, 'agent.freeze', app.pki);
    try {
      await agent.nc.flush();
      await expect(freeze(10_000)).resolves.toMatchObject({ ok: true });
    } finally {
      target.stop();
    }
  });
});

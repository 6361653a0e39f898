import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, commandSubject, signCommand, verifyCommand } from '@secai/contracts';
import { TrustCache, type Subscription } from '@secai/streams';
import { startTestAppliance, type TestAppliance } from '@secai/streams/testing';
import { incidentList, incidentStep } from '../src/commands/incident.js';
import { integrityScan } from '../src/commands/integrity.js';
import { policyDecide } from '../src/commands/policy.js';
import type { CliContext } from '../src/context.js';
import { CliError } from '../src/errors.js';

// Issue 10 §5 (CLI), the rest of the walk: failures of the commands the CLI sends and of the
// recorder's gateway, each reported as what it is, against a real nats-server and a real HTTP
// server (no service answers unless the test starts one).

let app: TestAppliance;
let ctx: CliContext;

beforeAll(async () => {
  app = await startTestAppliance();
  const cli = await app.client('cli');
  ctx = {
    nc: cli.nc,
    js: cli.js,
    jsm: cli.jsm,
    trust: TrustCache.fixed(app.pki.trust),
    signer: app.pki.signerFor('cli'),
    stream: cli.store.stream,
    httpPorts: {},
    close: async () => {},
  };
});

afterAll(async () => {
  await app?.cleanup();
});

async function failure(p: Promise<unknown>): Promise<{ code: unknown; message: string }> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as { code: unknown; message: string },
  );
  if (!err) throw new Error('expected a failure');
  return err;
}

const silent = () => undefined;

describe('incident ack/resolve', () => {
  it('says no recorder runs when nothing answers the command, not that it timed out', async () => {
    const err = await failure(
      incidentStep(ctx, 'resolve', 'inc_1', { operator: 'alice', timeoutSeconds: 30 }, silent),
    );
    expect(err).toBeInstanceOf(CliError);
    expect(err.code).toBe('NOT_RUNNING');
    expect(err.message).toContain('incident-recorder');
  });

  it('refuses a note over the contract bound instead of recording it cut short', async () => {
    const err = await failure(
      incidentStep(
        ctx,
        'acknowledge',
        'inc_1',
        { operator: 'alice', note: 'n'.repeat(1025) },
        silent,
      ),
    );
    expect(err.code).toBe('USAGE');
    expect(err.message).toContain('--note');
    expect(err.message).toContain('1024');
  });
});

describe('integrity scan', () => {
  it('refuses a reason over the contract bound before sending it', async () => {
    const err = await failure(integrityScan(ctx, { reason: 'r'.repeat(257) }, silent));
    expect(err.code).toBe('USAGE');
    expect(err.message).toContain('--reason');
    expect(err.message).toContain('256');
  });
});

describe('the recorder gateway', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // Something listens, but it is not the recorder: it redirects elsewhere.
    server = createServer((_req, res) => {
      res.writeHead(302, { location: 'http://example.invalid/' }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('says the request failed, not that the recorder is down, when a server answers wrongly', async () => {
    const err = await failure(incidentList(ctx, { url }, silent));
    expect(err.code).toBe('GATEWAY_FAILED');
    expect(err.message).toContain(url);
    expect(err.message).toContain('redirect');
  });

  it('says NOT_RUNNING when nothing listens at the address', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await failure(incidentList(ctx, { url: `http://127.0.0.1:${port}` }, silent));
    expect(err.code).toBe('NOT_RUNNING');
  });
});

describe('policy decide', () => {
  const request = { domain: 'tool_access', subject: 'filesystem.read' };

  it('says no engine runs when nothing answers', async () => {
    const err = await failure(policyDecide(ctx, request, {}, silent));
    expect(err.code).toBe('NOT_RUNNING');
  });

  it('reports a reply forged by another identity as the refusal it is, not as "not running"', async () => {
    // An attacker who owns the registry answers on the engine's subject with a reply it signed.
    const def = COMMANDS['policy-engine.decide'];
    const impostor = await app.client('policy-engine');
    const sub: Subscription = impostor.nc.subscribe(commandSubject(def.handler, def.name), {
      callback: (_err, msg) => {
        const { document } = verifyCommand(msg.data, app.pki.trust, {
          command: 'policy-engine.decide',
          direction: 'request',
        });
        const { bytes } = signCommand(
          'policy-engine.decide',
          'reply',
          { ok: false, code: 'unavailable', message: 'forged' },
          app.pki.signerFor('registry'),
          { now: new Date(), causationId: document.id },
        );
        msg.respond(bytes);
      },
    });
    try {
      await impostor.nc.flush();
      const err = await failure(policyDecide(ctx, request, {}, silent));
      expect(err.code).not.toBe('NOT_RUNNING');
      expect(err.code).toBe('TYPE_NOT_AUTHORISED');
      expect(err.message).toContain('registry');
    } finally {
      sub.unsubscribe();
    }
  });
});

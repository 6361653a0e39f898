import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { expect } from 'vitest';
import {
  DEFAULT_POLICY_DIR,
  PolicyEngine,
  PolicyHost,
  runPromotionConsumer,
  serveCommands,
  streamRecorder,
} from '@secai/policy-engine';
import type { ServiceClient, TestAppliance } from '@secai/streams/testing';

export interface PolicyEngineSide {
  /** The engine's policy host, over `<dir>/policy` (a copy of the shipped default). */
  host: PolicyHost;
  /** Its connection and event store (signed as policy-engine). */
  client: ServiceClient;
  stop(): Promise<void>;
}

/**
 * The real policy engine beside the quarantine in an int test: its default policy copied into
 * `<dir>/policy` and loaded, its promotion consumer and its decide/reload commands on the bus,
 * all as the policy-engine identity.
 */
export async function startPolicyEngineSide(
  app: TestAppliance,
  dir: string,
  log: Logger,
): Promise<PolicyEngineSide> {
  await cp(DEFAULT_POLICY_DIR, join(dir, 'policy'), { recursive: true });
  const side = await app.client('policy-engine');
  const engine = new PolicyEngine();
  const host = new PolicyHost(engine, side.store, join(dir, 'policy'), log);
  expect((await host.reload('startup')).ok).toBe(true);
  const consumer = await runPromotionConsumer(side.js, side.jsm, {
    engine,
    recorder: streamRecorder(side.store),
    store: side.store,
    log,
  });
  const commands = serveCommands(side.nc, {
    engine,
    host,
    recorder: streamRecorder(side.store),
    signer: side.store.signer,
    trust: side.store.trust,
    log,
  });
  return {
    host,
    client: side,
    async stop() {
      for (const sub of commands) sub.unsubscribe();
      await consumer.stop();
    },
  };
}

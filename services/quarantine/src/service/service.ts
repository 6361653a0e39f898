import { mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { progressSubject, type EventData, type ServiceName } from '@secai/contracts';
import {
  recordRefusedCommand,
  runConsumer,
  PolicyClient,
  serveCommand,
  type EventStore,
  type JetStreamClient,
  type JetStreamManager,
  type Logger,
  type NatsConnection,
  type RunningConsumer,
  type Subscription,
} from '@secai/streams';
import { cleanupIncomplete, type IntakeLimits } from '../intake/snapshot.js';
import type { QuarantineConfig } from './config.js';
import { ActivePolicyReader } from './activePolicy.js';
import { Coordinator, type EngineAsker } from './coordinator.js';
import { Importer, type ImportOutcome } from './importer.js';
import { InboxWatcher, returnClaims } from './inbox.js';
import { loadPolicyBundle, type PolicyBundle } from './policyBundle.js';
import { registryEventsOf, registryViewOf } from './registryView.js';
import { sandboxedStages, type StageExecutor } from './stages.js';

export const PROMOTION_DECISIONS_DURABLE = 'quarantine-promotion-decisions';
export const POLICY_LOADED_DURABLE = 'quarantine-policy-loaded';
/** How long the source question may take (the engine answers once its decision is stored). */
const DECIDE_TIMEOUT_MS = 10_000;
const PROGRESS_EVERY_MS = 250;

export interface QuarantineClient {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  store: EventStore;
}

export interface QuarantineService {
  coordinator: Coordinator;
  importer: Importer;
  inbox: InboxWatcher;
  /** The bundle of the engine's active policy now (null: none is valid). */
  bundle(): Promise<PolicyBundle | null>;
  stop(): Promise<void>;
}

/** Callers that may only import from the appliance's import staging area, not any path. */
const STAGING_ONLY: readonly ServiceName[] = ['ui'];

/**
 * The quarantine zone: intake (the `quarantine.import` command and the watched inbox), the
 * coordinator driving every run from its events, and the consumer of `model_promotion`
 * decisions that settles a run. Open runs resume before anything new is taken.
 */
export async function startQuarantine(
  client: QuarantineClient,
  options: { config: QuarantineConfig; log: Logger; executeStage?: StageExecutor },
): Promise<QuarantineService> {
  const { config, log } = options;
  await mkdir(config.quarantineDir, { recursive: true, mode: 0o750 });
  await mkdir(config.inboxDir, { recursive: true, mode: 0o770 });
  await cleanupIncomplete(config.quarantineDir);
  await returnClaims(config.quarantineDir, config.inboxDir, log);

  // The policy comes from the engine's `policy.loaded` events, read when a decision needs it;
  // the quarantine's own inputs (models lock, YARA rules) are read from disk at the same moment.
  const activePolicy = new ActivePolicyReader({ ...client, log });
  let last: PolicyBundle | null = null;
  const bundle = async (): Promise<PolicyBundle | null> => {
    const loaded = await loadPolicyBundle(await activePolicy.current(), config.policyDir);
    if (loaded.ok) {
      if (last?.digest !== loaded.bundle.digest)
        log.info(
          { digest: loaded.bundle.digest, policyDigest: loaded.bundle.policyDigest },
          'policy bundle bound',
        );
      last = loaded.bundle;
      return last;
    }
    if (last !== null) log.error({ problem: loaded.problem }, 'policy bundle refused');
    last = null; // fail closed: no run starts and no stage runs without a valid policy
    return null;
  };
  if (!(await bundle())) log.warn('no valid policy is active yet: runs wait for policy.loaded');

  const policy = new PolicyClient(
    client.nc,
    client.store.signer,
    client.store.trust,
    DECIDE_TIMEOUT_MS,
  );
  const askEngine: EngineAsker = async (request) => {
    const answer = await policy.ask(request);
    if (!answer.ok && answer.code === 'POLICY_UNAVAILABLE')
      log.error({ err: answer.cause }, 'the policy engine did not answer');
    return answer.ok ? answer : { ok: false, code: answer.code, message: answer.message };
  };

  const coordinator = new Coordinator({
    store: client.store,
    log,
    quarantineDir: config.quarantineDir,
    bundle,
    askEngine,
    executeStage: options.executeStage ?? sandboxedStages,
    behaviorThreads: config.behaviorThreads,
  });
  let limits: Partial<IntakeLimits> = intakeLimits(last);
  const importer = new Importer({
    coordinator,
    quarantineDir: config.quarantineDir,
    limits: () => limits,
    log,
    registry: async (hex) =>
      registryViewOf(registryEventsOf((await client.store.load('model', hex)).events)),
  });
  const inbox = new InboxWatcher({
    inboxDir: config.inboxDir,
    quarantineDir: config.quarantineDir,
    importer,
    pollMs: config.inboxPollMs,
    log,
  });

  const resumed = await coordinator.resume(client.js, client.jsm);
  if (resumed > 0) log.info({ runs: resumed }, 'resuming open quarantine runs');

  const decisions: RunningConsumer = await runConsumer(client.js, client.jsm, {
    durable: PROMOTION_DECISIONS_DURABLE,
    filterSubject: 'secai.evt.decision.model_promotion',
    types: ['policy.decided'],
    store: client.store,
    handler: async (v) => {
      await coordinator.onDecision(
        {
          id: v.event.id,
          causationId: v.event.causationid,
          data: v.event.data as EventData<'policy.decided'>,
        },
        v.event.correlationid,
      );
    },
    onError: (err, meta) =>
      log.error({ err, seq: meta.seq }, 'promotion outcome failed; will retry'),
  });

  // Runs that wait for a policy start once the engine records one (the event is only the
  // signal: the policy itself is read again from policy/active when the run starts).
  const policyLoaded: RunningConsumer = await runConsumer(client.js, client.jsm, {
    durable: POLICY_LOADED_DURABLE,
    filterSubject: 'secai.evt.policy.active',
    types: ['policy.loaded'],
    deliverPolicy: 'new',
    store: client.store,
    handler: () => {
      coordinator.policyLoaded();
      return Promise.resolve();
    },
    onError: (err, meta) => log.error({ err, seq: meta.seq }, 'policy.loaded not taken up'),
  });

  const importSub: Subscription = serveCommand(client.nc, {
    command: 'quarantine.import',
    signer: client.store.signer,
    trust: client.store.trust,
    handle: async (req, ctx) => {
      limits = intakeLimits(await bundle());
      if (
        STAGING_ONLY.includes(ctx.caller as ServiceName) &&
        !(await insideDir(req.path, join(config.stateDir, 'import-staging')))
      )
        return {
          ok: false,
          code: 'path_not_allowed',
          message: 'this caller imports from the import staging area only',
        };
      const subject = progressSubject('quarantine', ctx.requestId);
      let last = 0;
      const progress = (msg: Record<string, unknown>) =>
        client.nc.publish(subject, JSON.stringify(msg));
      let planned: (p: { totalBytes: number; files: number }) => void = () => undefined;
      const plan = new Promise<{ totalBytes: number; files: number }>((r) => (planned = r));
      const run = importer
        .run(
          {
            source: req.path,
            via: 'import',
            requestId: ctx.requestId,
            correlationId: ctx.correlationId,
            ...(req.name !== undefined ? { displayName: req.name } : {}),
            ...(req.url !== undefined ? { url: req.url } : {}),
            ...(req.revision !== undefined ? { revision: req.revision } : {}),
            ...(req.signaturePath !== undefined ? { signaturePath: req.signaturePath } : {}),
            requestedBy: {
              service: ctx.caller,
              ...(req.operator !== undefined ? { operator: req.operator } : {}),
            },
          },
          {
            onPlanned: planned,
            onProgress: (bytesDone, totalBytes) => {
              const now = Date.now();
              if (now - last < PROGRESS_EVERY_MS) return;
              last = now;
              progress({ phase: 'copying', bytesDone, totalBytes });
            },
          },
        )
        .then(
          (outcome: ImportOutcome) => {
            progress(
              outcome.ok ? { phase: 'acquired', ...outcome } : { phase: 'refused', ...outcome },
            );
            return outcome;
          },
          (err: unknown) => {
            log.error({ err }, 'import failed');
            const outcome = {
              ok: false as const,
              code: 'import_failed',
              message: 'the import failed inside the quarantine service',
            };
            progress({ phase: 'refused', ...outcome });
            return outcome;
          },
        );
      // Answer once the source was walked and accepted for copying (or refused before that).
      const first = await Promise.race([plan, run]);
      if ('totalBytes' in first)
        return { ok: true, totalBytes: first.totalBytes, files: first.files };
      if (first.ok) return { ok: true, totalBytes: 0, files: 0 };
      return { ok: false, code: first.code, message: first.message };
    },
    onRejected: recordRefusedCommand(client.store, 'quarantine-commands', log),
    onError: (err) => log.error({ err }, 'import command failed'),
  });

  await inbox.start();
  log.info({ quarantineDir: config.quarantineDir }, 'quarantine ready');

  return {
    coordinator,
    importer,
    inbox,
    bundle,
    async stop() {
      importSub.unsubscribe();
      await inbox.stop();
      await decisions.stop();
      await policyLoaded.stop();
      await coordinator.stop();
    },
  };
}

function intakeLimits(bundle: PolicyBundle | null): Partial<IntakeLimits> {
  const i = bundle?.policy.quarantine.intake;
  if (!i) return {};
  return {
    ...(i.max_file_bytes !== undefined ? { maxFileBytes: i.max_file_bytes } : {}),
    ...(i.max_total_bytes !== undefined ? { maxTotalBytes: i.max_total_bytes } : {}),
    ...(i.max_files !== undefined ? { maxFiles: i.max_files, maxEntries: i.max_files } : {}),
    ...(i.reserve_bytes !== undefined ? { reserveBytes: i.reserve_bytes } : {}),
  };
}

/**
 * Whether `path` lies inside `dir` once `..` and symlinked parents are resolved (the entry itself
 * is not followed: intake refuses a symlink of its own).
 */
export async function insideDir(path: string, dir: string): Promise<boolean> {
  try {
    const parent = await realpath(dirname(resolve(path)));
    const root = await realpath(dir);
    return join(parent, basename(path)).startsWith(root + sep);
  } catch {
    return false;
  }
}

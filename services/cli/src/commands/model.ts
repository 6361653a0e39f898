import { resolve } from 'node:path';
import {
  progressSubject,
  type CloudEvent,
  type CommandReply,
  type EventData,
} from '@secai/contracts';
import { EventStore, sendCommand, streamBounds, type Subscription } from '@secai/streams';
import {
  registryManifestProjection,
  type ManifestEntry,
  type RegistryManifestDocument,
} from '@secai/projections';
import type { CliContext } from '../context.js';
import { checkCommandRequest } from '../bounds.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { progress } from '../progress.js';
import { verifiedEvents } from '../verified.js';
import { importedArtifacts, matchArtifact } from './modelArtifacts.js';
import {
  artifactRun,
  rejectionLines,
  rejectionOf,
  runLines,
  stageLine,
  stageOutcome,
  type NextStep,
} from './modelRun.js';

type Out = (line: string) => void;
const HEX = /^(?:sha256:)?([0-9a-f]{64})$/;

/** A model named by its digest (hex or `sha256:hex`) or by a unique prefix of 12+ hex chars. */
function modelId(doc: RegistryManifestDocument, ref: string): string {
  const full = HEX.exec(ref);
  if (full) return full[1]!;
  const prefix = /^(?:sha256:)?([0-9a-f]{12,63})$/.exec(ref)?.[1];
  if (prefix) {
    const hits = Object.keys(doc.models).filter((id) => id.startsWith(prefix));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1)
      throw new CliError('USAGE', `${ref} names ${hits.length} models: give more of the digest`);
  }
  const byName = Object.entries(doc.models).filter(([, m]) => m.name === ref);
  if (byName.length === 1) return byName[0]![0];
  if (byName.length > 1)
    throw new CliError('USAGE', `${byName.length} models are named ${ref}: use the digest`);
  throw new CliError(
    'MODEL_UNKNOWN',
    `no model ${ref} in the registry (secai model list shows them)`,
  );
}

/** The registry manifest, rebuilt from the verified `model.*` events of the stream. */
export async function readManifest(ctx: CliContext): Promise<RegistryManifestDocument> {
  const projection = registryManifestProjection;
  let doc = projection.initialState();
  for await (const e of verifiedEvents(ctx, { filterSubject: 'secai.evt.model.>' })) {
    if ((projection.canHandle as readonly string[]).includes(e.event.type))
      doc = projection.evolve(doc, e);
  }
  return doc;
}

function row(m: ManifestEntry): string[] {
  return [m.digest.slice(7, 19), m.name, m.format, String(m.sizeBytes), m.status, m.storedAt];
}

export async function modelList(
  ctx: CliContext,
  opts: { json?: boolean; all?: boolean },
  out: Out,
): Promise<void> {
  const doc = await readManifest(ctx);
  const models = Object.values(doc.models)
    .filter((m) => opts.all || m.status === 'available')
    .sort((a, b) => a.name.localeCompare(b.name));
  if (opts.json) return out(JSON.stringify(models));
  if (models.length === 0)
    return out(opts.all ? 'no models' : 'no available models (--all shows contained ones too)');
  out(table(['digest', 'name', 'format', 'bytes', 'status', 'stored'], models.map(row)));
}

function store(ctx: CliContext): EventStore {
  return new EventStore(ctx.js, ctx.jsm, { signer: ctx.signer, trust: ctx.trust });
}

/**
 * `nextStepFor` of the quarantine, loaded only when a rejection or refusal needs it: the
 * package's entry brings every format parser and the judge, which no other command uses.
 */
async function nextStepAdvice(): Promise<NextStep> {
  return (await import('@secai/quarantine')).nextStepFor;
}

/** The registry's entry a reference names, or undefined when the registry holds no such model. */
function registryEntry(doc: RegistryManifestDocument, ref: string): ManifestEntry | undefined {
  try {
    return doc.models[modelId(doc, ref)];
  } catch (err) {
    if (err instanceof CliError && err.code === 'MODEL_UNKNOWN') return undefined;
    throw err;
  }
}

/** `model show` of an import the registry does not hold: its latest quarantine run. */
async function showArtifact(
  ctx: CliContext,
  ref: string,
  opts: { json?: boolean },
  out: Out,
): Promise<void> {
  const artifact = matchArtifact(await importedArtifacts(ctx), ref);
  const events = artifact === null ? [] : (await store(ctx).load('artifact', artifact)).events;
  const run = artifactRun(
    events.map((e) => e.event),
    await nextStepAdvice(),
  );
  if (run === null)
    throw new CliError(
      'MODEL_UNKNOWN',
      `no model or import ${ref} (secai model list --all shows the registry's models)`,
    );
  if (opts.json) {
    const { artifact: id, digest, name, fileName, kind, sizeBytes, attempt, acquiredAt } = run;
    return out(
      JSON.stringify({
        model: null,
        artifact: { id, digest, name, fileName, kind, sizeBytes, attempt, acquiredAt },
        outcome: run.outcome,
        stages: run.stages,
        notRun: run.notRun,
        rejection: run.rejection,
      }),
    );
  }
  for (const line of runLines(run)) out(line);
}

/** One model: its manifest entry and the quarantine run it came from, stage by stage. */
export async function modelShow(
  ctx: CliContext,
  ref: string,
  opts: { json?: boolean },
  out: Out,
): Promise<void> {
  const doc = await readManifest(ctx);
  const entry = registryEntry(doc, ref);
  // Not in the registry: a rejected import, one still in quarantine, or one removed since.
  if (!entry) return showArtifact(ctx, ref, opts, out);
  const { events } = await store(ctx).load('artifact', entry.fromArtifact);
  const stages = events
    .map((e) => e.event)
    .filter((e) => e.type === 'quarantine.stage.passed' || e.type === 'quarantine.stage.failed')
    .map((e) => {
      const d = e.data as EventData<'quarantine.stage.passed'>;
      return {
        stage: d.stage,
        passed: e.type === 'quarantine.stage.passed',
        reasonCode: d.reasonCode,
        result: d.result,
        sandbox: d.isolation.sandbox,
        network: d.isolation.network,
      };
    });
  const completed = events.map((e) => e.event).find((e) => e.type === 'quarantine.completed')
    ?.data as EventData<'quarantine.completed'> | undefined;
  if (opts.json)
    return out(
      JSON.stringify({
        model: entry,
        pin: completed?.pin ?? null,
        provenance: completed?.provenance ?? null,
        stages,
      }),
    );
  out(`${entry.name}  ${entry.digest}`);
  out(
    `format ${entry.format}, ${entry.sizeBytes} bytes, status ${entry.status}${entry.note ? ` (${entry.note})` : ''}`,
  );
  out(
    `stored ${entry.storedAt} at ${entry.storePath}; last verified ${entry.lastVerifiedAt ?? 'never'}`,
  );
  if (completed) {
    out(
      `pin: ${completed.pin === 'first_use' ? 'UNPINNED (local first install)' : completed.pin}; provenance: ${completed.provenance}${completed.signer ? ` by ${completed.signer}` : ''}`,
    );
    if (completed.behavioralScore)
      out(
        `behavioural test: score ${completed.behavioralScore.score}, ${completed.behavioralScore.flagged} flagged, ${completed.behavioralScore.critical} critical of ${completed.behavioralScore.totalPrompts}`,
      );
  }
  for (const s of stages)
    out(
      `  ${s.passed ? 'passed' : 'FAILED'}  ${s.stage.padEnd(16)} ${s.reasonCode}  (${s.sandbox}, network ${s.network})`,
    );
}

/** Subscribes to a command's progress before it is sent; returns the request id to send it with. */
function listen(
  ctx: CliContext,
  handler: string,
  onMessage: (msg: Record<string, unknown>) => void,
): { requestId: string; sub: Subscription } {
  const requestId = crypto.randomUUID();
  const sub = ctx.nc.subscribe(progressSubject(handler, requestId), {
    callback: (err, msg) => {
      if (err) return;
      try {
        onMessage(msg.json<Record<string, unknown>>());
      } catch {
        // advisory only: a malformed progress message is ignored
      }
    },
  });
  return { requestId, sub };
}

function refused(reply: CommandReply<'registry.verify'>): never {
  const r = reply as { code: string; message: string };
  throw new CliError('REFUSED', `${r.code}: ${r.message}`);
}

/** Waits for the first verified event on `subject` from `fromSeq` that `done` accepts. */
async function waitForEvent(
  ctx: CliContext,
  subject: string,
  fromSeq: number,
  seen: (e: CloudEvent) => boolean,
  timeoutMs: number,
): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    for await (const { event } of verifiedEvents(ctx, {
      filterSubject: subject,
      fromSeq,
      follow: true,
      signal: abort.signal,
    })) {
      if (seen(event)) return;
    }
    throw new CliError(
      'TIMEOUT',
      `no answer on ${subject} within ${Math.round(timeoutMs / 1000)} s`,
    );
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

export interface ImportOptions {
  name?: string;
  source?: string;
  revision?: string;
  signature?: string;
  wait: boolean;
  timeoutSeconds: number;
  json?: boolean;
}

/** The option each `quarantine.import` field comes from. */
const IMPORT_OPTIONS = {
  '/path': 'PATH',
  '/name': '--name',
  '/url': '--source',
  '/revision': '--revision',
  '/signaturePath': '--signature',
};

/**
 * `secai model import PATH`: hands the file or directory to the quarantine (which reads it
 * itself), shows the copy's progress, then follows the run stage by stage until the model is
 * promoted (exit 0) or rejected (exit 1).
 */
export async function modelImport(
  ctx: CliContext,
  path: string,
  opts: ImportOptions,
  out: Out,
): Promise<void> {
  const request = {
    path: resolve(path),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.source !== undefined ? { url: opts.source } : {}),
    ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
    ...(opts.signature !== undefined ? { signaturePath: resolve(opts.signature) } : {}),
  };
  checkCommandRequest('quarantine.import', request, IMPORT_OPTIONS);
  const { lastSeq } = await streamBounds(ctx.jsm, ctx.stream);
  let bar: ReturnType<typeof progress> | null = null;
  let shown = 0;
  let final: Record<string, unknown> | null = null;
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((r) => (settle = r));
  const { requestId, sub } = listen(ctx, 'quarantine', (msg) => {
    if (
      msg.phase === 'copying' &&
      typeof msg.bytesDone === 'number' &&
      typeof msg.totalBytes === 'number'
    ) {
      bar ??= progress('hashing', msg.totalBytes, opts.json);
      bar.tick(msg.bytesDone - shown);
      shown = msg.bytesDone;
    } else if (msg.phase === 'acquired' || msg.phase === 'refused') {
      final = msg;
      settle();
    }
  });
  try {
    const reply = await sendCommand(ctx.nc, {
      command: 'quarantine.import',
      signer: ctx.signer,
      trust: ctx.trust,
      requestId,
      timeoutMs: 30_000,
      request,
    });
    if (!reply.ok) {
      const r = reply as { code: string; message: string };
      return await refusedImport(request.path, r.code, r.message, opts, out);
    }
    await Promise.race([
      settled,
      new Promise<void>((r) => setTimeout(r, opts.timeoutSeconds * 1000)),
    ]);
  } finally {
    (bar as ReturnType<typeof progress> | null)?.stop();
    sub.unsubscribe();
  }
  const result = final as Record<string, unknown> | null;
  if (result === null)
    throw new CliError('TIMEOUT', 'the quarantine did not report the copy in time');
  if (result.phase === 'refused')
    return refusedImport(request.path, String(result.code), String(result.message), opts, out);
  const artifact = String(result.artifactId);
  const digest = String(result.digest);
  if (!opts.json) out(`acquired ${digest}${result.reused ? ' (already in quarantine)' : ''}`);
  if (!opts.wait) {
    if (opts.json) out(JSON.stringify({ artifact, digest, outcome: 'acquired' }));
    return;
  }
  let promoted = false;
  let rejected: CloudEvent | undefined;
  let failedStage: CloudEvent | undefined;
  await waitForEvent(
    ctx,
    `secai.evt.artifact.${artifact}`,
    lastSeq + 1,
    (e) => {
      if (e.type === 'quarantine.stage.passed' || e.type === 'quarantine.stage.failed') {
        if (e.type === 'quarantine.stage.failed') failedStage = e;
        if (!opts.json) out(stageLine(stageOutcome(e), 'duration'));
      }
      if (e.type === 'model.promoted') promoted = true;
      if (e.type === 'model.rejected') rejected = e;
      return promoted || rejected !== undefined;
    },
    opts.timeoutSeconds * 1000,
  );
  if (rejected === undefined) {
    if (opts.json) out(JSON.stringify({ artifact, digest, outcome: 'promoted' }));
    else out(`promoted ${digest}`);
    return;
  }
  const rejection = rejectionOf(rejected, failedStage, await nextStepAdvice());
  // Said once: the detail and evidence on stdout (or in the one JSON document); the error line
  // only names the stage and code, then the next step ends the output.
  if (opts.json) out(JSON.stringify({ artifact, digest, outcome: 'rejected', ...rejection }));
  else for (const line of rejectionLines(rejection)) out(line);
  const where = rejection.stage ?? 'the promotion decision';
  throw new CliError(
    'MODEL_REJECTED',
    `${digest} rejected at ${where} (${rejection.reasonCode})${opts.json ? '' : `\nnext: ${rejection.nextStep}`}`,
  );
}

/**
 * Intake refused the import (the reply, or the copy): with `--json` a document on stdout, so a
 * script reads every outcome the same way; either way the error line, then the next step.
 */
async function refusedImport(
  path: string,
  reasonCode: string,
  detail: string,
  opts: { json?: boolean },
  out: Out,
): Promise<never> {
  const nextStep = (await nextStepAdvice())(reasonCode);
  if (opts.json) out(JSON.stringify({ path, outcome: 'refused', reasonCode, detail, nextStep }));
  throw new CliError(
    'REFUSED',
    `${reasonCode}: ${detail}${opts.json ? '' : `\nnext: ${nextStep}`}`,
  );
}

/** `secai model verify`: the registry re-hashes the stored model; exit 1 when it does not match. */
export async function modelVerify(
  ctx: CliContext,
  ref: string,
  opts: { json?: boolean; timeoutSeconds: number },
  out: Out,
): Promise<void> {
  const id = modelId(await readManifest(ctx), ref);
  const { lastSeq } = await streamBounds(ctx.jsm, ctx.stream);
  let bar: ReturnType<typeof progress> | null = null;
  let shown = 0;
  const { requestId, sub } = listen(ctx, 'registry', (msg) => {
    if (typeof msg.bytesDone === 'number' && typeof msg.totalBytes === 'number') {
      bar ??= progress('verifying', msg.totalBytes, opts.json);
      bar.tick(msg.bytesDone - shown);
      shown = msg.bytesDone;
    }
  });
  let result: CloudEvent | null = null;
  try {
    const reply = await sendCommand(ctx.nc, {
      command: 'registry.verify',
      signer: ctx.signer,
      trust: ctx.trust,
      requestId,
      request: { model: id },
    });
    if (!reply.ok) refused(reply);
    await waitForEvent(
      ctx,
      `secai.evt.model.${id}`,
      lastSeq + 1,
      (e) => {
        if (e.causationid !== requestId) return false;
        result = e;
        return e.type === 'model.verified' || e.type === 'model.verification.failed';
      },
      opts.timeoutSeconds * 1000,
    );
  } finally {
    (bar as ReturnType<typeof progress> | null)?.stop();
    sub.unsubscribe();
  }
  const event = result as CloudEvent | null;
  if (!event) throw new CliError('TIMEOUT', 'the registry did not answer');
  if (opts.json) out(JSON.stringify({ model: id, type: event.type, ...(event.data as object) }));
  if (event.type === 'model.verified') {
    if (!opts.json) out(`OK: ${id} matches its digest`);
    return;
  }
  const d = event.data as EventData<'model.verification.failed'>;
  throw new CliError(
    'VERIFICATION_FAILED',
    `${id}: ${d.problem} (expected ${d.expected}, got ${d.actual ?? 'nothing'})`,
  );
}

/** `secai model remove` and `secai model contain`: operator commands to the registry. */
export async function modelRemove(
  ctx: CliContext,
  ref: string,
  opts: { reason: string; contain?: boolean; json?: boolean },
  out: Out,
): Promise<void> {
  const id = modelId(await readManifest(ctx), ref);
  checkCommandRequest(
    opts.contain ? 'registry.quarantine_model' : 'registry.remove',
    { model: id, reason: opts.reason },
    { '/reason': '--reason' },
  );
  const common = { signer: ctx.signer, trust: ctx.trust };
  const reply = opts.contain
    ? await sendCommand(ctx.nc, {
        ...common,
        command: 'registry.quarantine_model',
        request: { model: id, reason: opts.reason },
      })
    : await sendCommand(ctx.nc, {
        ...common,
        command: 'registry.remove',
        request: { model: id, reason: opts.reason },
      });
  if (!reply.ok) throw new CliError('REFUSED', `${reply.code}: ${reply.message}`);
  if (opts.json) return out(JSON.stringify({ model: id, ...reply }));
  out(opts.contain ? `contained ${id}` : `removed ${id}`);
}

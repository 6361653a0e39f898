import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServiceName, TrustStore } from '@secai/contracts';
import type { ManifestEntry, RegistryManifestDocument } from '@secai/projections';
import { createGateway, sendProblem, type BusWatch, type Logger } from '@secai/streams';
import { busHealthOf } from '@secai/streams/http';
import {
  MODEL_STATUSES,
  ROUTES,
  type DigestParams,
  type ModelView,
  type ModelsQuery,
  type VerificationFailedProblem,
  type VerifiedResponse,
  type VerificationFailure,
} from './api.js';
import { fileNameOf, hexOf } from './decider.js';
import type { Registry, VerificationOutcome } from './registry.js';
import type { StoreLayout } from './store.js';

export { MODEL_STATUSES, type ModelView };

/** Who may call what (ARCHITECTURE §2). */
export const SCOPES = {
  read: ['ui', 'cli', 'inference', 'integrity-monitor', 'incident-recorder', 'appliance'],
  verify: ['cli', 'ui', 'inference'],
} as const satisfies Record<string, readonly ServiceName[]>;

export interface HttpDeps {
  registry: Pick<Registry, 'verify'>;
  /** The hosted manifest projection: its document and the last stream sequence applied. */
  manifest: () => { document: RegistryManifestDocument; lastSeq: number };
  layout: StoreLayout;
  trust: TrustStore;
  /**
   * The service's bus connection (`watchBus(nc)`): /health reports it, and while it is down the
   * routes that record answer 503 `BUS_UNAVAILABLE` at once.
   */
  bus: Pick<BusWatch, 'connected' | 'health'>;
  log?: Logger;
  now?: () => Date;
}

const DIGEST = /^(?:sha256:)?([0-9a-f]{64})$/;

export function viewOf(entry: ManifestEntry, layout: StoreLayout): ModelView {
  const hex = hexOf(entry.digest);
  const path =
    entry.status === 'contained'
      ? join(layout.containmentRoot, hex, fileNameOf(entry))
      : join(layout.storeRoot, entry.storePath);
  return { ...entry, id: hex, path, runnable: entry.status === 'available' };
}

function sorted(entries: ManifestEntry[]): ManifestEntry[] {
  return entries.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.digest < b.digest ? -1 : 1,
  );
}

function verificationBody(
  hex: string,
  v: VerificationOutcome,
): VerifiedResponse | VerificationFailure | null {
  const event = v.event;
  if (event?.type === 'model.verified')
    return {
      status: 'verified',
      model: hex,
      trigger: event.data.trigger,
      expected: event.data.expected,
      actual: event.data.actual,
      sizeBytes: event.data.sizeBytes,
      problem: null,
      safeToUse: true,
      eventId: v.eventId,
    };
  if (event?.type === 'model.verification.failed')
    return {
      status: 'failed',
      model: hex,
      trigger: event.data.trigger,
      expected: event.data.expected,
      actual: event.data.actual,
      sizeBytes: event.data.actualSizeBytes,
      expectedSizeBytes: event.data.expectedSizeBytes,
      problem: event.data.problem,
      safeToUse: false,
      eventId: v.eventId,
    };
  return null;
}

/**
 * The registry's gateway on 127.0.0.1:8470: the manifest (read), its integrity view for the
 * integrity monitor, and a synchronous re-hash (verify). Every error is a problem document.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'registry',
    trust: deps.trust,
    scopes: SCOPES,
    bus: deps.bus,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    routes: (api) => routes(api, deps),
  });
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  // The manifest is the projection in memory: read while the bus is down (as of its last event).
  const reads = { scope: 'read', busOptional: true };
  /** The model named by `:digest`, or the problem already sent. */
  const lookup = (
    raw: string,
    reply: FastifyReply,
  ): { hex: string; entry: ManifestEntry | undefined } | null => {
    const m = DIGEST.exec(raw);
    if (!m) {
      void sendProblem(
        reply,
        400,
        'DIGEST_INVALID',
        'a model is named by sha256:<64 hex> or <64 hex>',
      );
      return null;
    }
    const hex = m[1]!;
    const { models } = deps.manifest().document;
    return { hex, entry: Object.hasOwn(models, hex) ? models[hex] : undefined };
  };
  const unknown = (reply: FastifyReply, hex: string) =>
    sendProblem(reply, 404, 'MODEL_UNKNOWN', `no model sha256:${hex} in the registry`);

  app.get('/health', { config: { public: true }, schema: ROUTES.health }, (_req, reply) => {
    const { document, lastSeq } = deps.manifest();
    const { status, httpStatus, bus } = busHealthOf(deps.bus);
    return reply.code(httpStatus).send({
      status,
      models: Object.keys(document.models).length,
      manifestSeq: lastSeq,
      bus,
    });
  });

  app.get<{ Querystring: ModelsQuery }>(
    '/api/v1/models',
    { config: reads, schema: ROUTES.models },
    (request, reply) => {
      const { document, lastSeq } = deps.manifest();
      const status = request.query.status;
      const models = sorted(
        Object.values(document.models).filter((m) => status === undefined || m.status === status),
      ).map((m) => viewOf(m, deps.layout));
      return reply.send({ models, manifestSeq: lastSeq });
    },
  );

  app.get<{ Params: DigestParams }>(
    '/api/v1/models/:digest',
    { config: reads, schema: ROUTES.model },
    (request, reply) => {
      const found = lookup(request.params.digest, reply);
      if (!found) return reply;
      if (!found.entry) return unknown(reply, found.hex);
      return reply.send(viewOf(found.entry, deps.layout));
    },
  );

  app.get<{ Params: DigestParams }>(
    '/api/v1/models/:digest/integrity',
    { config: reads, schema: ROUTES.modelIntegrity },
    (request, reply) => {
      const found = lookup(request.params.digest, reply);
      if (!found) return reply;
      if (!found.entry) return unknown(reply, found.hex);
      const view = viewOf(found.entry, deps.layout);
      return reply.send({
        digest: view.digest,
        sizeBytes: view.sizeBytes,
        storePath: view.storePath,
        path: view.path,
        status: view.status,
        runnable: view.runnable,
      });
    },
  );

  app.post<{ Params: DigestParams }>(
    '/api/v1/models/:digest/verify',
    { config: { scope: 'verify' }, schema: ROUTES.verify },
    async (request, reply) => {
      const m = DIGEST.exec(request.params.digest);
      if (!m)
        return sendProblem(
          reply,
          400,
          'DIGEST_INVALID',
          'a model is named by sha256:<64 hex> or <64 hex>',
        );
      const hex = m[1]!;
      const outcome = await deps.registry.verify(hex, {
        trigger: request.caller === 'inference' ? 'pre_load' : 'request',
      });
      const body = verificationBody(hex, outcome);
      if (!body) return unknown(reply, hex);
      if (body.status === 'verified') return reply.send(body);
      const problem: VerificationFailedProblem = {
        type: 'urn:secai:problem:VERIFICATION_FAILED',
        title: 'VERIFICATION_FAILED',
        status: 409,
        code: 'VERIFICATION_FAILED',
        detail: `sha256:${hex} does not match its digest (${body.problem})`,
        verification: body,
      };
      return reply.code(409).type('application/problem+json').send(problem);
    },
  );

  app.get(
    '/api/v1/integrity/manifest',
    { config: reads, schema: ROUTES.integrityManifest },
    (_req, reply) => {
      const { document, lastSeq } = deps.manifest();
      return reply.send({
        storeRoot: deps.layout.storeRoot,
        containmentRoot: deps.layout.containmentRoot,
        manifestSeq: lastSeq,
        models: sorted(Object.values(document.models)).map((m) => {
          const v = viewOf(m, deps.layout);
          return {
            digest: v.digest,
            name: v.name,
            storePath: v.storePath,
            path: v.path,
            sizeBytes: v.sizeBytes,
            status: v.status,
            lastVerifiedAt: v.lastVerifiedAt,
          };
        }),
      });
    },
  );
}

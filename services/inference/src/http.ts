import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConcurrencyError, type ServiceName, type TrustStore } from '@secai/contracts';
import {
  API_KEY_CALLER,
  createGateway,
  type BusWatch,
  type EventStore,
  type HostedProjection,
  type Logger,
} from '@secai/streams';
import { busHealthOf } from '@secai/streams/http';
import type { RegistryManifestDocument } from '@secai/projections';
import type { Static } from '@sinclair/typebox';
import {
  ROUTES,
  type ChatCompletionRequest,
  type CompletionRequest,
  type EmbeddingRequest,
  type SentinelRequest,
  type CreateKeyRequest,
  type RevokeKeyRequest,
  type OpenSessionRequest,
} from './api.js';
import type { Admission } from './admission.js';
import { resolveModel, servableModels } from './catalog.js';
import type { Engine } from './engine/types.js';
import { InferenceError } from './errors.js';
import {
  asInferenceError,
  callerId,
  newRequestId,
  type Generator,
  type Job,
} from './generation.js';
import { decideCreateKey, decideRevokeKey, newApiKey, type KeysDocument } from './keys.js';
import type { ModelHost } from './modelHost.js';
import {
  SYSTEM_FINGERPRINT,
  SseWriter,
  TextCoalescer,
  chatRequestOf,
  completionRequestOf,
  fingerprint,
  newCompletionId,
  sendOpenAiProblem,
  toolCallsOf,
  usageOf,
} from './openai.js';
import type { Sessions } from './sessions.js';
import type { InferenceSettings } from './settings.js';

/** Who may call what. A person's API key reaches the OpenAI routes and its own sessions only. */
export const SCOPES = {
  openai: ['agent', 'ui', 'cli', API_KEY_CALLER],
  sentinel: ['gpu-integrity-watch'],
  status: ['cli', 'ui', 'appliance', 'gpu-integrity-watch'],
  keys: ['cli', 'ui'],
} as const satisfies Record<string, readonly (ServiceName | typeof API_KEY_CALLER)[]>;

/** The header naming a session opened with `POST /api/v1/sessions`. */
export const SESSION_HEADER = 'x-secai-session';

export interface HttpDeps {
  engine: Pick<Engine, 'backend' | 'threads'>;
  manifest: () => RegistryManifestDocument;
  /** The active policy's settings (throws `POLICY_UNAVAILABLE`). */
  settings: () => Promise<InferenceSettings>;
  hasPolicy: () => boolean;
  generator: Generator;
  host: ModelHost;
  sessions: Sessions;
  admission: Admission;
  keys: HostedProjection<KeysDocument>;
  keyCaller: (key: string) => string | null;
  store: EventStore;
  trust: TrustStore;
  bus: Pick<BusWatch, 'connected' | 'health'>;
  log?: Logger;
}

type Body<T> = FastifyRequest<{ Body: T }>;

export function buildHttp(deps: HttpDeps): FastifyInstance {
  return createGateway({
    service: 'inference',
    trust: deps.trust,
    scopes: SCOPES,
    bus: deps.bus,
    apiKeys: deps.keyCaller,
    // Chat histories are long; the JSON depth limit still applies.
    bodyLimit: 4 * 1024 * 1024,
    ...(deps.log ? { log: deps.log } : {}),
    routes: (api) => routes(api, deps),
  });
}

/** Answers an expected refusal as a problem; anything else is the gateway's 500. */
function refuse(reply: FastifyReply, err: unknown): FastifyReply {
  const e = asInferenceError(err);
  if (e.code === 'GENERATION_FAILED') throw err;
  return sendOpenAiProblem(reply, e.status, e.code, e.message, e.retryAfterSeconds);
}

/** Aborted when the client goes away before its answer was written. */
function clientSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  request.raw.on('aborted', () => controller.abort());
  return controller.signal;
}

function sessionOf(request: FastifyRequest): string | undefined {
  const h = request.headers[SESSION_HEADER];
  return typeof h === 'string' && h.length > 0 ? h : undefined;
}

function routes(app: FastifyInstance, deps: HttpDeps): void {
  const openai = { scope: 'openai' };
  const created = () => Math.floor(Date.now() / 1000);

  app.get('/health', { config: { public: true }, schema: ROUTES.health }, (_req, reply) => {
    const { status, httpStatus, bus } = busHealthOf(deps.bus);
    const policy = deps.hasPolicy() ? 'active' : 'missing';
    return reply.code(policy === 'active' ? httpStatus : 503).send({
      status: policy === 'active' ? status : 'degraded',
      models: servableModels(deps.manifest()).length,
      policy,
      bus,
    });
  });

  app.get(
    '/v1/models',
    { config: { ...openai, busOptional: true }, schema: ROUTES.models },
    (_req, reply) => {
      const loaded = new Set(deps.host.loaded().map((m) => m.digest));
      return reply.send({
        object: 'list',
        data: servableModels(deps.manifest()).map((m) => ({
          id: m.id,
          object: 'model' as const,
          created: Math.floor(Date.parse(m.storedAt) / 1000),
          owned_by: 'secai-registry',
          digest: m.digest,
          name: m.name,
          loaded: loaded.has(m.digest),
        })),
      });
    },
  );

  /** One generation route: the non-streaming reply, or SSE chunks from `chunk`. */
  const generate = async (
    request: FastifyRequest,
    reply: FastifyReply,
    endpoint: 'chat' | 'completion',
    build: (settings: InferenceSettings) => Job['request'],
    body: {
      model: string;
      stream?: boolean | null;
      stream_options?: { include_usage?: boolean } | null;
    },
  ) => {
    let sse: SseWriter | null = null;
    let pendingText: TextCoalescer | null = null;
    try {
      const settings = await deps.settings();
      const id = newCompletionId(endpoint === 'chat' ? 'chatcmpl' : 'cmpl');
      const stream = body.stream === true;
      const object = endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
      const frame = (modelId: string, choice: Record<string, unknown>) => ({
        id,
        object,
        created: created(),
        model: modelId,
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [{ index: 0, logprobs: null, ...choice }],
      });
      let modelId = body.model;
      const coalescer = new TextCoalescer((text) =>
        sse?.send(
          frame(
            modelId,
            endpoint === 'chat'
              ? { delta: { content: text }, finish_reason: null }
              : { text, finish_reason: null },
          ),
        ),
      );
      pendingText = coalescer;
      const sessionId = sessionOf(request);
      const job: Job = {
        requestId: newRequestId(),
        caller: callerOf(request),
        endpoint,
        stream,
        signal: clientSignal(request, reply),
        modelName: body.model,
        request: build(settings),
        ...(sessionId ? { sessionId } : {}),
        ...(stream
          ? {
              onStart: (m) => {
                modelId = m.id;
                sse = new SseWriter(reply);
                if (endpoint === 'chat')
                  sse.send(
                    frame(modelId, {
                      delta: { role: 'assistant', content: '' },
                      finish_reason: null,
                    }),
                  );
              },
              onText: (text) => coalescer.push(text),
            }
          : {}),
      };
      const { model, result } = await deps.generator.run(job);
      coalescer.flush();
      if (sse) {
        const writer: SseWriter = sse;
        const calls = toolCallsOf(result);
        if (endpoint === 'chat' && calls.length > 0)
          writer.send(
            frame(model.id, {
              delta: { tool_calls: calls.map((c, index) => ({ index, ...c })) },
              finish_reason: null,
            }),
          );
        writer.send(
          frame(
            model.id,
            endpoint === 'chat'
              ? { delta: {}, finish_reason: result.finishReason }
              : { text: '', finish_reason: result.finishReason },
          ),
        );
        if (body.stream_options?.include_usage)
          writer.send({ ...frame(model.id, {}), choices: [], usage: usageOf(result) });
        writer.end();
        return reply;
      }
      if (endpoint === 'completion')
        return reply.send({
          id,
          object: 'text_completion',
          created: created(),
          model: model.id,
          system_fingerprint: SYSTEM_FINGERPRINT,
          choices: [
            { index: 0, text: result.text, finish_reason: result.finishReason, logprobs: null },
          ],
          usage: usageOf(result),
        });
      const calls = toolCallsOf(result);
      return reply.send({
        id,
        object: 'chat.completion',
        created: created(),
        model: model.id,
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: calls.length > 0 && result.text.length === 0 ? null : result.text,
              refusal: null,
              ...(calls.length > 0 ? { tool_calls: calls } : {}),
            },
            finish_reason: result.finishReason,
            logprobs: null,
          },
        ],
        usage: usageOf(result),
      });
    } catch (err) {
      const writer = sse as SseWriter | null;
      pendingText?.flush();
      if (writer) {
        const e = asInferenceError(err);
        writer.fail(e.status, e.code, e.message);
        return reply;
      }
      return refuse(reply, err);
    }
  };

  app.post(
    '/v1/chat/completions',
    { config: openai, schema: ROUTES.chat },
    (request: Body<ChatCompletionRequest>, reply) =>
      generate(
        request,
        reply,
        'chat',
        (s) => chatRequestOf(request.body, s.maxTokens),
        request.body,
      ),
  );

  app.post(
    '/v1/completions',
    { config: openai, schema: ROUTES.completion },
    (request: Body<CompletionRequest>, reply) =>
      generate(
        request,
        reply,
        'completion',
        (s) => completionRequestOf(request.body, s.maxTokens),
        request.body,
      ),
  );

  app.post(
    '/v1/embeddings',
    { config: openai, schema: ROUTES.embeddings },
    async (request: Body<EmbeddingRequest>, reply) => {
      try {
        const settings = await deps.settings();
        const model = resolveModel(deps.manifest(), request.body.model);
        const inputs =
          typeof request.body.input === 'string' ? [request.body.input] : request.body.input;
        const signal = AbortSignal.any([
          clientSignal(request, reply),
          AbortSignal.timeout(settings.requestTimeoutMs),
        ]);
        const release = await deps.admission.acquire(signal, settings.requestTimeoutMs);
        try {
          const use = await deps.host.use(
            model,
            { contextSize: settings.contextSize, maxSequences: settings.maxSessions },
            signal,
          );
          try {
            const { vectors, promptTokens } = await use.model.embed(inputs, use.signal);
            const base64 = request.body.encoding_format === 'base64';
            return reply.send({
              object: 'list',
              model: model.id,
              data: vectors.map((v, index) => ({
                object: 'embedding' as const,
                index,
                embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v,
              })),
              usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
            });
          } finally {
            use.done();
          }
        } finally {
          release();
        }
      } catch (err) {
        return refuse(reply, err);
      }
    },
  );

  app.post(
    '/api/v1/sentinel',
    { config: { scope: 'sentinel' }, schema: ROUTES.sentinel },
    async (request: Body<SentinelRequest>, reply) => {
      try {
        const settings = await deps.settings();
        const model = resolveModel(deps.manifest(), request.body.model);
        const loaded = deps.host.loaded().find((m) => m.digest === model.digest);
        if (!loaded)
          throw new InferenceError(
            'MODEL_NOT_LOADED',
            `${model.id} is not loaded; nothing to compare`,
          );
        const signal = AbortSignal.timeout(settings.requestTimeoutMs);
        const release = await deps.admission.acquire(signal, settings.requestTimeoutMs);
        try {
          const r = await loaded.sentinel(request.body.prompt, request.body.maxTokens);
          return reply.send({
            model: model.digest,
            backend: loaded.backend,
            tokens: r.tokens,
            output: fingerprint(r.text),
          });
        } finally {
          release();
        }
      } catch (err) {
        return refuse(reply, err);
      }
    },
  );

  app.post(
    '/api/v1/sessions',
    { config: openai, schema: ROUTES.openSession },
    async (request: Body<Static<typeof OpenSessionRequest>>, reply) => {
      try {
        const settings = await deps.settings();
        const model = resolveModel(deps.manifest(), request.body.model);
        const s = await deps.sessions.open(callerOf(request), model, {
          maxSessions: settings.maxSessions,
          mode: settings.sessionMode,
          contextSize: settings.contextSize,
        });
        return reply.code(201).send({
          id: s.id,
          model: model.digest,
          modelId: model.id,
          mode: s.mode,
          requests: s.requests,
          openedAt: new Date(s.openedAt).toISOString(),
          lastUsedAt: new Date(s.lastUsedAt).toISOString(),
        });
      } catch (err) {
        return refuse(reply, err);
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/sessions/:id',
    { config: openai, schema: ROUTES.closeSession },
    async (request, reply) => {
      try {
        await deps.sessions.close(request.params.id, callerOf(request));
        return reply.code(204).send();
      } catch (err) {
        return refuse(reply, err);
      }
    },
  );

  app.get(
    '/api/v1/status',
    { config: { scope: 'status', busOptional: true }, schema: ROUTES.status },
    async (_req, reply) => {
      const loaded = new Map(deps.host.loaded().map((m) => [m.digest, m]));
      const settings = await deps.settings().catch(() => null);
      const memory = process.memoryUsage();
      return reply.send({
        backend: deps.engine.backend,
        threads: deps.engine.threads,
        policyDigest: settings?.policyDigest ?? null,
        models: servableModels(deps.manifest()).map((m) => ({
          id: m.id,
          digest: m.digest,
          loaded: loaded.has(m.digest),
          contextSize: loaded.get(m.digest)?.contextSize ?? null,
          inFlight: deps.host.inFlight(m.digest),
        })),
        sessions: deps.sessions.count,
        running: deps.admission.active,
        queued: deps.admission.queued,
        memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      });
    },
  );

  app.get(
    '/api/v1/keys',
    { config: { scope: 'keys', busOptional: true }, schema: ROUTES.listKeys },
    (_req, reply) =>
      reply.send({
        keys: Object.values(deps.keys.runner.document.keys)
          .map((k) => ({
            name: k.name,
            hint: k.hint,
            createdBy: k.createdBy,
            createdAt: k.createdAt,
            revokedAt: k.revokedAt,
          }))
          .sort((a, b) => (a.name < b.name ? -1 : 1)),
      }),
  );

  app.post(
    '/api/v1/keys',
    { config: { scope: 'keys' }, schema: ROUTES.createKey },
    async (request: Body<Static<typeof CreateKeyRequest>>, reply) => {
      try {
        const { name, createdBy } = request.body;
        decideCreateKey(deps.keys.runner.document, name);
        const made = newApiKey();
        let result;
        try {
          result = await deps.store.append(
            [
              {
                type: 'inference.key.created',
                aggregateId: name,
                data: { name, keyDigest: made.keyDigest, hint: made.hint, createdBy },
              },
            ],
            { expectedSequence: 0 },
          );
        } catch (err) {
          if (err instanceof ConcurrencyError)
            throw new InferenceError('KEY_EXISTS', `a key named ${name} exists or existed`);
          throw err;
        }
        // Usable as soon as the answer arrives: the projection includes its own event first.
        await deps.keys.caughtUp(result.lastSequence);
        return reply
          .code(201)
          .send({ name, key: made.key, hint: made.hint, eventId: result.ids[0]! });
      } catch (err) {
        return refuse(reply, err);
      }
    },
  );

  app.post<{ Params: { name: string }; Body: Static<typeof RevokeKeyRequest> }>(
    '/api/v1/keys/:name/revoke',
    { config: { scope: 'keys' }, schema: ROUTES.revokeKey },
    async (request, reply) => {
      try {
        const { name } = request.params;
        const record = decideRevokeKey(deps.keys.runner.document, name);
        const last = await deps.store.lastSequence('inference-key', name);
        const result = await deps.store.append(
          [
            {
              type: 'inference.key.revoked',
              aggregateId: name,
              data: {
                name,
                revokedBy: request.body.revokedBy,
                reason: request.body.reason ?? '',
              },
            },
          ],
          { expectedSequence: last },
        );
        await deps.keys.caughtUp(result.lastSequence);
        const now = deps.keys.runner.document.keys[name] ?? record;
        return reply.send({
          name: now.name,
          hint: now.hint,
          createdBy: now.createdBy,
          createdAt: now.createdAt,
          revokedAt: now.revokedAt,
        });
      } catch (err) {
        if (err instanceof ConcurrencyError)
          return sendOpenAiProblem(reply, 409, 'KEY_CHANGED', 'the key changed meanwhile; retry');
        return refuse(reply, err);
      }
    },
  );
}

/** The session owner: the authenticated caller as the events name it. */
function callerOf(request: FastifyRequest): string {
  return callerId(request.caller!);
}

import { userInfo } from 'node:os';
import { CreateKeyRequest, KeyParams, RevokeKeyRequest } from '@secai/inference/api';
import type { CliContext } from '../context.js';
import { checkBounds } from '../bounds.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { INFERENCE, callGateway, gatewayUrlOf } from './gateway.js';

// `secai inference status|key ...`: the inference service's own routes (/api/v1/status and
// /api/v1/keys), called as the cli identity. A key is made by the service (it keeps only its
// hash and records inference.key.created) and is shown here once, never again.

type Out = (line: string) => void;

/** What `GET /api/v1/status` answers (the fields this command reads; api.ts StatusResponse). */
export interface InferenceStatus {
  backend: string;
  threads: number;
  policyDigest: string | null;
  models: {
    id: string;
    digest: string;
    loaded: boolean;
    contextSize: number | null;
    inFlight: number;
  }[];
  sessions: number;
  running: number;
  queued: number;
  memory: { rssBytes: number; heapUsedBytes: number };
}

export interface KeyView {
  name: string;
  hint: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface CreatedKey {
  name: string;
  key: string;
  hint: string;
  eventId: string;
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/** The status as lines for a person (pure). */
export function statusLines(s: InferenceStatus): string[] {
  const loaded = s.models.filter((m) => m.loaded).length;
  const lines = [
    `backend ${s.backend}, ${s.threads} thread${s.threads === 1 ? '' : 's'}, policy ${s.policyDigest ?? 'MISSING (nothing is served)'}`,
    `models: ${s.models.length} servable, ${loaded} loaded`,
  ];
  if (s.models.length > 0)
    lines.push(
      table(
        ['model', 'loaded', 'context', 'in flight', 'digest'],
        s.models.map((m) => [
          m.id,
          m.loaded ? 'yes' : 'no',
          m.contextSize === null ? '-' : String(m.contextSize),
          String(m.inFlight),
          m.digest.slice(0, 'sha256:'.length + 16),
        ]),
      ),
    );
  lines.push(`sessions ${s.sessions}, requests running ${s.running}, queued ${s.queued}`);
  lines.push(`memory: rss ${mib(s.memory.rssBytes)}, heap used ${mib(s.memory.heapUsedBytes)}`);
  return lines;
}

export async function inferenceStatus(
  ctx: CliContext,
  opts: { url?: string; json?: boolean },
  out: Out,
): Promise<void> {
  const url = gatewayUrlOf(ctx, INFERENCE, opts.url);
  const body = (await (
    await callGateway(ctx, INFERENCE, url, '/api/v1/status')
  ).json()) as InferenceStatus;
  if (opts.json) return out(JSON.stringify(body));
  for (const line of statusLines(body)) out(line);
}

/** Who the events name as creating or revoking a key when --operator is not given. */
export function defaultOperator(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for this uid (a container): the variable, else the uid.
    return process.env.USER ?? `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}

const KEY_OPTIONS = { '/name': '--name', '/createdBy': '--operator' };
const REVOKE_OPTIONS = { '/revokedBy': '--operator', '/reason': '--reason' };

/** The create request, held to the service's contract before anything is sent (pure). */
export function createKeyRequest(name: string, operator: string) {
  const request = { name, createdBy: operator };
  checkBounds('the key', CreateKeyRequest, request, KEY_OPTIONS);
  return request;
}

/** The revoke request and the key's name, held to the contract (pure). */
export function revokeKeyRequest(name: string, operator: string, reason?: string) {
  checkBounds('the key name', KeyParams, { name }, { '/name': 'NAME' });
  const request = { revokedBy: operator, ...(reason !== undefined ? { reason } : {}) };
  checkBounds('the revocation', RevokeKeyRequest, request, REVOKE_OPTIONS);
  return request;
}

export type KeyCreateRequest = ReturnType<typeof createKeyRequest>;
export type KeyRevokeRequest = ReturnType<typeof revokeKeyRequest>;

/** Prints the key (stdout) once, and on stderr that it will not be shown again. */
export async function inferenceKeyCreate(
  ctx: CliContext,
  request: KeyCreateRequest,
  opts: { url?: string; json?: boolean },
  out: Out,
  err: Out,
): Promise<void> {
  const url = gatewayUrlOf(ctx, INFERENCE, opts.url);
  const made = (await (
    await callGateway(ctx, INFERENCE, url, '/api/v1/keys', { method: 'POST', body: request })
  ).json()) as CreatedKey;
  err(
    `the API key ${made.name} (${made.hint}) is shown this once: store it now; the appliance keeps only its hash and cannot show it again (secai inference key revoke ${made.name} ends it)`,
  );
  err(`use it as an OpenAI API key with base URL ${url}/v1`);
  if (opts.json) return out(JSON.stringify(made));
  out(made.key);
}

export async function inferenceKeyList(
  ctx: CliContext,
  opts: { url?: string; json?: boolean },
  out: Out,
): Promise<void> {
  const url = gatewayUrlOf(ctx, INFERENCE, opts.url);
  const { keys } = (await (await callGateway(ctx, INFERENCE, url, '/api/v1/keys')).json()) as {
    keys: KeyView[];
  };
  if (opts.json) return out(JSON.stringify(keys));
  if (keys.length === 0) return out('no API keys');
  out(
    table(
      ['name', 'hint', 'created by', 'created', 'revoked'],
      keys.map((k) => [k.name, k.hint, k.createdBy, k.createdAt, k.revokedAt ?? '-']),
    ),
  );
}

export async function inferenceKeyRevoke(
  ctx: CliContext,
  name: string,
  request: KeyRevokeRequest,
  opts: { url?: string; json?: boolean },
  out: Out,
): Promise<void> {
  const url = gatewayUrlOf(ctx, INFERENCE, opts.url);
  const key = (await (
    await callGateway(ctx, INFERENCE, url, `/api/v1/keys/${encodeURIComponent(name)}/revoke`, {
      method: 'POST',
      body: request,
    })
  ).json()) as KeyView;
  if (opts.json) return out(JSON.stringify(key));
  if (key.revokedAt === null)
    throw new CliError('REFUSED', `the service answered but ${name} is not revoked`);
  out(`${key.name} (${key.hint}) revoked at ${key.revokedAt}: it opens nothing from now on`);
}

import { Type, type Static } from '@sinclair/typebox';
import {
  Digest,
  InferenceBackend,
  SERVICE_PORTS,
  TextDigest,
  issueBearerToken,
  schemaProblems,
  type Signer,
} from '@secai/contracts';
import type { SentinelRun } from './probes/sentinel.js';

// The inference service's sentinel route, as the watch calls it: POST /api/v1/sentinel on
// 127.0.0.1:8465 with a bearer token for audience `inference`; greedy decoding of a fixed
// prompt from an empty context, answered with token ids (never the text).

export const DEFAULT_INFERENCE_URL = `http://127.0.0.1:${SERVICE_PORTS.inference}`;
/** How long one sentinel run may take before it counts as no answer. */
export const SENTINEL_TIMEOUT_MS = 60_000;

export const SentinelAnswerSchema = Type.Object(
  {
    model: Digest,
    backend: InferenceBackend,
    tokens: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 256 }),
    output: TextDigest,
  },
  { additionalProperties: false },
);
export type SentinelAnswer = Static<typeof SentinelAnswerSchema>;

export type SentinelReply =
  { kind: 'answer'; answer: SentinelAnswer } | Exclude<SentinelRun, { kind: 'tokens' }>;

export interface InferenceClientOptions {
  url?: string;
  /** Signs the bearer tokens (the watch's own identity). */
  signer: Signer;
  now?: () => Date;
  timeoutMs?: number;
}

export class InferenceClient {
  readonly url: string;
  readonly #signer: Signer;
  readonly #now: () => Date;
  readonly #timeoutMs: number;

  constructor(options: InferenceClientOptions) {
    this.url = (options.url ?? DEFAULT_INFERENCE_URL).replace(/\/+$/, '');
    this.#signer = options.signer;
    this.#now = options.now ?? (() => new Date());
    this.#timeoutMs = options.timeoutMs ?? SENTINEL_TIMEOUT_MS;
  }

  /** One greedy run of `prompt` on the loaded `model`, at most `maxTokens` tokens. */
  async sentinel(model: string, prompt: string, maxTokens: number): Promise<SentinelReply> {
    const token = issueBearerToken(this.#signer, { audience: 'inference', now: this.#now() });
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1/sentinel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, prompt, maxTokens }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return {
        kind: 'error',
        message: `inference unreachable at ${this.url}${cause ? ` (${cause})` : ''}`,
      };
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      return { kind: 'error', message: `inference answered ${res.status} without JSON` };
    }
    if (res.status === 200) {
      const problems = schemaProblems(SentinelAnswerSchema, body);
      if (problems.length > 0)
        return {
          kind: 'error',
          message: `inference's sentinel answer is malformed: ${problems[0]}`,
        };
      const answer = body as SentinelAnswer;
      if (answer.model !== model)
        return { kind: 'error', message: `inference answered for ${answer.model}, not ${model}` };
      if (answer.tokens.length > maxTokens)
        return { kind: 'error', message: `inference returned more than ${maxTokens} tokens` };
      return { kind: 'answer', answer };
    }
    const code = (body as { code?: unknown } | null)?.code;
    if (res.status === 404 && code === 'MODEL_UNKNOWN') return { kind: 'unknown' };
    if (res.status === 409 && code === 'MODEL_NOT_LOADED') return { kind: 'not_loaded' };
    return {
      kind: 'error',
      message: `inference answered ${res.status}${typeof code === 'string' ? ` ${code.slice(0, 64)}` : ''}`,
    };
  }
}

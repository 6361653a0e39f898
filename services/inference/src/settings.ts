import { Type, type Static } from '@sinclair/typebox';
import { schemaProblems } from '@secai/contracts';
import type { LoadedPolicy } from '@secai/streams';
import type { GpuPreference } from './engine/types.js';

/** `inference.*` in the engine's policy (POLICY.md); every key optional. */
const InferencePolicySchema = Type.Object({
  gpu: Type.Optional(
    Type.Union([
      Type.Literal('auto'),
      Type.Literal('off'),
      Type.Literal('cuda'),
      Type.Literal('vulkan'),
    ]),
  ),
  threads: Type.Optional(Type.Integer({ minimum: 1, maximum: 512 })),
  context_size: Type.Optional(Type.Integer({ minimum: 256, maximum: 131072 })),
  max_sessions: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
  queue_length: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  request_timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 131072 })),
  session_mode: Type.Optional(Type.Union([Type.Literal('standard'), Type.Literal('sensitive')])),
  session_idle_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
});
type InferencePolicy = Static<typeof InferencePolicySchema>;

export interface InferenceSettings {
  gpu: GpuPreference;
  threads: number;
  contextSize: number;
  maxSessions: number;
  queueLength: number;
  requestTimeoutMs: number;
  maxTokens: number;
  sessionMode: 'standard' | 'sensitive';
  sessionIdleMs: number;
  /** The `policy.loaded` digest these came from. */
  policyDigest: string;
}

export const DEFAULT_SETTINGS: Omit<InferenceSettings, 'policyDigest'> = {
  gpu: 'auto',
  threads: 2,
  contextSize: 2048,
  maxSessions: 4,
  queueLength: 8,
  requestTimeoutMs: 120_000,
  maxTokens: 1024,
  sessionMode: 'standard',
  sessionIdleMs: 900_000,
};

export type SettingsRead =
  { ok: true; settings: InferenceSettings } | { ok: false; problem: string };

/**
 * The inference settings of the active policy. No policy, or a section that does not validate, is
 * a refusal: inference serves nothing it has no limits for (fail closed).
 */
export function settingsOf(active: LoadedPolicy | null): SettingsRead {
  if (active === null) return { ok: false, problem: 'no policy is active' };
  let documents: unknown;
  try {
    documents = JSON.parse(active.documents);
  } catch {
    return { ok: false, problem: 'policy.loaded documents are not JSON' };
  }
  const section =
    (documents as { policy?: { inference?: unknown } } | null)?.policy?.inference ?? {};
  const problems = schemaProblems(InferencePolicySchema, section);
  if (problems.length > 0)
    return { ok: false, problem: `policy inference: ${problems.slice(0, 3).join('; ')}` };
  const p = section as InferencePolicy;
  const d = DEFAULT_SETTINGS;
  return {
    ok: true,
    settings: {
      gpu: p.gpu ?? d.gpu,
      threads: p.threads ?? d.threads,
      contextSize: p.context_size ?? d.contextSize,
      maxSessions: p.max_sessions ?? d.maxSessions,
      queueLength: p.queue_length ?? d.queueLength,
      requestTimeoutMs: (p.request_timeout_seconds ?? d.requestTimeoutMs / 1000) * 1000,
      maxTokens: p.max_tokens ?? d.maxTokens,
      sessionMode: p.session_mode ?? d.sessionMode,
      sessionIdleMs: (p.session_idle_seconds ?? d.sessionIdleMs / 1000) * 1000,
      policyDigest: active.digest,
    },
  };
}

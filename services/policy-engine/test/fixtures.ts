import type { PromotionInputData } from '@secai/contracts';
import type { PolicyDocuments } from '../src/index.js';

/** A policy written out in full, so each rule's test reads against known values. */
export function documents(
  overrides: {
    policy?: Partial<PolicyDocuments['policy']>;
    agent?: Partial<PolicyDocuments['agent']>;
  } = {},
): PolicyDocuments {
  return {
    policy: {
      version: 1,
      defaults: { network: { runtime_egress: 'deny' } },
      models: {
        allowed_formats: ['gguf', 'safetensors', 'diffusion-directory'],
        deny_formats: ['pickle', 'pt', 'bin'],
        require_signature: false,
        require_pin_for_remote: true,
        require_behavior_tests: true,
      },
      quarantine: { behavior_max_score: 0.3, behavior_max_critical: 0 },
      tools: {
        default: 'deny',
        allow: [
          {
            name: 'filesystem.read',
            paths_allowlist: ['/vault/user_docs/**'],
            paths_denylist: ['/vault/user_docs/private'],
          },
          { name: 'clock.now' },
        ],
        deny: [{ name: 'shell.exec' }],
      },
      airlock: {
        enabled: true,
        allowed_destinations: ['https://huggingface.co/', 'https://example.org/models'],
        allowed_methods: ['GET'],
      },
      sensitivity: { levels: ['low', 'medium', 'high'] },
      ...overrides.policy,
    },
    agent: {
      version: 1,
      default_mode: 'offline_only',
      always_deny: ['shell_exec'],
      hard_approval: ['file_write'],
      allowed_tools: ['file_read'],
      workspace: {
        readable: ['/vault/user_docs/**', '/vault/outputs'],
        writable: ['/vault/outputs/**'],
      },
      ...overrides.agent,
    },
  };
}

export function promotion(overrides: Partial<PromotionInputData> = {}): PromotionInputData {
  return {
    passed: true,
    format: 'gguf',
    failedStage: null,
    stages: [
      'source_policy',
      'format_gate',
      'hash_pin',
      'provenance',
      'static_scan',
      'behavioral_test',
    ].map((stage) => ({ stage: stage as never, passed: true })),
    behavioralScore: { score: 0.1, flagged: 4, critical: 0, totalPrompts: 41 },
    provenance: 'recorded',
    pin: 'first_use',
    signer: null,
    via: 'import',
    ...overrides,
  };
}

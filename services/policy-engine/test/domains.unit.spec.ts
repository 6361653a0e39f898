import { afterAll, describe, expect, it } from 'vitest';
import {
  RULE_IDS,
  evaluate,
  normalizeRequest,
  ruleIdPattern,
  type DecisionInput,
  type Verdict,
} from '../src/index.js';
import { documents, promotion } from './fixtures.js';

const seen = new Set<string>();
function decide(input: DecisionInput, docs = documents()): Verdict {
  const verdict = evaluate(input, docs);
  const pattern = ruleIdPattern(verdict.ruleId);
  expect(pattern, `rule id ${verdict.ruleId} is not in RULE_IDS`).not.toBeNull();
  seen.add(pattern!);
  expect(verdict.trace.at(-1)).toMatchObject({ ruleId: verdict.ruleId, matched: true });
  return verdict;
}
const tool = (t: string, path: string | null = null) =>
  decide({ domain: 'tool_access', tool: t, path });
const path = (p: string, access: 'read' | 'write' = 'read', docs = documents()) =>
  decide({ domain: 'path_access', path: p, access }, docs);
const egress = (
  url: string | null,
  o: { method?: string; credentials?: boolean; refusal?: string } = {},
  docs = documents(),
) =>
  decide(
    {
      domain: 'egress',
      url,
      refusal: o.refusal ?? null,
      method: o.method ?? 'GET',
      credentials: o.credentials ?? false,
    },
    docs,
  );
const source = (url: string, docs = documents()) => {
  // Through the normaliser, as a request arrives: the rules read its output only.
  const n = normalizeRequest({ domain: 'model_source', subject: url });
  return decide(n.input, docs);
};
const promote = (p: Parameters<typeof promotion>[0] | null, docs = documents()) =>
  decide(
    { domain: 'model_promotion', model: 'tiny.gguf', promotion: p === null ? null : promotion(p) },
    docs,
  );

describe('any domain', () => {
  it('denies everything when no policy is loaded (policy.unavailable)', () => {
    const verdict = evaluate({ domain: 'agent_risk', action: 'file_read' }, null);
    expect(verdict).toMatchObject({ decision: 'deny', ruleId: 'policy.unavailable' });
    seen.add('policy.unavailable');
  });
  it('denies an unknown domain (unknown_domain)', () => {
    expect(decide({ domain: 'teleport', unknown: true })).toMatchObject({
      decision: 'deny',
      ruleId: 'unknown_domain',
    });
  });
  it('denies an invalid request (request.invalid)', () => {
    expect(
      decide({
        domain: 'invalid',
        requestedDomain: 'tool_access',
        problems: ['/subject: must be string'],
      }),
    ).toMatchObject({ decision: 'deny', ruleId: 'request.invalid' });
  });
});

describe('tool_access', () => {
  it('denies a denied tool first', () =>
    expect(tool('shell.exec')).toMatchObject({
      decision: 'deny',
      ruleId: 'tools.deny.shell.exec',
    }));
  it('denies a tool without an allow entry (default deny)', () =>
    expect(tool('network.fetch')).toMatchObject({
      decision: 'deny',
      ruleId: 'tools.default_deny',
    }));
  it('allows a tool without path restrictions', () =>
    expect(tool('clock.now')).toMatchObject({
      decision: 'allow',
      ruleId: 'tools.allow.clock.now',
    }));
  it('denies a path-restricted tool called without a path', () =>
    expect(tool('filesystem.read')).toMatchObject({
      decision: 'deny',
      ruleId: 'tools.allow.filesystem.read.path_missing',
    }));
  it('allows a path under the allowlist', () =>
    expect(tool('filesystem.read', '/vault/user_docs/a.txt')).toMatchObject({
      decision: 'allow',
      ruleId: 'tools.allow.filesystem.read',
    }));
  it('denies a path under the denylist even inside the allowlist', () =>
    expect(tool('filesystem.read', '/vault/user_docs/private/x')).toMatchObject({
      decision: 'deny',
      ruleId: 'tools.allow.filesystem.read.paths_denylist',
    }));
  it('denies a look-alike outside the allowlist (boundary-aware)', () =>
    expect(tool('filesystem.read', '/vault/user_docs_evil/x')).toMatchObject({
      decision: 'deny',
      ruleId: 'tools.allow.filesystem.read.paths_allowlist_miss',
    }));
  it('judges traversal by the normalised path', () =>
    expect(tool('filesystem.read', '/vault/user_docs/../../etc/shadow')).toMatchObject({
      decision: 'deny',
      ruleId: 'tools.allow.filesystem.read.paths_allowlist_miss',
    }));
  it.each([
    '/vault/user_docs/%2e%2e/%2e%2e/etc/passwd',
    '/vault/user_docs/\u2215..\u2215etc',
    '/vault/user_docs/a\u0000',
    'vault/user_docs/a',
  ])('refuses an adversarial path form before matching: %j', (p) =>
    expect(tool('filesystem.read', p)).toMatchObject({
      decision: 'deny',
      ruleId: 'tools.allow.filesystem.read.path_refused',
    }),
  );
});

describe('path_access', () => {
  it('allows reading under a readable root', () =>
    expect(path('/vault/user_docs/a')).toMatchObject({
      decision: 'allow',
      ruleId: 'agent.workspace.readable',
    }));
  it('denies reading outside', () =>
    expect(path('/etc/passwd')).toMatchObject({
      decision: 'deny',
      ruleId: 'agent.workspace.readable_miss',
    }));
  it('allows writing under a writable root', () =>
    expect(path('/vault/outputs/r.md', 'write')).toMatchObject({
      decision: 'allow',
      ruleId: 'agent.workspace.writable',
    }));
  it('does not let read scope grant write', () =>
    expect(path('/vault/user_docs/a', 'write')).toMatchObject({
      decision: 'deny',
      ruleId: 'agent.workspace.writable_miss',
    }));
  it('refuses encoded traversal', () =>
    expect(path('/vault/outputs/..%2f..%2fetc')).toMatchObject({
      decision: 'deny',
      ruleId: 'path.refused',
    }));
  it('denies everything when the workspace is empty (a missing section never allows)', () =>
    expect(
      path(
        '/vault/user_docs/a',
        'read',
        documents({ agent: { workspace: { readable: [], writable: [] } } }),
      ),
    ).toMatchObject({ decision: 'deny' }));
});

describe('egress', () => {
  it('refuses an unparseable destination', () =>
    expect(egress(null, { refusal: 'encoded_path' })).toMatchObject({
      decision: 'deny',
      ruleId: 'egress.destination_refused',
    }));
  it('denies credentials in the URL', () =>
    expect(egress('https://huggingface.co/x', { credentials: true })).toMatchObject({
      decision: 'deny',
      ruleId: 'egress.credentials_in_url',
    }));
  it('allows an airlock destination', () =>
    expect(egress('https://huggingface.co/org/model')).toMatchObject({
      decision: 'allow',
      ruleId: 'airlock.destination_allowlist',
    }));
  it('denies another port of the same host', () =>
    expect(egress('https://huggingface.co:8443/x')).toMatchObject({
      decision: 'deny',
      ruleId: 'airlock.destination_miss',
    }));
  it('denies a look-alike host', () =>
    expect(egress('https://huggingface.co.evil.example/x')).toMatchObject({
      decision: 'deny',
      ruleId: 'airlock.destination_miss',
    }));
  it('applies path prefixes at segment boundaries', () => {
    expect(egress('https://example.org/models/a')).toMatchObject({ decision: 'allow' });
    expect(egress('https://example.org/modelsevil')).toMatchObject({
      decision: 'deny',
      ruleId: 'airlock.destination_miss',
    });
  });
  it('denies a method the airlock does not allow', () =>
    expect(egress('https://huggingface.co/x', { method: 'POST' })).toMatchObject({
      decision: 'deny',
      ruleId: 'airlock.method_denied',
    }));
  it('denies everything while the airlock is disabled', () =>
    expect(
      egress(
        'https://huggingface.co/x',
        {},
        documents({
          policy: {
            airlock: {
              enabled: false,
              allowed_destinations: ['https://huggingface.co/'],
              allowed_methods: ['GET'],
            },
          },
        }),
      ),
    ).toMatchObject({
      decision: 'deny',
      ruleId: 'airlock.disabled',
    }));
  it('opens runtime egress only when the policy says allow', () =>
    expect(
      egress(
        'https://anywhere.example/',
        {},
        documents({ policy: { defaults: { network: { runtime_egress: 'allow' } } } }),
      ),
    ).toMatchObject({
      decision: 'allow',
      ruleId: 'defaults.network.egress_allow',
    }));
});

describe('agent_risk', () => {
  const risk = (action: string) => decide({ domain: 'agent_risk', action });
  it('denies always_deny', () =>
    expect(risk('shell_exec')).toMatchObject({
      decision: 'deny',
      ruleId: 'agent.always_deny.shell_exec',
    }));
  it('asks for hard_approval', () =>
    expect(risk('file_write')).toMatchObject({
      decision: 'ask',
      ruleId: 'agent.hard_approval.file_write',
    }));
  it('allows allowed_tools', () =>
    expect(risk('file_read')).toMatchObject({
      decision: 'allow',
      ruleId: 'agent.allowed_tools.file_read',
    }));
  it('denies anything else', () =>
    expect(risk('format_disk')).toMatchObject({ decision: 'deny', ruleId: 'agent.default_deny' }));
});

describe('sensitivity', () => {
  const sens = (level: string, ceiling: string) =>
    decide({ domain: 'sensitivity', level, ceiling });
  it('allows within the ceiling', () =>
    expect(sens('low', 'medium')).toMatchObject({ decision: 'allow', ruleId: 'sensitivity.ok' }));
  it('denies above it', () =>
    expect(sens('high', 'medium')).toMatchObject({
      decision: 'deny',
      ruleId: 'sensitivity.exceeded',
    }));
  it('denies unknown levels', () =>
    expect(sens('HIGH', 'high')).toMatchObject({
      decision: 'deny',
      ruleId: 'sensitivity.invalid',
    }));
});

describe('model_promotion', () => {
  it('allows a clean GGUF run', () =>
    expect(promote({})).toMatchObject({ decision: 'allow', ruleId: 'models.promotion_allowed' }));
  it('denies without a result', () =>
    expect(promote(null)).toMatchObject({ decision: 'deny', ruleId: 'models.result_missing' }));
  it('denies a failed run', () =>
    expect(promote({ passed: false, failedStage: 'static_scan' })).toMatchObject({
      decision: 'deny',
      ruleId: 'models.quarantine_failed',
    }));
  it('denies an unidentified format', () =>
    expect(promote({ format: null })).toMatchObject({
      decision: 'deny',
      ruleId: 'models.format_missing',
    }));
  it('denies a format not allowed', () =>
    expect(
      promote(
        { format: 'safetensors' },
        documents({
          policy: { models: { ...documents().policy.models, allowed_formats: ['gguf'] } },
        }),
      ),
    ).toMatchObject({
      decision: 'deny',
      ruleId: 'models.allowed_formats_miss',
    }));
  it('denies a denied format', () =>
    expect(
      promote(
        {},
        documents({
          policy: {
            models: { ...documents().policy.models, allowed_formats: [], deny_formats: ['gguf'] },
          },
        }),
      ),
    ).toMatchObject({
      decision: 'deny',
      ruleId: 'models.deny_formats.gguf',
    }));
  it('denies a failed stage even if the run says passed', () =>
    expect(
      promote({
        stages: [...promotion().stages.slice(0, 5), { stage: 'behavioral_test', passed: false }],
      }),
    ).toMatchObject({
      decision: 'deny',
      ruleId: 'models.stage_failed.behavioral_test',
    }));
  it('denies a run that skipped a required stage', () =>
    expect(
      promote({ stages: promotion().stages.filter((s) => s.stage !== 'provenance') }),
    ).toMatchObject({ decision: 'deny', ruleId: 'models.stages_incomplete' }));
  it('denies a diffusion directory without the diffusion scan', () =>
    expect(
      promote({
        format: 'diffusion-directory',
        behavioralScore: null,
        stages: promotion().stages.slice(0, 5),
      }),
    ).toMatchObject({
      decision: 'deny',
      ruleId: 'models.stages_incomplete',
    }));
  it('denies a pin mismatch and a blocked hash', () => {
    expect(promote({ pin: 'mismatch' })).toMatchObject({
      decision: 'deny',
      ruleId: 'models.pin_mismatch',
    });
    expect(promote({ pin: 'blocked' })).toMatchObject({
      decision: 'deny',
      ruleId: 'models.pin_blocked',
    });
  });
  it('requires a pin for downloads, not for local imports', () => {
    expect(promote({ via: 'airlock', pin: 'unpinned' })).toMatchObject({
      decision: 'deny',
      ruleId: 'models.pin_required',
    });
    expect(promote({ via: 'airlock', pin: 'pinned' })).toMatchObject({ decision: 'allow' });
    expect(promote({ via: 'import', pin: 'unpinned' })).toMatchObject({ decision: 'allow' });
  });
  it('judges the behavioural result against the thresholds', () => {
    expect(promote({ behavioralScore: null })).toMatchObject({
      decision: 'deny',
      ruleId: 'models.behavior_missing',
    });
    expect(
      promote({ behavioralScore: { score: 0.1, flagged: 1, critical: 1, totalPrompts: 41 } }),
    ).toMatchObject({ decision: 'deny', ruleId: 'models.behavior_critical' });
    expect(
      promote({ behavioralScore: { score: 0.31, flagged: 13, critical: 0, totalPrompts: 41 } }),
    ).toMatchObject({ decision: 'deny', ruleId: 'models.behavior_score' });
  });
  it('requires a verified signature from a trusted signer when the policy does', () => {
    const signed = documents({
      policy: {
        models: {
          ...documents().policy.models,
          require_signature: true,
          trusted_signers: ['release@example.org'],
        },
      },
    });
    expect(promote({}, signed)).toMatchObject({
      decision: 'deny',
      ruleId: 'models.signature_required',
    });
    expect(
      promote({ provenance: 'signature-verified', signer: 'mallory@example.org' }, signed),
    ).toMatchObject({ decision: 'deny', ruleId: 'models.signer_untrusted' });
    expect(
      promote({ provenance: 'signature-verified', signer: 'release@example.org' }, signed),
    ).toMatchObject({ decision: 'allow' });
  });
});

describe('model_source', () => {
  it('admits a canonical https source under an allowed destination, IDNA and case-normalised', () => {
    expect(source('https://HuggingFace.co/org/model/resolve/abc/model.gguf')).toMatchObject({
      decision: 'allow',
      ruleId: 'source.allowlisted',
    });
    expect(source('https://huggingface.co:443/x')).toMatchObject({ decision: 'allow' });
  });
  it.each([
    ['ftp://huggingface.co/x', 'source.refused'],
    [' https://huggingface.co/x', 'source.refused'],
    ['https://huggingface.co/%2e%2e/x', 'source.refused'],
    ['https://huggingface.co/a\u2215..\u2215x', 'source.refused'],
    ['https://user:pw@huggingface.co/x', 'source.not_canonical'],
    ['https://huggingface.co/x?token=1', 'source.not_canonical'],
    ['https://huggingface.co/x#f', 'source.not_canonical'],
    ['http://huggingface.co/x', 'source.not_https'],
    ['https://huggingface.co:8443/x', 'source.not_https'],
    ['https://huggingface.co.evil.example/x', 'source.not_allowlisted'],
  ])('refuses %s (%s)', (url, ruleId) =>
    expect(source(url)).toMatchObject({ decision: 'deny', ruleId }),
  );
  it('is not egress: a disabled airlock or an open network changes nothing', () => {
    const open = documents({
      policy: {
        defaults: { network: { runtime_egress: 'allow' } },
        airlock: {
          enabled: false,
          allowed_destinations: ['https://huggingface.co/'],
          allowed_methods: ['GET'],
        },
      },
    });
    expect(source('https://huggingface.co/x', open)).toMatchObject({ decision: 'allow' });
    expect(source('https://evil.example/x', open)).toMatchObject({
      ruleId: 'source.not_allowlisted',
    });
  });
  it('admits no remote origin without an allowlist', () =>
    expect(
      source(
        'https://huggingface.co/x',
        documents({
          policy: {
            airlock: { enabled: true, allowed_destinations: [], allowed_methods: ['GET'] },
          },
        }),
      ),
    ).toMatchObject({ decision: 'deny', ruleId: 'source.allowlist_empty' }));
});

afterAll(() => {
  // mcp_call's rule ids are reached (and checked the same way) in mcpCall.unit.spec.ts.
  const all = Object.entries(RULE_IDS)
    .filter(([domain]) => domain !== 'mcp_call')
    .flatMap(([, ids]) => ids as readonly string[]);
  expect(
    all.filter((p) => !seen.has(p)),
    'rule ids no test reached',
  ).toEqual([]);
});

describe('purity', () => {
  it('gives the same verdict for the same input twice', () => {
    const input: DecisionInput = {
      domain: 'tool_access',
      tool: 'filesystem.read',
      path: '/vault/user_docs/x',
    };
    expect(evaluate(input, documents())).toEqual(evaluate(input, documents()));
  });
});

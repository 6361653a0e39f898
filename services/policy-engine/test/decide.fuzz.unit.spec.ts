import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyEngine, evaluate, normalizeRequest, type PolicySnapshot } from '../src/index.js';
import { documents } from './fixtures.js';

// Fuzzing the decide path end to end in process (normalise + evaluate): no input crashes it, and
// no allow is given that an independent, much simpler reading of the policy would not give.
const docs = documents();
const snapshot: PolicySnapshot = {
  digest: `sha256:${'0'.repeat(64)}`,
  version: 1,
  documents: docs,
  canonicalDocuments: '{}',
  files: [],
};
const engine = new PolicyEngine();
engine.install(snapshot);

const segment = fc.constantFrom(
  'vault',
  'user_docs',
  'outputs',
  'private',
  'etc',
  'passwd',
  '..',
  '.',
  '',
  'a',
  'user_docs_evil',
  '%2e%2e',
  '%2f',
  '\u2215',
  '\uff0f',
  '\u0000',
  '\\',
  '..%c0%af',
  '%252e',
);
const rawPath = fc.array(segment, { maxLength: 8 }).map((s) => `/${s.join('/')}`);
const anyPath = fc.oneof(rawPath, fc.string({ unit: 'grapheme-composite', maxLength: 64 }));
const host = fc.constantFrom(
  'huggingface.co',
  'example.org',
  'huggingface.co.evil.example',
  'evil-huggingface.co',
  'xn--hggingface-7nb.co',
  'HUGGINGFACE.CO',
  'huggingface.co.',
  'user:pw@huggingface.co',
  'huggingface.co:8443',
  'huggingface.co%2eevil',
  '127.0.0.1',
);
const url = fc
  .tuple(
    fc.constantFrom('https://', 'http://', 'HTTPS://', 'ftp://', 'https:/', ''),
    host,
    rawPath,
    fc.constantFrom('', '?token=x', '#f'),
  )
  .map(([s, h, p, q]) => `${s}${h}${p}${q}`);
const request = fc.oneof(
  fc.record({
    domain: fc.constant('tool_access'),
    subject: fc.constantFrom('filesystem.read', 'clock.now', 'shell.exec', 'x'),
    params: fc.record({ path: anyPath }, { requiredKeys: [] }),
  }),
  fc.record({
    domain: fc.constant('path_access'),
    subject: anyPath,
    action: fc.constantFrom('read', 'write', 'delete'),
  }),
  fc.record({
    domain: fc.constant('egress'),
    subject: fc.oneof(url, fc.string({ maxLength: 64 })),
    params: fc.record(
      { method: fc.constantFrom('GET', 'POST', 'get', 'BREW') },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    domain: fc.constant('agent_risk'),
    subject: fc.constantFrom('file_read', 'file_write', 'shell_exec', 'FILE_READ', ''),
  }),
  fc.record({
    domain: fc.constant('sensitivity'),
    subject: fc.constantFrom('low', 'medium', 'high', 'top'),
    params: fc.record({ ceiling: fc.constantFrom('low', 'medium', 'high', '') }),
  }),
  fc.record({ domain: fc.string({ maxLength: 12 }), subject: fc.string({ maxLength: 12 }) }),
  fc.jsonValue(),
);

function grants(req: {
  domain?: unknown;
  subject?: unknown;
  action?: unknown;
  params?: Record<string, unknown>;
}): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  const clean = (p: string) => p.startsWith('/') && !/[%\\\u0000-\u001f\u2215\uff0f]/.test(p);
  const under = (p: string, root: string) => {
    const r = root.replace(/\/\*\*$/, '');
    const n = posix.resolve(p);
    return n === r || n.startsWith(`${r}/`);
  };
  const s = typeof req.subject === 'string' ? req.subject : '';
  switch (req.domain) {
    case 'tool_access': {
      const entry = docs.policy.tools.allow.find((a) => a.name === s);
      if (!entry || docs.policy.tools.deny.some((d) => d.name === s)) return false;
      const path = req.params?.path;
      if (path === undefined) return (entry.paths_allowlist ?? []).length === 0;
      if (
        typeof path !== 'string' ||
        !clean(path) ||
        (entry.paths_denylist ?? []).some((r) => under(path, r))
      )
        return false;
      const allowlist = entry.paths_allowlist ?? [];
      return allowlist.length === 0 || allowlist.some((r) => under(path, r));
    }
    case 'path_access': {
      const roots =
        req.action === 'write'
          ? docs.agent.workspace.writable
          : req.action === 'read' || req.action === undefined
            ? docs.agent.workspace.readable
            : [];
      return clean(s) && roots.some((r) => under(s, r));
    }
    case 'egress': {
      try {
        const u = new URL(s);
        if (u.username || u.password || u.protocol !== 'https:' || u.port !== '') return false;
        return (
          ['huggingface.co', 'example.org'].includes(u.hostname.replace(/\.$/, '')) &&
          ['GET', 'get', undefined].includes(req.params?.method as string | undefined)
        );
      } catch {
        return false;
      }
    }
    case 'agent_risk':
      return docs.agent.allowed_tools.includes(s);
    case 'sensitivity': {
      const levels = docs.policy.sensitivity.levels;
      const c = levels.indexOf(String(req.params?.ceiling));
      return levels.indexOf(s) >= 0 && c >= 0 && levels.indexOf(s) <= c;
    }
    default:
      return false;
  }
}

describe('decide fuzzing (1,000+ generated requests per property)', () => {
  it('never throws, always answers with a known decision and a full evidence record', () => {
    fc.assert(
      fc.property(request, (req) => {
        const outcome = engine.decide(req, 'agent');
        expect(['allow', 'deny', 'ask']).toContain(outcome.response.decision);
        expect(outcome.response.evidence.inputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(outcome.event.data.input.length).toBeLessThanOrEqual(16384);
      }),
      { numRuns: 2000 },
    );
  });

  it('never allows what the policy does not grant', () => {
    fc.assert(
      fc.property(request, (req) => {
        const { decision } = engine.decide(req, 'agent').response;
        if (decision === 'allow') expect(grants(req as never), JSON.stringify(req)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('re-evaluating the recorded input gives the recorded verdict (replay is exact)', () => {
    fc.assert(
      fc.property(request, (req) => {
        const { event } = engine.decide(req, 'agent');
        const again = evaluate(JSON.parse(event.data.input) as never, docs);
        expect(again.ruleId).toBe(event.data.evidence.ruleId);
        expect(again.decision).toBe(event.data.decision);
        expect(again.trace).toEqual(event.data.evidence.trace);
        expect(normalizeRequest(req).input).toEqual(JSON.parse(event.data.input));
      }),
      { numRuns: 1000 },
    );
  });
});

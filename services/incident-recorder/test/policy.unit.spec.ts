import { readFile } from 'node:fs/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLICY_FILE,
  DEFAULT_REFUSAL_FLOOD,
  IncidentPolicyError,
  defaultIncidentPolicy,
  loadIncidentPolicy,
  parseIncidentPolicy,
} from '../src/index.js';

const shipped = () => readFile(DEFAULT_POLICY_FILE, 'utf8');

describe('incident policy (incidents.yaml)', () => {
  describe('given the shipped default', () => {
    it('holds the reference table: the nine reference classes and bus_abuse, severities, actions, latches', async () => {
      const { policy, digest } = await defaultIncidentPolicy();
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(Object.keys(policy.classes)).toHaveLength(10);
      expect(policy.classes.attestation_failure).toEqual({
        severity: 'critical',
        autoContain: true,
        latched: true,
        actions: ['freeze_agent', 'disable_airlock', 'force_vault_relock'],
      });
      expect(policy.classes.manifest_mismatch.actions).toEqual([
        'quarantine_model',
        'freeze_agent',
      ]);
      expect(policy.classes.forbidden_airlock_request.autoContain).toBe(false);
      expect(policy.classes.unauthorized_access.actions).toEqual([
        'freeze_agent',
        'force_vault_relock',
        'log_alert',
      ]);
      const latched = Object.entries(policy.classes)
        .filter(([, r]) => r.latched)
        .map(([c]) => c)
        .sort();
      expect(latched).toEqual([
        'attestation_failure',
        'bus_abuse',
        'integrity_violation',
        'manifest_mismatch',
        'unauthorized_access',
      ]);
      expect(policy.escalation.map((e) => [e.class, e.threshold, e.windowSeconds, e.to])).toEqual([
        ['prompt_injection', 3, 300, 'critical'],
        ['tool_call_burst', 5, 60, 'high'],
        ['policy_bypass_attempt', 2, 600, 'critical'],
        ['forbidden_airlock_request', 5, 300, 'high'],
        ['model_behavior_anomaly', 3, 900, 'critical'],
      ]);
    });

    it('opens a bus_abuse incident on 100 refusals from one identity within 10 s', async () => {
      const { policy } = await defaultIncidentPolicy();
      expect(policy.refusalFlood).toEqual({
        class: 'bus_abuse',
        threshold: 100,
        windowSeconds: 10,
      });
      expect(policy.classes.bus_abuse).toMatchObject({
        autoContain: true,
        actions: ['revoke_identity', 'log_alert'],
      });
    });

    it('a policy copied before refusal_flood existed gets the shipped rule; null switches it off', async () => {
      const text = (await shipped()).replace(/\nrefusal_flood:\n(?: {2}.*\n){3}/, '\n');
      expect(text).not.toContain('refusal_flood');
      const older = parseIncidentPolicy(text);
      expect(older.ok && older.policy.refusalFlood).toEqual(DEFAULT_REFUSAL_FLOOD);
      const off = parseIncidentPolicy(`${text}\nrefusal_flood: null\n`);
      expect(off.ok && off.policy.refusalFlood).toBeNull();
    });

    it('digests the content, not the comments or the layout', async () => {
      const text = await shipped();
      const a = parseIncidentPolicy(text);
      const b = parseIncidentPolicy(`# another comment\n${text.replace(/ # .*$/gm, '')}`);
      expect(a.ok && b.ok && a.digest === b.digest).toBe(true);
    });
  });

  describe('when the file is wrong', () => {
    it('refuses an unknown key, naming it', async () => {
      const result = parseIncidentPolicy(`${await shipped()}\nsurprise: true\n`);
      expect(!result.ok && result.problems).toEqual([
        {
          path: 'surprise',
          code: 'KEY_UNKNOWN',
          message: expect.stringMatching(/^unknown key "surprise"/) as string,
        },
      ]);
    });

    it('refuses a missing class', async () => {
      const text = (await shipped()).replace(/ {2}tool_call_burst:\n(?: {4}.*\n){4}/, '');
      const result = parseIncidentPolicy(text);
      expect(!result.ok && result.problems.map((p) => [p.path, p.code])).toEqual([
        ['classes.tool_call_burst', 'KEY_MISSING'],
      ]);
    });

    it('refuses an escalation that could never fire', async () => {
      const text = (await shipped()).replace(
        /class: tool_call_burst\n {4}threshold: 5\n {4}window_seconds: 60\n {4}to: high/,
        'class: tool_call_burst\n    threshold: 5\n    window_seconds: 60\n    to: low',
      );
      const result = parseIncidentPolicy(text);
      expect(!result.ok && result.problems).toEqual([
        {
          path: 'escalation[1].to',
          code: 'ESCALATION_NEVER_FIRES',
          message: expect.stringMatching(/never fires/) as string,
        },
      ]);
    });

    it('refuses duplicate keys, several documents and non-YAML', async () => {
      const codes = (text: string) => {
        const r = parseIncidentPolicy(text);
        return r.ok ? [] : r.problems.map((p) => [p.path, p.code]);
      };
      expect(codes('version: 1\nversion: 1\n')).toEqual([['version', 'DUPLICATE_KEY']]);
      expect(codes(`${await shipped()}\n---\nversion: 1\n`)).toEqual([['', 'MULTIPLE_DOCUMENTS']]);
      expect(codes('{ unclosed')[0]).toEqual(['', 'YAML_INVALID']);
    });
  });

  describe('when the recorder starts', () => {
    it('copies the shipped default into an empty policy dir, and never overwrites', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'secai-incident-policy-'));
      try {
        const first = await loadIncidentPolicy(join(dir, 'policy'));
        expect(first.created).toBe(true);
        const again = await loadIncidentPolicy(join(dir, 'policy'));
        expect(again.created).toBe(false);
        expect(again.digest).toBe(first.digest);
        await writeFile(join(dir, 'policy', 'incidents.yaml'), 'version: 2\n');
        await expect(loadIncidentPolicy(join(dir, 'policy'))).rejects.toBeInstanceOf(
          IncidentPolicyError,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

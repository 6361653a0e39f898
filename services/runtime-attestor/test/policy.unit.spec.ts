import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_POLICY_FILE,
  PolicyError,
  ensurePolicyFile,
  loadConfig,
  loadPolicyFile,
  parsePolicy,
} from '../src/index.js';

const valid = 'version: 1\nrequire: hardware\npcrs: [7, 0]\ninterval_seconds: 60\n';

describe('parsePolicy', () => {
  it('accepts the shipped default: require evaluation, PCRs 0,2,4,7, every 5 minutes', async () => {
    const parsed = parsePolicy(await readFile(DEFAULT_POLICY_FILE, 'utf8'));
    expect(parsed).toMatchObject({
      ok: true,
      policy: {
        require: 'evaluation',
        pcrs: [0, 2, 4, 7],
        intervalSeconds: 300,
        requireSecureBoot: false,
      },
    });
  });

  it('sorts PCRs and digests the content, not the layout', () => {
    const a = parsePolicy(valid);
    const b = parsePolicy(
      `# comment\nversion: 1\npcrs:\n  - 7\n  - 0\nrequire: hardware\ninterval_seconds: 60\n`,
    );
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.policy.pcrs).toEqual([0, 7]);
    expect(a.policy.digest).toBe(b.policy.digest);
    expect(a.policy.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each([
    ['an unknown key', `${valid}require_tpm: true\n`, 'require_tpm', 'KEY_UNKNOWN'],
    ['an unknown requirement', valid.replace('hardware', 'strict'), 'require', 'VALUE_INVALID'],
    ['a PCR out of range', valid.replace('[7, 0]', '[7, 24]'), 'pcrs[1]', 'VALUE_INVALID'],
    ['a PCR twice', valid.replace('[7, 0]', '[7, 7]'), 'pcrs[1]', 'DUPLICATE_ENTRY'],
    ['no PCRs', valid.replace('[7, 0]', '[]'), 'pcrs', 'VALUE_INVALID'],
    ['a string interval', valid.replace('60', '"60"'), 'interval_seconds', 'TYPE_MISMATCH'],
    ['a too short interval', valid.replace('60', '1'), 'interval_seconds', 'VALUE_INVALID'],
    ['a missing key', 'version: 1\nrequire: none\npcrs: [0]\n', 'interval_seconds', 'KEY_MISSING'],
    ['another version', valid.replace('version: 1', 'version: 2'), 'version', 'VALUE_INVALID'],
    ['a duplicate key', `${valid}require: none\n`, 'require', 'DUPLICATE_KEY'],
    ['two documents', `${valid}---\n${valid}`, '', 'MULTIPLE_DOCUMENTS'],
    [
      'an alias',
      'version: 1\nrequire: none\npcrs: &p [0]\nx: *p\ninterval_seconds: 60\n',
      'pcrs',
      'ALIAS_FORBIDDEN',
    ],
    [
      'a tag',
      'version: 1\nrequire: !!binary aGk=\npcrs: [0]\ninterval_seconds: 60\n',
      'require',
      'TAG_FORBIDDEN',
    ],
    ['not a mapping', '- 1\n', '', 'TYPE_MISMATCH'],
    [
      'nesting',
      'version: 1\nrequire: none\npcrs: [[0]]\ninterval_seconds: 60\n',
      'pcrs[0]',
      'TOO_DEEP',
    ],
  ])('refuses %s, at its key path', (_what, text, path, code) => {
    const parsed = parsePolicy(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.map((p) => [p.path, p.code])[0]).toEqual([path, code]);
  });
});

describe('the policy file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secai-attest-policy-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is installed on first start and never overwritten', async () => {
    const policyDir = join(dir, 'policy');
    const first = await ensurePolicyFile(policyDir);
    expect(first.installed).toBe(true);
    expect(await readFile(first.path, 'utf8')).toBe(await readFile(DEFAULT_POLICY_FILE, 'utf8'));
    await writeFile(first.path, valid);
    expect((await ensurePolicyFile(policyDir)).installed).toBe(false);
    expect((await loadPolicyFile(first.path)).require).toBe('hardware');
  });

  it('refuses an invalid file, a symlink and a missing file with PolicyError', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'version: 1\n');
    await expect(loadPolicyFile(bad)).rejects.toThrow(PolicyError);
    const link = join(dir, 'link.yaml');
    await symlink(DEFAULT_POLICY_FILE, link);
    await expect(loadPolicyFile(link)).rejects.toThrow(/cannot be read/);
    await expect(loadPolicyFile(join(dir, 'none.yaml'))).rejects.toThrow(/cannot be read/);
  });
});

describe('loadConfig', () => {
  it('reads defaults and refuses bad values', () => {
    expect(loadConfig({ SECAI_STATE_DIR: '/s' })).toEqual({
      stateDir: '/s',
      policyDir: '/s/policy',
      host: '127.0.0.1',
      port: 8505,
      tcti: null,
      intervalMs: null,
      akHandle: '0x81010020',
    });
    expect(
      loadConfig({
        SECAI_STATE_DIR: '/s',
        SECAI_TPM_TCTI: 'swtpm:host=127.0.0.1,port=2321',
        SECAI_ATTEST_INTERVAL_MS: '0',
        SECAI_POLICY_DIR: '/p',
      }),
    ).toMatchObject({ tcti: 'swtpm:host=127.0.0.1,port=2321', intervalMs: 0, policyDir: '/p' });
    expect(() => loadConfig({})).toThrow(/SECAI_STATE_DIR is not set/);
    expect(() =>
      loadConfig({ SECAI_STATE_DIR: '/s', SECAI_TPM_TCTI: 'device:/dev/tpm0;rm -rf' }),
    ).toThrow(/SECAI_TPM_TCTI must be .*, got "device:\/dev\/tpm0;rm -rf"/);
    expect(() => loadConfig({ SECAI_STATE_DIR: '/s', SECAI_ATTEST_INTERVAL_MS: '50' })).toThrow(
      'SECAI_ATTEST_INTERVAL_MS must be 0 (off) or at least 1000, got "50"',
    );
    expect(() => loadConfig({ SECAI_STATE_DIR: '/s', SECAI_TPM_AK_HANDLE: '0x80000000' })).toThrow(
      /persistent handle/,
    );
  });
});

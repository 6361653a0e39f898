import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { INTEGRITY_ERROR_CODES, IntegrityError } from '../src/errors.js';
import { DirWatcher } from '../src/watcher.js';
import { Observer, expandPattern } from '../src/observe.js';
import { readBaseline, writeBaseline } from '../src/baselineStore.js';
import { entriesDigest } from '../src/records.js';
import {
  DEFAULT_CONFIG_FILE,
  INSTALL_DIR,
  ensureConfigFile,
  loadSettings,
  parseSettings,
} from '../src/settings.js';

const vars = {
  STATE_DIR: '/var/lib/secai',
  POLICY_DIR: '/var/lib/secai/policy',
  INSTALL_DIR: '/opt/secai',
};
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-integrity-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** given integrity.yaml `text`, when parsed, then its problems as `path code` lines. */
function problemsOf(text: string): string[] {
  try {
    parseSettings(text, vars);
  } catch (err) {
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).code).toBe('CONFIG_INVALID');
    return (err as IntegrityError).problems.map((p) => `${p.path} ${p.code}: ${p.message}`);
  }
  return [];
}

describe('integrity.yaml', () => {
  it('the shipped default is valid and expands its variables', async () => {
    const s = parseSettings(await readFile(DEFAULT_CONFIG_FILE, 'utf8'), vars);
    expect(s.scanIntervalMs).toBe(30_000);
    expect(s.recoveryThreshold).toBe(3);
    expect(s.classes.service_binary.patterns).toContain('/opt/secai/services/*/dist');
    expect(s.classes.policy_file.patterns).toEqual(['/var/lib/secai/policy']);
    expect(s.classes.trust_material.patterns.some((p) => p.endsWith('key.pem'))).toBe(false);
    expect(s.models.store).toBe('/var/lib/secai/registry/store');
    expect(s.digest).toMatch(/^sha256:/);
    // The directory holding contracts/ and services/ (the workspace root here).
    expect(await readFile(join(INSTALL_DIR, 'contracts', 'package.json'), 'utf8')).toMatch(
      /@secai\/contracts/,
    );
  });

  it('refuses what strict YAML and the closed schema refuse, every problem at once', async () => {
    const base = await readFile(DEFAULT_CONFIG_FILE, 'utf8');
    expect(problemsOf(base.replace('version: 1', 'version: 1\nversion: 2'))).toEqual([
      expect.stringMatching(/^version DUPLICATE_KEY: /),
    ]);
    expect(problemsOf(`${base}\nextra_key: 1\n`)).toEqual([
      expect.stringMatching(/^extra_key KEY_UNKNOWN: unknown key "extra_key"/),
    ]);
    expect(
      problemsOf(base.replace('scan_interval_seconds: 30', 'scan_interval_seconds: "30"')),
    ).toEqual([expect.stringMatching(/^scan_interval_seconds TYPE_MISMATCH: /)]);
    expect(problemsOf(`${base}---\nversion: 1\n`)).toEqual([
      expect.stringMatching(/^ MULTIPLE_DOCUMENTS: .*exactly one is expected/),
    ]);
    expect(problemsOf(base.replace('severity: critical', 'severity: !env critical'))).toEqual([
      expect.stringMatching(/ TAG_FORBIDDEN: /),
    ]);
  });

  it('checks each path after expansion', async () => {
    const base = await readFile(DEFAULT_CONFIG_FILE, 'utf8');
    const problems = problemsOf(
      base
        .replace(
          '- ${POLICY_DIR}',
          '- ${HOME}/policy\n      - relative/path\n      - /a/../b\n      - /*',
        )
        .replace('store: ${STATE_DIR}/registry/store', 'store: ${STATE_DIR}/*/store'),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^classes\.policy_file\.paths\[0\] PATH_VARIABLE_UNKNOWN: unknown variable \$\{HOME\}/,
      ),
      expect.stringMatching(/^classes\.policy_file\.paths\[1\] PATH_NOT_ABSOLUTE: /),
      expect.stringMatching(
        /^classes\.policy_file\.paths\[2\] PATH_INVALID: "\." and "\.\." segments/,
      ),
      expect.stringMatching(
        /^classes\.policy_file\.paths\[3\] PATH_TOO_BROAD: .*whole file system/,
      ),
      expect.stringMatching(/^classes\.model_file\.store PATH_INVALID: .*not a pattern/),
    ]);
  });

  it('is installed once (creating the policy directory if needed), never overwritten', async () => {
    const policy = join(dir, 'policy');
    expect(await ensureConfigFile(policy)).toBe('created');
    expect((await stat(policy)).mode & 0o777).toBe(0o700);
    await writeFile(
      join(policy, 'integrity.yaml'),
      (await readFile(DEFAULT_CONFIG_FILE, 'utf8')).replace(
        'scan_interval_seconds: 30',
        'scan_interval_seconds: 45',
      ),
    );
    expect(await ensureConfigFile(policy)).toBe('exists');
    const s = await loadSettings(policy, { STATE_DIR: '/s', INSTALL_DIR: '/i' });
    expect(s.scanIntervalMs).toBe(45_000);
    expect(s.classes.policy_file.patterns).toEqual([policy]);
  });
});

describe('observer', () => {
  it('walks without following links, hashes files, reads modes and owners, honours excludes', async () => {
    const root = join(dir, 'tree');
    await mkdir(join(root, 'sub/skip'), { recursive: true });
    await writeFile(join(root, 'a.txt'), 'alpha');
    await chmod(join(root, 'a.txt'), 0o640);
    await writeFile(join(root, 'sub/b.txt'), 'beta');
    await writeFile(join(root, 'sub/skip/c.txt'), 'gamma');
    await symlink('/etc', join(root, 'link'));
    await writeFile(join(root, 'bad\nname'), 'x');
    const obs = await new Observer({ concurrency: 2 }).observeSet({
      patterns: [root],
      exclude: [join(root, 'sub/skip')],
    });
    const a = obs.records.get(join(root, 'a.txt'))!;
    expect(a).toMatchObject({ type: 'file', digest: sha('alpha'), size: 5, mode: '0640' });
    expect(a.owner).toBe(`${process.getuid!()}:${process.getgid!()}`);
    expect(obs.records.get(join(root, 'link'))).toMatchObject({ type: 'link', target: '/etc' });
    expect(obs.records.has(join(root, 'link/passwd'))).toBe(false);
    expect(obs.records.has(join(root, 'sub/skip'))).toBe(false);
    expect(obs.records.has(join(root, 'sub/skip/c.txt'))).toBe(false);
    expect(obs.records.get(join(root, 'bad\\x0aname'))).toMatchObject({ type: 'other' });
    expect(obs.filesHashed).toBe(2);
    expect(obs.dirs.has(join(root, 'sub'))).toBe(true);
  });

  it('expands glob segments to what exists, collecting the directories to watch', async () => {
    await mkdir(join(dir, 'svc/one/dist'), { recursive: true });
    await mkdir(join(dir, 'svc/two'), { recursive: true });
    await writeFile(join(dir, 'svc/file'), '');
    const watch = new Set<string>();
    expect(await expandPattern(join(dir, 'svc/*/dist'), watch)).toEqual([
      join(dir, 'svc/one/dist'),
    ]);
    expect(watch.has(join(dir, 'svc'))).toBe(true);
    expect(watch.has(join(dir, 'svc/one'))).toBe(true);
    const missing = new Set<string>();
    expect(await expandPattern(join(dir, 'nothing/here/*'), missing)).toEqual([]);
    expect(missing.has(dir)).toBe(true);
  });

  it('refuses a pattern that matches more than the limit', async () => {
    await expect(
      new Observer({ maxEntries: 2 }).observeSet({ patterns: [join(dir, 'tree')], exclude: [] }),
    ).rejects.toMatchObject({ code: 'TOO_MANY_ENTRIES' });
  });
});

describe('stored baselines', () => {
  it('are read back only when they match the signed digest', async () => {
    const records = [
      {
        path: '/a',
        type: 'file' as const,
        digest: sha('a'),
        size: 1,
        mode: '0644',
        owner: '0:0',
        target: null,
      },
    ];
    const written = await writeBaseline(dir, 'policy_file', records, new Date());
    expect(written.entriesDigest).toBe(entriesDigest(records));
    const ok = await readBaseline(dir, 'policy_file', written.entriesDigest);
    expect(ok.ok && [...ok.records.keys()]).toEqual(['/a']);
    await writeFile(written.file, JSON.stringify({ pathClass: 'policy_file', entries: [] }));
    const bad = await readBaseline(dir, 'policy_file', written.entriesDigest);
    expect(bad).toMatchObject({ ok: false, actual: entriesDigest([]) });
    const none = await readBaseline(dir, 'policy_file', `sha256:${'00'.repeat(32)}`);
    expect(none).toMatchObject({ ok: false, actual: null, problem: 'ENOENT' });
  });
});

describe('watcher', () => {
  it('hands over the changed paths of watched directories once they go quiet', async () => {
    const root = join(dir, 'watched');
    await mkdir(root);
    const batches: string[][] = [];
    const w = new DirWatcher({
      debounceMs: 30,
      onChange: (paths) => batches.push(paths),
      log: pino({ level: 'silent' }),
    });
    w.reconcile([root]);
    expect(w.size).toBe(1);
    await writeFile(join(root, 'x'), '1');
    await chmod(join(root, 'x'), 0o600);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (batches.length > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
    expect(batches[0]).toContain(join(root, 'x'));
    w.reconcile([]);
    expect(w.size).toBe(0);
    w.close();
  });
});

describe('error catalogue', () => {
  it('every error code is documented in the README', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of INTEGRITY_ERROR_CODES) expect(readme).toContain(`\`${code}\``);
  });
});

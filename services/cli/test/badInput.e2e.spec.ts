import { execFile } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNats, type TestNats } from '@secai/streams/testing';
import { BIN, secai, startBoot, type Booted, type Run } from './harness.js';

// Issue 10 §5 (CLI): bad input and unreadable state reported as something they are not. Each
// case runs the built CLI as a process against a booted appliance, so "no appliance is running"
// is provably false where the old CLI said it.

const NOBODY = 65534; // nobody / nogroup on Debian
const isRoot = process.getuid?.() === 0;

/**
 * The CLI as root without the capabilities that let root read what it may not (`setpriv` drops
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so the exec'd node has neither).
 * Not as `nobody`: a checkout under /root (0700) would keep nobody from the CLI's own code.
 */
function secaiWithoutDac(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      'setpriv',
      ['--bounding-set', '-dac_override,-dac_read_search', '--', process.execPath, BIN, ...args],
      { env: process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Runs `body` while the state dir belongs to nobody (0700): root without DAC caps cannot enter. */
async function whileOwnedByNobody(path: string, body: () => Promise<void>): Promise<void> {
  await chown(path, NOBODY, NOBODY);
  try {
    await body();
  } finally {
    await chown(path, 0, 0);
  }
}

let dir: string;
let stateDir: string;
let booted: Booted;
let natsUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-badinput-'));
  stateDir = join(dir, 'state');
  booted = await startBoot(stateDir);
  const running = JSON.parse(booted.lines.find((l) => l.includes('"state":"running"'))!) as {
    natsUrl: string;
  };
  natsUrl = running.natsUrl;
});

afterAll(async () => {
  if (booted?.child.exitCode === null) {
    booted.child.kill('SIGTERM');
    await booted.exit;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('an unreadable state dir is not "no appliance is running"', () => {
  it.skipIf(!isRoot)(
    'names the path and "permission denied" when the user cannot read it',
    async () => {
      await whileOwnedByNobody(stateDir, async () => {
        const r = await secaiWithoutDac(['events', 'tail', '--state-dir', stateDir]);
        expect(r.code).toBe(2);
        expect(r.stderr).not.toContain('NOT_RUNNING');
        expect(r.stderr).toContain('STATE_DIR_DENIED');
        expect(r.stderr).toContain(stateDir);
        expect(r.stderr).toContain('permission denied');

        // With the bus named on the command line the state dir is still needed (credentials).
        const withUrl = await secaiWithoutDac([
          'policy',
          'replay',
          '--state-dir',
          stateDir,
          '--nats-url',
          natsUrl,
        ]);
        expect(withUrl.code).toBe(2);
        expect(withUrl.stderr).toContain('STATE_DIR_DENIED');
        expect(withUrl.stderr).toContain(stateDir);
      });
    },
  );

  it('names the path when a component of it is not a directory', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory\n');
    for (const path of [join(file, 'state'), file]) {
      const r = await secai(['events', 'tail', '--state-dir', path]);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain('NOT_RUNNING');
      expect(r.stderr).toContain('STATE_DIR_NOT_DIRECTORY');
      expect(r.stderr).toContain(path);
    }
  });

  it('says a runtime file is corrupt rather than that nothing runs', async () => {
    const broken = join(dir, 'broken');
    await mkdir(join(broken, 'run'), { recursive: true });
    await writeFile(join(broken, 'run', 'runtime.json'), '{"natsUrl": ');
    const r = await secai(['events', 'tail', '--state-dir', broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('RUNTIME_INFO_INVALID');
    expect(r.stderr).toContain(join(broken, 'run', 'runtime.json'));
  });

  it('says "not running" only when it is the truth, naming what is missing', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const noRuntime = await secai(['events', 'tail', '--state-dir', empty]);
    expect(noRuntime.code).toBe(2);
    expect(noRuntime.stderr).toContain('NOT_RUNNING');
    expect(noRuntime.stderr).toContain(join(empty, 'run', 'runtime.json'));
    const absent = await secai(['events', 'tail', '--state-dir', join(dir, 'absent')]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('NOT_RUNNING');
    expect(absent.stderr).toContain(join(dir, 'absent'));
  });

  it('says the bus refused the credentials when a reachable bus does not know them', async () => {
    // A real nats-server with other users: reachable, but the cli seed of this state dir is not one of them.
    let other: TestNats | undefined;
    try {
      other = await startTestNats();
      const r = await secai(['events', 'tail', '--state-dir', stateDir, '--nats-url', other.url]);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain('NOT_RUNNING');
      expect(r.stderr).toContain('BUS_REFUSED');
      expect(r.stderr).toContain(other.url);
    } finally {
      await other?.cleanup();
    }
  });
});

describe('policy decide checks the request against the contract before sending it', () => {
  const decide = (extra: string[], dirArg = stateDir) =>
    secai(['policy', 'decide', '--state-dir', dirArg, '--domain', 'tool_access', ...extra]);

  it('refuses an oversized subject as a usage error naming the field and the bound', async () => {
    const r = await decide(['--subject', 'x'.repeat(5000)]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('NOT_RUNNING');
    expect(r.stderr).toContain('USAGE');
    expect(r.stderr).toContain('--subject');
    expect(r.stderr).toContain('4096');
  });

  it('refuses it even when no appliance is running (nothing is sent)', async () => {
    const r = await decide(['--subject', 'x'.repeat(5000)], join(dir, 'absent'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE');
    expect(r.stderr).toContain('--subject');
  });

  it('names every other field over its bound', async () => {
    const cases: [string[], string, string][] = [
      [['--subject', 'a', '--path', `/${'p'.repeat(4096)}`], '--path', '4096'],
      [['--subject', 'a', '--method', 'G'.repeat(17)], '--method', '16'],
      [['--subject', 'a', '--ceiling', 'c'.repeat(33)], '--ceiling', '32'],
      [['--subject', 'a', '--action', 'Not An Action'], '--action', '^[a-z][a-z0-9_.-]*$'],
    ];
    for (const [args, option, bound] of cases) {
      const r = await decide(args);
      expect(r.code, option).toBe(2);
      expect(r.stderr, option).toContain('USAGE');
      expect(r.stderr, option).toContain(option);
      expect(r.stderr, option).toContain(bound);
    }
    const domain = await secai([
      'policy',
      'decide',
      '--state-dir',
      stateDir,
      '--domain',
      'Not-A-Domain',
      '--subject',
      'a',
    ]);
    expect(domain.code).toBe(2);
    expect(domain.stderr).toContain('USAGE');
    expect(domain.stderr).toContain('--domain');
  });

  it('still asks the engine for a request within bounds', async () => {
    const r = await decide(['--subject', 'filesystem.read', '--path', '/vault/user_docs/a.txt']);
    expect(r.code).toBe(0);
  });
});

describe('a backwards range is a usage error, not an empty success', () => {
  const policyDir = resolve(import.meta.dirname, '../../policy-engine/policy');
  const commands: [string, string[]][] = [
    ['events replay', ['events', 'replay', '--projection', 'event-counts']],
    ['policy replay', ['policy', 'replay']],
    ['policy what-if', ['policy', 'what-if', '--policy', policyDir]],
  ];

  for (const [name, args] of commands) {
    it(`${name} --from 10 --to 5`, async () => {
      const r = await secai([...args, '--state-dir', stateDir, '--from', '10', '--to', '5']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('USAGE');
      expect(r.stderr).toContain('--from 10');
      expect(r.stderr).toContain('--to 5');
      expect(r.stdout).toBe('');
    });
  }

  it('events replay --bundle checks the range too', async () => {
    const r = await secai([
      'events',
      'replay',
      '--projection',
      'event-counts',
      '--bundle',
      join(dir, 'absent.jsonl'),
      '--from',
      '10',
      '--to',
      '5',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE');
  });
});

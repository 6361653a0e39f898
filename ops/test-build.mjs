// Vitest globalSetup of the int and e2e projects: brings every package's dist/ up to date before a
// test runs, so no test can run a stale build.
//
// Tests import TypeScript sources (the "source" export condition), but some code cannot run from
// source: the quarantine's stage workers are separate node processes in the sandbox, the streams
// signing/verifying pools are worker threads, and e2e tests boot the built CLI. Those run plain
// node on dist/. Importing them from source would need a TypeScript loader inside the sandbox
// (as nobody, read-only) and in every worker thread, and would test something other than what
// ships, so the build is refreshed instead: an incremental `tsc -b` that checks timestamps and
// finishes in a few seconds when nothing changed.
//
// Builds are serialised with flock(1) on the lock the repository's scripts use: two concurrent
// `tsc -b` runs over the same tree (two vitest processes, or a test run next to `npm run build`)
// can write half-emitted files under each other. flock comes with util-linux, which the
// quarantine sandbox needs anyway; without it the build runs unlocked.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const LOCK = join(tmpdir(), 'secai-build.lock');

function flockBinary() {
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin']) {
    try {
      accessSync(join(dir, 'flock'), constants.X_OK);
      return join(dir, 'flock');
    } catch {
      // not here
    }
  }
  return null;
}

function build() {
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  const argv = [process.execPath, tsc, '-b', 'tsconfig.build.json'];
  const flock = flockBinary();
  const [command, ...args] = flock === null ? argv : [flock, LOCK, ...argv];
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  if (result.error !== undefined || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
    throw new Error(
      `tests need an up-to-date build, and \`tsc -b tsconfig.build.json\` failed` +
        `${result.error ? `: ${result.error.message}` : ''}\n${output}`,
    );
  }
}

// One vitest process loads this for each project that lists it; the first build covers both.
let built = false;

/** @param {{ onTestsRerun?: (fn: () => void) => void }} project */
export default function setup(project) {
  if (!built) {
    build();
    built = true;
  }
  // Watch mode re-runs tests after edits: rebuild first, or the rerun would use the old dist/.
  project?.onTestsRerun?.(() => build());
}

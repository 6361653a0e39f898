// What of the file system a worker script needs to load (issue 11 §0). As root the worker runs
// as `nobody`, which cannot traverse a checkout under /root or a `mktemp -d` directory (0700).
// Loosening those parents would expose everything under them, so instead the script and what it
// imports are bind-mounted read-only under a root-owned placeholder, the way the artifact is.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export interface CodeMount {
  /** The real directory the worker's code is resolved from (symlinks resolved). */
  root: string;
  /**
   * Names directly under `root` to show the worker: node_modules, package.json, the workspace
   * package directories and the one holding the script. Each is its own bind under a fresh
   * placeholder directory, so `root` itself may be 0700 (a clone made right in `mktemp -d`) and
   * nothing beside them (a `.env`, a state dir kept in the checkout) is shown.
   */
  entries: string[];
  /** The script's path relative to `root`. */
  script: string;
}

const GLOB = /[*?[\]{}!]/;

function readWorkspaces(dir: string): string[] | null {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return null;
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { workspaces?: unknown };
    // npm and yarn 1 spell it as an array; yarn also as `{ packages: [...] }`.
    const ws = Array.isArray(pkg.workspaces)
      ? pkg.workspaces
      : (pkg.workspaces as { packages?: unknown } | undefined)?.packages;
    return Array.isArray(ws) ? ws.filter((w): w is string => typeof w === 'string') : null;
  } catch {
    return null;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function ancestors(dir: string): string[] {
  const out = [dir];
  for (let d = dir; dirname(d) !== d; d = dirname(d)) out.push(dirname(d));
  return out;
}

/**
 * Where the worker's code comes from: the nearest npm-workspaces root above the script (the
 * repository: `node_modules/@secai/*` link relatively to the package directories, so inside the
 * mount they resolve inside the mount); else the nearest directory with a `node_modules` that is
 * not itself inside one (a package installed as a dependency resolves from its consumer's
 * node_modules); else the script's own directory, shown whole. Throws if the script is missing.
 */
export function codeMountFor(scriptPath: string): CodeMount {
  const real = realpathSync(scriptPath);
  const up = ancestors(dirname(real));
  const firstSegment = (root: string): string => relative(root, real).split(sep)[0] ?? '';

  for (const dir of up) {
    const workspaces = readWorkspaces(dir);
    if (workspaces === null) continue;
    const names = new Set(['package.json', 'node_modules', firstSegment(dir)]);
    for (const pattern of workspaces) {
      const head = pattern.replace(/^\.\//, '').split('/')[0] ?? '';
      if (GLOB.test(head)) {
        // A top-level glob (`*`): every visible entry may hold a package.
        for (const name of readdirSync(dir)) if (!name.startsWith('.')) names.add(name);
      } else if (head !== '' && head !== '..') names.add(head);
    }
    return finish(dir, names, real);
  }
  for (const dir of up) {
    if (dir.split(sep).includes('node_modules')) continue;
    if (isDirectory(join(dir, 'node_modules'))) {
      return finish(dir, new Set(['package.json', 'node_modules', firstSegment(dir)]), real);
    }
  }
  const dir = dirname(real);
  return finish(dir, new Set(readdirSync(dir)), real);
}

function finish(root: string, names: Set<string>, real: string): CodeMount {
  const entries = [...names].filter((n) => n !== '' && existsSync(join(root, n))).sort();
  return { root, entries, script: relative(root, real) };
}

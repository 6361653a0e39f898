// A small npm-workspaces tree under a directory `nobody` cannot traverse, for the location tests
// of runSandboxed and spawnSandboxed (issue 11 §0).
import { chmod, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh root-owned 0700 directory: in /tmp (what `mktemp -d` makes) or in /root itself. */
export async function makePrivateDir(where: 'mktemp' | 'root', made: string[]): Promise<string> {
  const dir = await mkdtemp(join(where === 'root' ? '/root' : tmpdir(), 'secai-sandbox-'));
  made.push(dir);
  await chmod(dir, 0o700);
  return dir;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value));
}

/**
 * A small npm-workspaces tree shaped like the repository: a worker in one workspace package
 * imports another through the relative `node_modules/@t/dep` link, which imports a hoisted
 * dependency. Nothing in it is readable by nobody through its parent.
 */
export async function writeWorkspace(root: string): Promise<string> {
  await mkdir(join(root, 'node_modules', '@t'), { recursive: true });
  await mkdir(join(root, 'node_modules', 'plain'), { recursive: true });
  await mkdir(join(root, 'pkgs', 'dep'), { recursive: true });
  await mkdir(join(root, 'pkgs', 'app', 'dist'), { recursive: true });
  await writeJson(join(root, 'package.json'), {
    private: true,
    type: 'module',
    workspaces: ['pkgs/*'],
  });
  await writeJson(join(root, 'node_modules', 'plain', 'package.json'), {
    name: 'plain',
    type: 'module',
    exports: './index.js',
  });
  await writeFile(join(root, 'node_modules', 'plain', 'index.js'), "export default 'plain';\n");
  await writeJson(join(root, 'pkgs', 'dep', 'package.json'), {
    name: '@t/dep',
    type: 'module',
    exports: './index.js',
  });
  await writeFile(
    join(root, 'pkgs', 'dep', 'index.js'),
    "import plain from 'plain';\nexport const answer = () => `dep+${plain}`;\n",
  );
  await symlink('../../pkgs/dep', join(root, 'node_modules', '@t', 'dep'));
  await writeJson(join(root, 'pkgs', 'app', 'package.json'), { name: '@t/app', type: 'module' });
  const worker = join(root, 'pkgs', 'app', 'dist', 'worker.js');
  await writeFile(
    worker,
    [
      "import { answer } from '@t/dep';",
      "import { readFileSync } from 'node:fs';",
      "let data = '';",
      'for await (const chunk of process.stdin) data += chunk;',
      'const { probe } = JSON.parse(data);',
      'let probed;',
      "try { readFileSync(probe); probed = 'read'; } catch (e) { probed = e.code; }",
      'process.stdout.write(JSON.stringify({ answer: answer(), uid: process.getuid(), probed }));',
      '',
    ].join('\n'),
  );
  return worker;
}

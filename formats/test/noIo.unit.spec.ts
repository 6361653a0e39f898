import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Issue 11 §4: the readers do no I/O beyond a byte source. Every file-system call of the package
// is in src/fileSource.ts; nothing in src/ (test builders in src/testing/ aside) may import a
// module that reaches files, processes, sockets or threads, in any import form (static, type-only,
// re-export, dynamic, require), with or without the `node:` prefix.

const SRC = join(import.meta.dirname, '..', 'src');
const ALLOWED = new Set(['fileSource.ts']);
const EXEMPT_DIR = `testing${sep}`;
const FORBIDDEN = new Set([
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'worker_threads',
]);

/** The modules a TypeScript source imports, as the compiler's pre-processor finds them. */
function importedModules(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

function forbiddenImports(text: string): string[] {
  return importedModules(text).filter((m) => FORBIDDEN.has(m.replace(/^node:/, '')));
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('no I/O beyond a byte source', () => {
  it('no file under formats/src but fileSource.ts and testing/ imports fs, processes, sockets or threads', async () => {
    const checked: string[] = [];
    const offenders: string[] = [];
    for (const path of await sourceFiles(SRC)) {
      const rel = relative(SRC, path);
      if (ALLOWED.has(rel) || rel.startsWith(EXEMPT_DIR)) continue;
      checked.push(rel.split(sep).join('/'));
      for (const m of forbiddenImports(await readFile(path, 'utf8')))
        offenders.push(`${rel}: ${m}`);
    }
    expect(offenders).toEqual([]);
    // The scan saw the readers themselves, not an empty or wrong directory.
    expect(checked).toEqual(
      expect.arrayContaining([
        'gguf/inspect.ts',
        'safetensors.ts',
        'json.ts',
        'polyglot.ts',
        'diffusers.ts',
        'pickle/vm.ts',
        'pickle/zip.ts',
        'source.ts',
      ]),
    );
  });

  it('the one file-backed module is where the fs calls are', async () => {
    const text = await readFile(join(SRC, 'fileSource.ts'), 'utf8');
    expect(forbiddenImports(text).sort()).toEqual(['node:fs', 'node:fs/promises']);
  });

  it('recognises every import form, with or without node:', () => {
    const forms = [
      "import { open } from 'node:fs/promises';",
      "import type { FileHandle } from 'fs/promises';",
      "import * as cp from 'node:child_process';",
      "export { request } from 'node:https';",
      "import 'node:net';",
      "const w = await import('node:worker_threads');",
      "const d = require('dgram');",
      "import http from 'http';",
    ];
    for (const form of forms) expect(forbiddenImports(form), form).toHaveLength(1);
    expect(forbiddenImports("import { createHash } from 'node:crypto';")).toEqual([]);
    expect(forbiddenImports("import { x } from './fsLike.js';")).toEqual([]);
  });
});

import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { standaloneValidatorsSource } from '../src/standalone.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const WEB_ENTRY = join(SRC, 'web/index.ts');
/** The only packages the browser entry may pull in (no Ajv: compiling schemas needs eval). */
const ALLOWED_PACKAGES = ['@peculiar/x509', '@sinclair/typebox', 'reflect-metadata'];
const NODE_BUILTINS = new Set(builtinModules);

/** Imports and re-exports of a TypeScript source, each marked type-only or not. */
function specifiersOf(source: string): { specifier: string; typeOnly: boolean }[] {
  const statement = /^\s*(import|export)\s+(type\s+)?([^;'"]*?\bfrom\s+)?'([^']+)';/gm;
  return [...source.matchAll(statement)].map((match) => ({
    specifier: match[4]!,
    typeOnly: match[2] !== undefined,
  }));
}

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
}

/**
 * Every contracts source file the web entry reaches (type-only imports too: the page's own
 * type-check has no Node types), and the packages it names, by kind of import.
 */
function walk(entry: string): { files: string[]; values: Set<string>; types: Set<string> } {
  const files: string[] = [];
  const values = new Set<string>();
  const types = new Set<string>();
  const pending = [entry];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    files.push(file);
    for (const { specifier, typeOnly } of specifiersOf(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) {
        pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      } else {
        (typeOnly ? types : values).add(specifier);
      }
    }
  }
  return { files, values, types };
}

describe('the web entry is browser-safe', () => {
  it('imports no node:* module (not even for types), no Buffer and no Ajv in its own sources', () => {
    const { files, values, types } = walk(WEB_ENTRY);
    // The walk does reach the shared rules (else it proves nothing).
    expect(files).toEqual(
      expect.arrayContaining([
        join(SRC, 'envelope/rules.ts'),
        join(SRC, 'identity/certificateRules.ts'),
        join(SRC, 'authority.ts'),
        join(SRC, 'events/index.ts'),
      ]),
    );
    expect(files).not.toContain(join(SRC, 'envelope/verify.ts'));
    expect(files).not.toContain(join(SRC, 'identity/pki.ts'));
    expect(files).not.toContain(join(SRC, 'envelope/trust.ts'));
    for (const name of [...values, ...types]) {
      expect(NODE_BUILTINS.has(name) || name.startsWith('node:'), name).toBe(false);
    }
    for (const name of values) {
      expect(ALLOWED_PACKAGES, `${name} is imported by the web entry`).toContain(name);
    }
    for (const file of files) {
      expect(withoutComments(readFileSync(file, 'utf8')), file).not.toMatch(
        /\bBuffer\b|\bnew Function\b|\beval\(/,
      );
    }
  });

  describe('bundled for the browser by vite', () => {
    let dir: string | undefined;
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('builds with the standalone validators, resolving no node built-in', async () => {
      dir = await mkdtemp(join(tmpdir(), 'secai-web-bundle-'));
      await writeFile(join(dir, 'validators.mjs'), standaloneValidatorsSource());
      const entry = join(dir, 'entry.js');
      await writeFile(
        entry,
        [
          `import * as web from ${JSON.stringify(WEB_ENTRY)};`,
          `import validators from './validators.mjs';`,
          'web.setSchemaValidators(validators);',
          'globalThis.secaiWeb = web;',
        ].join('\n'),
      );
      const refused: string[] = [];
      // Vite would quietly stub a node built-in for the browser; this makes it a failure.
      const noNodeBuiltins: Plugin = {
        name: 'secai-no-node-builtins',
        enforce: 'pre',
        resolveId(source, importer) {
          const bare = source.startsWith('node:') ? source.slice(5) : source;
          if (source.startsWith('node:') || NODE_BUILTINS.has(bare.split('/')[0]!)) {
            refused.push(`${source} (from ${importer ?? '?'})`);
          }
          return null;
        },
      };
      const output = await build({
        root: dir,
        configFile: false,
        logLevel: 'silent',
        plugins: [noNodeBuiltins],
        build: {
          write: false,
          minify: false,
          target: 'es2022',
          rollupOptions: { input: entry },
        },
      });
      expect(refused).toEqual([]);
      const outputs = (Array.isArray(output) ? output : [output]) as {
        output: { type: string; code?: string; fileName: string }[];
      }[];
      const code = outputs
        .flatMap((result) => result.output)
        .map((chunk) => chunk.code ?? '')
        .join('\n');
      expect(code).toContain('verifyEnvelopeWeb');
      expect(code).not.toContain('__vite-browser-external');
      expect(code).not.toMatch(/\brequire\("/);
    }, 120_000);
  });
});

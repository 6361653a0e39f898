// The rule that reads the lists in globals.ts: one imported `module.name` → its risk.
import {
  BUILTIN_MODULES,
  DANGEROUS_BUILTINS,
  DANGEROUS_MODULES,
  SAFE_BUILTINS,
  SAFE_GLOBALS,
} from './globals.js';
import type { PickleGlobal, PickleRisk } from './types.js';

const builtinModules = new Set(BUILTIN_MODULES);
const dangerousBuiltins = new Set(DANGEROUS_BUILTINS);
const safeBuiltins = new Set(SAFE_BUILTINS);
const safeGlobals = new Set(SAFE_GLOBALS);

function moduleMatches(module: string, prefix: string): boolean {
  return module === prefix || module.startsWith(`${prefix}.`);
}

/** Classifies one imported `module.name`. */
export function classifyPickleGlobal(module: string, name: string): PickleRisk {
  // A dotted name can reach attributes of attributes (STACK_GLOBAL resolves it with getattr).
  const topName = name.split('.')[0] ?? name;
  if (builtinModules.has(module)) {
    if (dangerousBuiltins.has(topName)) return 'dangerous';
    if (safeBuiltins.has(name)) return 'safe';
    return 'unknown';
  }
  for (const m of DANGEROUS_MODULES) if (moduleMatches(module, m)) return 'dangerous';
  if (name.includes('.') || name.startsWith('__')) return 'unknown';
  if (safeGlobals.has(`${module}.${name}`)) return 'safe';
  return 'unknown';
}

/**
 * Whether an import could name anything real. Python resolves a global by importing the module
 * (a file or package on sys.path) and looking the name up on it: a module or name holding
 * control, whitespace, non-ASCII or path-separator characters names nothing an attacker can rely
 * on. Random weight bytes form such "imports" by chance (seen on 1 GiB of F32 weights), so the
 * scans of data embedded in a model ignore them. Anything printable is kept as importable.
 */
export function isImportableGlobal(g: Pick<PickleGlobal, 'module' | 'name'>): boolean {
  const plausible = (text: string) =>
    text.length > 0 && /^[\x21-\x7e]+$/.test(text) && !/[/\\]/.test(text);
  return plausible(g.module) && plausible(g.name);
}

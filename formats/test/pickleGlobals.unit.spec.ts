import { describe, expect, it } from 'vitest';
import { classifyPickleGlobal } from '../src/index.js';
import {
  BUILTIN_MODULES,
  DANGEROUS_BUILTINS,
  DANGEROUS_MODULES,
  SAFE_BUILTINS,
  SAFE_GLOBALS,
} from '../src/pickle/globals.js';

// The lists in pickle/globals.ts are the policy a reader audits: each entry must mean what the
// list it stands in says, through the rule that reads it.
describe('pickle globals as data', () => {
  const split = (g: string) => [g.slice(0, g.lastIndexOf('.')), g.slice(g.lastIndexOf('.') + 1)];

  it('every allowlisted module.name is safe', () => {
    for (const g of SAFE_GLOBALS) {
      const [module, name] = split(g) as [string, string];
      expect(classifyPickleGlobal(module, name), g).toBe('safe');
    }
  });

  it('every denylisted module, and its sub-modules, is dangerous whatever the name', () => {
    for (const m of DANGEROUS_MODULES) {
      expect(classifyPickleGlobal(m, 'anything'), m).toBe('dangerous');
      expect(classifyPickleGlobal(`${m}.sub`, 'x'), `${m}.sub`).toBe('dangerous');
    }
  });

  it('builtins: the dangerous ones under every builtin module name, even dotted; the safe ones exactly', () => {
    for (const module of BUILTIN_MODULES) {
      for (const b of DANGEROUS_BUILTINS) {
        expect(classifyPickleGlobal(module, b), `${module}.${b}`).toBe('dangerous');
        expect(classifyPickleGlobal(module, `${b}.__call__`)).toBe('dangerous');
      }
      for (const b of SAFE_BUILTINS) {
        expect(classifyPickleGlobal(module, b), `${module}.${b}`).toBe('safe');
        expect(classifyPickleGlobal(module, `${b}.mro`)).toBe('unknown');
      }
    }
  });

  it('a name near an allowlisted one is not safe', () => {
    expect(classifyPickleGlobal('torch', 'FloatStorageX')).toBe('unknown');
    expect(classifyPickleGlobal('torch', 'float128')).toBe('unknown');
    expect(classifyPickleGlobal('numpy', 'object_')).toBe('unknown');
    expect(classifyPickleGlobal('torch._utils', '__rebuild_tensor')).toBe('unknown');
    expect(classifyPickleGlobal('collections', 'OrderedDict.fromkeys')).toBe('unknown');
  });

  it('the lists hold no duplicates and no entry is both allowed and denied', () => {
    for (const list of [DANGEROUS_MODULES, DANGEROUS_BUILTINS, SAFE_BUILTINS, SAFE_GLOBALS]) {
      expect(new Set(list).size).toBe(list.length);
    }
    expect(DANGEROUS_BUILTINS.filter((b) => SAFE_BUILTINS.includes(b))).toEqual([]);
    const denied = (g: string) => DANGEROUS_MODULES.some((m) => g === m || g.startsWith(`${m}.`));
    expect(SAFE_GLOBALS.filter(denied)).toEqual([]);
  });
});

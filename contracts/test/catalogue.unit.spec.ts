import { readFileSync, readdirSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { AUTHORITY } from '../src/authority.js';
import { catalogue } from '../src/events/index.js';
import { schemaProblems } from '../src/events/validate.js';

const fixturesDir = new URL('./__fixtures__/events/', import.meta.url);
const types = Object.keys(catalogue) as (keyof typeof catalogue)[];

function fixtureOf(type: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`${type}.json`, fixturesDir), 'utf8')) as Record<
    string,
    unknown
  >;
}

type Node = Record<string, unknown>;

/** Every place a schema could accept unbounded or unknown data, as `path: problem`. */
function looseSpots(schema: Node, path: string): string[] {
  const found: string[] = [];
  for (const [i, branch] of ((schema.anyOf as Node[] | undefined) ?? []).entries()) {
    found.push(...looseSpots(branch, `${path}|${i}`));
  }
  switch (schema.type) {
    case 'object': {
      if (schema.additionalProperties !== false) found.push(`${path}: object not closed`);
      for (const [key, child] of Object.entries((schema.properties as Node) ?? {})) {
        found.push(...looseSpots(child as Node, `${path}.${key}`));
      }
      const patterns = Object.entries((schema.patternProperties as Node) ?? {});
      if (patterns.length > 0 && schema.maxProperties === undefined) {
        found.push(`${path}: map without maxProperties`);
      }
      for (const [key, child] of patterns)
        found.push(...looseSpots(child as Node, `${path}[${key}]`));
      break;
    }
    case 'array':
      if (schema.maxItems === undefined) found.push(`${path}: array without maxItems`);
      found.push(...looseSpots(schema.items as Node, `${path}[]`));
      break;
    case 'string': {
      const fixedLength = typeof schema.pattern === 'string' && /\{\d+\}\$$/.test(schema.pattern);
      const bounded =
        schema.maxLength !== undefined ||
        schema.const !== undefined ||
        schema.format === 'date-time' ||
        fixedLength;
      if (!bounded) found.push(`${path}: unbounded string`);
      break;
    }
  }
  return found;
}

describe('event catalogue', () => {
  it('has a fixture for every type and no fixture without a type', () => {
    const files = readdirSync(fixturesDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
    expect(files).toEqual([...types].sort());
  });

  describe.each(types)('%s', (type) => {
    const def = catalogue[type];

    it('is keyed by its own type, lowercase dotted', () => {
      expect(def.type).toBe(type);
      expect(type).toMatch(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/);
    });

    it('names a valid aggregate', () => {
      expect(def.aggregate).toMatch(/^[a-z][a-z0-9-]*$/);
    });

    it('accepts its recorded fixture', () => {
      expect(schemaProblems(def.schema, fixtureOf(type))).toEqual([]);
    });

    it('refuses an unknown top-level property', () => {
      const data = { ...fixtureOf(type), unexpectedField: 'x' };
      expect(schemaProblems(def.schema, data)).not.toEqual([]);
    });

    it('refuses a missing required property', () => {
      const required = (def.schema as { required?: string[] }).required ?? [];
      expect(required.length).toBeGreaterThan(0);
      for (const key of required) {
        const data = fixtureOf(type);
        delete data[key];
        expect(schemaProblems(def.schema, data), `without ${key}`).not.toEqual([]);
      }
    });

    it('is closed and bounded everywhere', () => {
      expect(looseSpots(def.schema as unknown as Node, type)).toEqual([]);
    });

    it('has emitters in the authority table', () => {
      const emitters = AUTHORITY[type];
      expect(emitters).toBeDefined();
      if (emitters === 'every-service') return;
      expect(emitters).toHaveLength(1);
    });
  });

  it('lists no authority for a type outside the catalogue', () => {
    expect(Object.keys(AUTHORITY).sort()).toEqual([...types].sort());
  });
});

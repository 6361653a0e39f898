import { constants } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import {
  canonicalJson,
  keyPathOf,
  loadStrictDocument,
  readDocumentFile,
  sha256Hex,
  summariseProblems,
  type DocumentLimits,
  type DocumentProblem,
} from '@secai/contracts';
import { IntegrityError } from './errors.js';
import { hasGlob, segmentsOf } from './patterns.js';
import { BASELINED_CLASSES, type BaselinedClass, type SeverityName } from './records.js';

// integrity.yaml: strict YAML and a closed schema (the shared loadStrictDocument), and paths
// checked after their variables are expanded. Every problem is reported at once with its key path.

export const CONFIG_FILE_NAME = 'integrity.yaml';
/** The shipped default, next to `src/` and `dist/` alike. */
export const DEFAULT_CONFIG_FILE = fileURLToPath(
  new URL('../policy/integrity.yaml', import.meta.url),
);
export const MAX_CONFIG_BYTES = 64 * 1024;
/** The document nests four levels (classes.<class>.paths[i]); aliases may reuse a path list. */
const LIMITS: DocumentLimits = { maxBytes: MAX_CONFIG_BYTES, maxDepth: 8, maxAliases: 16 };

const Severity = Type.Union([
  Type.Literal('low'),
  Type.Literal('medium'),
  Type.Literal('high'),
  Type.Literal('critical'),
]);
const PathPattern = Type.String({ minLength: 1, maxLength: 4096 });
const PathList = Type.Array(PathPattern, { maxItems: 256 });
const BaselinedClassSchema = Type.Object(
  { severity: Severity, paths: PathList, exclude: PathList },
  { additionalProperties: false },
);

export const IntegrityConfigSchema = Type.Object(
  {
    version: Type.Literal(1),
    scan_interval_seconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
    debounce_ms: Type.Integer({ minimum: 10, maximum: 60_000 }),
    recovery_threshold: Type.Integer({ minimum: 1, maximum: 100_000 }),
    max_reports_per_check: Type.Integer({ minimum: 1, maximum: 10_000 }),
    model_grace_seconds: Type.Number({ minimum: 0, maximum: 3600 }),
    classes: Type.Object(
      {
        service_binary: BaselinedClassSchema,
        policy_file: BaselinedClassSchema,
        systemd_unit: BaselinedClassSchema,
        trust_material: BaselinedClassSchema,
        model_file: Type.Object(
          { severity: Severity, store: PathPattern },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type IntegrityConfigDocument = Static<typeof IntegrityConfigSchema>;

export interface ClassSettings {
  severity: SeverityName;
  /** Absolute path patterns, variables expanded. */
  patterns: string[];
  exclude: string[];
}

/** integrity.yaml, validated and expanded. */
export interface IntegritySettings {
  /** Where it was read from (null for settings built in code, e.g. by tests). */
  file: string | null;
  /** `sha256:` of the canonical expanded settings. */
  digest: string;
  scanIntervalMs: number;
  debounceMs: number;
  recoveryThreshold: number;
  maxReportsPerCheck: number;
  modelGraceMs: number;
  classes: Record<BaselinedClass, ClassSettings>;
  models: { severity: SeverityName; store: string };
}

export interface PathVariables {
  STATE_DIR: string;
  POLICY_DIR: string;
  INSTALL_DIR: string;
}

/** Where the appliance's packages are installed: three levels above this module's directory. */
export const INSTALL_DIR = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

function expand(
  raw: string,
  vars: PathVariables,
  where: string,
  problems: DocumentProblem[],
): string | null {
  const refuse = (code: string, message: string): null => {
    problems.push({ path: where, code, message });
    return null;
  };
  const unknown: string[] = [];
  const text = raw.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
    if (name === 'STATE_DIR' || name === 'POLICY_DIR' || name === 'INSTALL_DIR') return vars[name];
    unknown.push(name);
    return '';
  });
  if (unknown.length > 0)
    return refuse(
      'PATH_VARIABLE_UNKNOWN',
      `unknown variable ${unknown.map((n) => `\${${n}}`).join(', ')} (known: STATE_DIR, POLICY_DIR, INSTALL_DIR)`,
    );
  if (text.includes('$'))
    return refuse('PATH_INVALID', 'a lone "$" (variables are written ${NAME})');
  if (!text.startsWith('/'))
    return refuse('PATH_NOT_ABSOLUTE', `${JSON.stringify(text)} is not an absolute path`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text))
    return refuse('PATH_INVALID', 'control characters are not allowed in paths');
  const segments = segmentsOf(text);
  if (segments.some((s) => s === '.' || s === '..'))
    return refuse('PATH_INVALID', '"." and ".." segments are not allowed');
  if (segments.some((s) => s.includes('**')))
    return refuse(
      'PATH_INVALID',
      '"**" is not supported (a pattern\'s matches are walked recursively)',
    );
  if (segments.length === 0 || (segments.length === 1 && hasGlob(segments[0]!)))
    return refuse('PATH_TOO_BROAD', `${JSON.stringify(text)} would cover the whole file system`);
  return posix.normalize(`/${segments.join('/')}`);
}

/**
 * Parses integrity.yaml text into settings. Pure (no I/O); throws `IntegrityError`
 * `CONFIG_INVALID` listing every problem (the shared `{ path, code, message }`).
 */
export function parseSettings(
  text: string,
  vars: PathVariables,
  file: string | null = null,
): IntegritySettings {
  const fail = (problems: DocumentProblem[]): never => {
    throw new IntegrityError(
      'CONFIG_INVALID',
      `${file ?? CONFIG_FILE_NAME} is invalid: ${summariseProblems(problems, 20)}`,
      { problems },
    );
  };
  const loaded = loadStrictDocument(text, IntegrityConfigSchema, LIMITS);
  if (!loaded.ok) return fail(loaded.problems);
  const c = loaded.value;
  const problems: DocumentProblem[] = [];
  const expandList = (list: readonly string[], where: string) =>
    list
      .map((p, i) => expand(p, vars, keyPathOf(where, i), problems))
      .filter((p): p is string => p !== null);
  const classes = {} as Record<BaselinedClass, ClassSettings>;
  for (const name of BASELINED_CLASSES) {
    const k = c.classes[name];
    classes[name] = {
      severity: k.severity,
      patterns: [...new Set(expandList(k.paths, `classes.${name}.paths`))],
      exclude: [...new Set(expandList(k.exclude, `classes.${name}.exclude`))],
    };
  }
  const storePath = 'classes.model_file.store';
  const store = expand(c.classes.model_file.store, vars, storePath, problems);
  if (store !== null && segmentsOf(store).some(hasGlob))
    problems.push({
      path: storePath,
      code: 'PATH_INVALID',
      message: 'the model store is one directory, not a pattern',
    });
  if (problems.length > 0) fail(problems);
  const settings: Omit<IntegritySettings, 'digest'> = {
    file,
    scanIntervalMs: c.scan_interval_seconds * 1000,
    debounceMs: c.debounce_ms,
    recoveryThreshold: c.recovery_threshold,
    maxReportsPerCheck: c.max_reports_per_check,
    modelGraceMs: Math.round(c.model_grace_seconds * 1000),
    classes,
    models: { severity: c.classes.model_file.severity, store: store! },
  };
  return { ...settings, digest: `sha256:${sha256Hex(canonicalJson({ ...settings, file: null }))}` };
}

/** Reads `<policyDir>/integrity.yaml` (at most `MAX_CONFIG_BYTES`, never through a link). */
export async function loadSettings(
  policyDir: string,
  vars: Omit<PathVariables, 'POLICY_DIR'>,
): Promise<IntegritySettings> {
  const file = join(policyDir, CONFIG_FILE_NAME);
  const read = await readDocumentFile(file, { maxBytes: MAX_CONFIG_BYTES });
  if (!read.ok) {
    throw new IntegrityError(
      'CONFIG_INVALID',
      `${file} cannot be read: ${summariseProblems(read.problems)}`,
      { problems: read.problems },
    );
  }
  return parseSettings(read.value, { ...vars, POLICY_DIR: policyDir }, file);
}

/**
 * Puts the shipped default at `<policyDir>/integrity.yaml` unless a file is there (never
 * overwritten). The directory is shared with the other services' policy files; each service
 * installs only its own default, so whichever starts first may create it (0700).
 */
export async function ensureConfigFile(policyDir: string): Promise<'created' | 'exists'> {
  await mkdir(policyDir, { recursive: true, mode: 0o700 });
  try {
    await copyFile(DEFAULT_CONFIG_FILE, join(policyDir, CONFIG_FILE_NAME), constants.COPYFILE_EXCL);
    return 'created';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    throw err;
  }
}

import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from './error.js';

// One reader for every service's environment: each variable declared once with its kind, range
// and default, read once at start, and a bad value refused with a ConfigError that names it. An
// empty value counts as unset (`VAR=` in a unit file means "use the default").

/** How to read one variable; `T` is what the config gets. Build with the `env*` functions. */
export interface EnvVar<T> {
  /** Turns the raw value (undefined when unset or empty) into `T`, or throws `ConfigError`. */
  readonly read: (variable: string, raw: string | undefined) => T;
}

export type EnvValues<S extends Record<string, EnvVar<unknown>>> = {
  readonly [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never;
};

/**
 * Reads every variable of `spec` from `env` (keyed by the variable's name). Throws the
 * `ConfigError` of the first variable refused, in the order of `spec`.
 *
 * @example
 * const v = readEnv(process.env, {
 *   SECAI_STATE_DIR: envPath({ required: true }),
 *   SECAI_HTTP_PORT: envInteger({ min: 1, max: 65535, default: 8500 }),
 * });
 */
export function readEnv<S extends Record<string, EnvVar<unknown>>>(
  env: Readonly<Record<string, string | undefined>>,
  spec: S,
): EnvValues<S> {
  const out: Record<string, unknown> = {};
  for (const [variable, reader] of Object.entries(spec)) {
    const raw = env[variable];
    out[variable] = reader.read(variable, raw === '' ? undefined : raw);
  }
  return out as EnvValues<S>;
}

interface Presence<T> {
  /** Used when the variable is unset or empty. */
  default?: T;
  /** Unset is a `CONFIG_MISSING` error (ignored when a default is given). */
  required?: boolean;
}

function unset<T>(variable: string, opts: Presence<T>, requirement: string): T | undefined {
  if (opts.default !== undefined) return opts.default;
  if (opts.required === true)
    throw new ConfigError('CONFIG_MISSING', variable, undefined, requirement);
  return undefined;
}

export interface StringRules {
  /** The whole value must match. */
  pattern?: RegExp;
  /** At most this many characters (default 4096). */
  maxLength?: number;
  /** What the value must look like, for the message ("a persistent handle 0x81xxxxxx"). */
  expected?: string;
}

/** A string; control characters are always refused. */
export function envString(
  opts: StringRules & Presence<string> & { default: string },
): EnvVar<string>;
export function envString(
  opts: StringRules & Presence<string> & { required: true },
): EnvVar<string>;
export function envString(opts?: StringRules & Presence<string>): EnvVar<string | undefined>;
export function envString(opts: StringRules & Presence<string> = {}): EnvVar<string | undefined> {
  const maxLength = opts.maxLength ?? 4096;
  const requirement =
    opts.expected ??
    (opts.pattern === undefined
      ? `a string of at most ${maxLength} characters`
      : `a string matching ${opts.pattern.source}`);
  return {
    read(variable, raw) {
      if (raw === undefined) return unset(variable, opts, requirement);
      const ok =
        raw.length <= maxLength &&
        !hasControl(raw) &&
        (opts.pattern === undefined || wholeMatch(opts.pattern, raw));
      if (!ok) throw new ConfigError('CONFIG_INVALID', variable, raw, requirement);
      return raw;
    },
  };
}

export interface IntegerRules {
  min: number;
  max: number;
}

/** A decimal integer in `min..max` (no sign unless `min` is negative, no exponent, no blanks). */
export function envInteger(
  opts: IntegerRules & Presence<number> & { default: number },
): EnvVar<number>;
export function envInteger(
  opts: IntegerRules & Presence<number> & { required: true },
): EnvVar<number>;
export function envInteger(opts: IntegerRules & Presence<number>): EnvVar<number | undefined>;
export function envInteger(opts: IntegerRules & Presence<number>): EnvVar<number | undefined> {
  const requirement = `an integer in ${opts.min}..${opts.max}`;
  const digits = opts.min < 0 ? /^-?[0-9]+$/u : /^[0-9]+$/u;
  return {
    read(variable, raw) {
      if (raw === undefined) return unset(variable, opts, requirement);
      const value = Number(raw);
      if (
        !digits.test(raw) ||
        !Number.isSafeInteger(value) ||
        value < opts.min ||
        value > opts.max
      ) {
        throw new ConfigError('CONFIG_INVALID', variable, raw, requirement);
      }
      return value;
    },
  };
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** `1/true/yes/on` or `0/false/no/off`, in any case. */
export function envBoolean(opts: Presence<boolean> & { default: boolean }): EnvVar<boolean>;
export function envBoolean(opts: Presence<boolean> & { required: true }): EnvVar<boolean>;
export function envBoolean(opts?: Presence<boolean>): EnvVar<boolean | undefined>;
export function envBoolean(opts: Presence<boolean> = {}): EnvVar<boolean | undefined> {
  const requirement = 'a boolean (true/false, 1/0, yes/no, on/off)';
  return {
    read(variable, raw) {
      if (raw === undefined) return unset(variable, opts, requirement);
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      throw new ConfigError('CONFIG_INVALID', variable, raw, requirement);
    },
  };
}

/** One of `values`, exactly (case-sensitive). */
export function envEnum<const T extends string>(
  values: readonly T[],
  opts: Presence<T> & { default: T },
): EnvVar<T>;
export function envEnum<const T extends string>(
  values: readonly T[],
  opts: Presence<T> & { required: true },
): EnvVar<T>;
export function envEnum<const T extends string>(
  values: readonly T[],
  opts?: Presence<T>,
): EnvVar<T | undefined>;
export function envEnum<const T extends string>(
  values: readonly T[],
  opts: Presence<T> = {},
): EnvVar<T | undefined> {
  const requirement = `one of ${values.join(', ')}`;
  return {
    read(variable, raw) {
      if (raw === undefined) return unset(variable, opts, requirement);
      if (!(values as readonly string[]).includes(raw)) {
        throw new ConfigError('CONFIG_INVALID', variable, raw, requirement);
      }
      return raw as T;
    },
  };
}

/**
 * A file system path, made absolute against the working directory (a relative path in a unit
 * file would otherwise mean something else to every child process). NUL and control characters
 * are refused. A default is used as given.
 */
export function envPath(opts: Presence<string> & { default: string }): EnvVar<string>;
export function envPath(opts: Presence<string> & { required: true }): EnvVar<string>;
export function envPath(opts?: Presence<string>): EnvVar<string | undefined>;
export function envPath(opts: Presence<string> = {}): EnvVar<string | undefined> {
  const requirement = 'a file system path without control characters';
  return {
    read(variable, raw) {
      if (raw === undefined) return unset(variable, opts, requirement);
      if (hasControl(raw) || raw.length > 4096) {
        throw new ConfigError('CONFIG_INVALID', variable, raw, requirement);
      }
      return isAbsolute(raw) ? raw : resolve(raw);
    },
  };
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function wholeMatch(pattern: RegExp, s: string): boolean {
  // A fresh, anchored copy: a caller's /g flag or missing anchors must not loosen the check.
  const flags = pattern.flags.replace(/[gy]/gu, '');
  return new RegExp(`^(?:${pattern.source})$`, flags).test(s);
}

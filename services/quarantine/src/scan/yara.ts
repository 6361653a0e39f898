// YARA through the real `yara` binary (issue 4 §3.5, reference §2.7). The shipped rules
// (rules/secai.yar) have no size cut-off: the reference's `filesize < 500MB` precondition meant its
// rules never ran on real models; ours scan every byte of every file. `--fast-scan` is NOT used
// (it stops at the first match of each string, which would hide later occurrences but not change a
// verdict; we keep full matching because the rules are cheap, ~0.5 s per 200 MB of random bytes).
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shipped rules; resolves from both src/scan/ and dist/scan/. */
export const DEFAULT_YARA_RULES_PATH = fileURLToPath(
  new URL('../../rules/secai.yar', import.meta.url),
);

export interface YaraStringMatch {
  offset: number;
  identifier: string;
  /** As printed by yara (non-printable bytes escaped), at most 256 characters. */
  data: string;
}

export interface YaraMatch {
  rule: string;
  tags: string[];
  /** The file the rule matched (the target itself, or a file below it for a directory). */
  file: string;
  strings?: YaraStringMatch[];
}

export type YaraFailureReason = 'yara_missing' | 'yara_failed' | 'timeout' | 'rules_invalid';

export type YaraResult =
  | { ok: true; matches: YaraMatch[]; binary: string; version: string; rulesPath: string }
  | { ok: false; reason: YaraFailureReason; detail: string };

export interface RunYaraOptions {
  /** Default: the shipped rules (DEFAULT_YARA_RULES_PATH). */
  rulesPath?: string;
  /** Default 120,000 ms (the reference's YARA_SCAN_TIMEOUT). */
  timeoutMs?: number;
  /** Default 'yara' from PATH. */
  yaraBinary?: string;
  /** Strings kept per matched rule (default 20). */
  maxStringsPerMatch?: number;
  /** Bound on yara's stdout (default 16 MiB); more is a `yara_failed`. */
  maxOutputBytes?: number;
}

interface ExecOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
  overflow: boolean;
}

function run(
  binary: string,
  args: string[],
  timeoutMs: number,
  maxBuffer: number,
): Promise<ExecOutcome> {
  return new Promise((resolve) => {
    execFile(
      binary,
      args,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, signal: null, stdout, stderr, timedOut: false, overflow: false });
          return;
        }
        const e = error as NodeJS.ErrnoException & {
          code?: number | string;
          killed?: boolean;
          signal?: NodeJS.Signals | null;
        };
        const overflow = e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
        const spawnError = typeof e.code === 'string' && !overflow ? e : undefined;
        resolve({
          code: typeof e.code === 'number' ? e.code : null,
          signal: e.signal ?? null,
          stdout,
          stderr,
          ...(spawnError !== undefined ? { spawnError } : {}),
          timedOut: e.killed === true && !overflow && e.signal === 'SIGKILL',
          overflow,
        });
      },
    );
  });
}

const versionCache = new Map<string, string>();

const RULE_LINE = /^([A-Za-z_][A-Za-z0-9_]*) \[([A-Za-z0-9_,]*)\] (.+)$/;
const STRING_LINE = /^0x([0-9a-f]+):(\$[A-Za-z0-9_]*): ?(.*)$/;

/** Strict parser of `yara -g -s` output; throws on any line it does not understand. */
export function parseYaraOutput(stdout: string, maxStringsPerMatch = 20): YaraMatch[] {
  const matches: YaraMatch[] = [];
  let current: YaraMatch | undefined;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const r = RULE_LINE.exec(line);
    if (r !== null) {
      const [, rule = '', tags = '', file = ''] = r;
      current = { rule, tags: tags === '' ? [] : tags.split(','), file, strings: [] };
      matches.push(current);
      continue;
    }
    const s = STRING_LINE.exec(line);
    if (s !== null && current !== undefined) {
      const [, hex = '0', identifier = '', data = ''] = s;
      const strings = current.strings ?? [];
      if (strings.length < maxStringsPerMatch) {
        strings.push({ offset: Number.parseInt(hex, 16), identifier, data: data.slice(0, 256) });
      }
      current.strings = strings;
      continue;
    }
    throw new Error(`unexpected yara output line: ${JSON.stringify(line.slice(0, 200))}`);
  }
  return matches;
}

/**
 * Runs `yara -g -s -w -p 1 [-r -N] <rules> <target>`. Never throws. A directory target is scanned
 * recursively without following symlinks. No size limit of any kind is applied.
 */
export async function runYara(
  targetPath: string,
  options: RunYaraOptions = {},
): Promise<YaraResult> {
  const binary = options.yaraBinary ?? 'yara';
  // Absolute paths: yara 4.2 has no `--`, and an absolute path can never be read as an option.
  const rulesPath = resolve(options.rulesPath ?? DEFAULT_YARA_RULES_PATH);
  const target = resolve(targetPath);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxOutput = options.maxOutputBytes ?? 16 * 1024 * 1024;

  try {
    const st = await stat(rulesPath);
    if (!st.isFile())
      return { ok: false, reason: 'rules_invalid', detail: `${rulesPath} is not a file` };
  } catch (err) {
    return { ok: false, reason: 'rules_invalid', detail: `cannot read rules: ${String(err)}` };
  }
  let isDir: boolean;
  try {
    isDir = (await stat(target)).isDirectory();
  } catch (err) {
    return { ok: false, reason: 'yara_failed', detail: `cannot stat target: ${String(err)}` };
  }

  const args = ['-g', '-s', '-w', '-p', '1', ...(isDir ? ['-r', '-N'] : []), rulesPath, target];
  // The version is asked beside the scan, not before it: the scan is the longest part of the
  // static scan stage, and a stage worker is a fresh process (the cache is always empty there).
  const asked = versionCache.get(binary) ?? run(binary, ['--version'], 10_000, 64 * 1024);
  const scanRun = run(binary, args, timeoutMs, maxOutput);
  let version: string;
  if (typeof asked === 'string') version = asked;
  else {
    const v = await asked;
    if (v.spawnError?.code === 'ENOENT' || v.spawnError?.code === 'EACCES') {
      await scanRun;
      return { ok: false, reason: 'yara_missing', detail: `${binary}: ${v.spawnError.code}` };
    }
    const text = v.stdout.trim();
    if (v.code !== 0 || !/^\d+\.\d+\.\d+/.test(text)) {
      await scanRun;
      return {
        ok: false,
        reason: 'yara_failed',
        detail: `${binary} --version: ${(text || v.stderr).slice(0, 200)}`,
      };
    }
    version = text;
    versionCache.set(binary, version);
  }
  const out = await scanRun;
  if (out.spawnError?.code === 'ENOENT') {
    return { ok: false, reason: 'yara_missing', detail: `${binary}: ENOENT` };
  }
  if (out.timedOut)
    return { ok: false, reason: 'timeout', detail: `yara exceeded ${timeoutMs} ms` };
  if (out.overflow) {
    return { ok: false, reason: 'yara_failed', detail: `yara output exceeded ${maxOutput} bytes` };
  }
  const stderr = out.stderr.trim();
  if (out.code !== 0 || out.signal !== null || out.spawnError !== undefined) {
    const compileError =
      stderr.includes(`${rulesPath}(`) || stderr.includes(`could not open file: ${rulesPath}`);
    return {
      ok: false,
      reason: compileError ? 'rules_invalid' : 'yara_failed',
      detail: (stderr || `exit ${String(out.code ?? out.signal)}`).slice(0, 2000),
    };
  }
  // yara exits 0 even when it could not open a file below a directory: treat as a failure.
  if (stderr !== '') return { ok: false, reason: 'yara_failed', detail: stderr.slice(0, 2000) };
  try {
    const matches = parseYaraOutput(out.stdout, options.maxStringsPerMatch ?? 20);
    return { ok: true, matches, binary, version, rulesPath };
  } catch (err) {
    return { ok: false, reason: 'yara_failed', detail: (err as Error).message };
  }
}

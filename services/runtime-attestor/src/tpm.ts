import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckFailure, TpmFacts } from './decider.js';
import { parsePcrListing } from './quote.js';

// The edge to the TPM: tpm2-tools 5.x, one process per command, argv arrays only (never a
// shell), a clean environment (the TCTI travels in TPM2TOOLS_TCTI), a timeout and an output cap
// on each command, and a private temporary directory per operation that is always removed.

/** The persistent handle of the attestation key (owner hierarchy, TCG "platform AK" range). */
export const DEFAULT_AK_HANDLE = '0x81010020';
/** Per command, as the reference: a TPM that does not answer in 5 s is not going to. */
export const TPM_COMMAND_TIMEOUT_MS = 5000;
/** Output cap per command (stdout and stderr each). */
export const TPM_OUTPUT_LIMIT = 1024 * 1024;
const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_SIGNATURE_BYTES = 64 * 1024;
const MAX_PCRS_BYTES = 256 * 1024;
const MAX_PEM_BYTES = 64 * 1024;
/** New transient objects an enrolment may create (EK, AK, the reload for evictcontrol…). */
const MAX_NEW_CONTEXTS = 8;

/** The Debian 12 packages the attestor needs; said by every "not installed" error. */
export const TPM_PACKAGES = ['tpm2-tools', 'libtss2-tcti-swtpm0', 'swtpm', 'swtpm-tools'] as const;
export const TPM_INSTALL_HINT = `install them with: apt-get install -y ${TPM_PACKAGES.join(' ')}`;

export type TpmErrorCode =
  | 'TPM_TOOLS_MISSING'
  | 'TPM_UNREACHABLE'
  | 'TPM_HANDLE_EMPTY'
  | 'TPM_COMMAND_FAILED'
  | 'TPM_TIMEOUT'
  | 'TPM_OUTPUT_INVALID'
  | 'AK_HANDLE_OCCUPIED';

export class TpmError extends Error {
  constructor(
    readonly code: TpmErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TpmError';
  }
}

/** Where the TPM is: a TCTI string for tpm2-tools and what kind of transport it names. */
export interface TpmTarget {
  tcti: string;
  transport: Exclude<TpmFacts['transport'], null>;
}

export function transportOf(tcti: string): TpmTarget['transport'] {
  const name = tcti.split(':', 1)[0]!.toLowerCase();
  if (name === 'device') return 'device';
  if (name === 'swtpm') return 'swtpm';
  if (name === 'mssim') return 'mssim';
  return 'other';
}

/**
 * The TPM to use: `SECAI_TPM_TCTI` when set (`none` forces software mode), else the kernel
 * resource manager `/dev/tpmrm0` when it exists, else none (software mode).
 */
export async function resolveTpm(
  configured: string | null,
  devicePath = '/dev/tpmrm0',
): Promise<TpmTarget | null> {
  if (configured !== null) {
    if (configured === 'none') return null;
    return { tcti: configured, transport: transportOf(configured) };
  }
  try {
    await access(devicePath, fsConstants.F_OK);
    return { tcti: `device:${devicePath}`, transport: 'device' };
  } catch {
    return null;
  }
}

/** The CPU's `hypervisor` flag (x86): a VM's TPM is never evidence of hardware. */
export async function runsUnderHypervisor(cpuinfo = '/proc/cpuinfo'): Promise<boolean> {
  try {
    return /^flags\s*:.*\bhypervisor\b/m.test(await readFile(cpuinfo, 'utf8'));
  } catch {
    return false;
  }
}

const SECURE_BOOT_EFIVAR =
  '/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c';

/** UEFI Secure Boot (byte 4 of the efivar = 1); null when there is no such variable. */
export async function readSecureBoot(path = SECURE_BOOT_EFIVAR): Promise<boolean | null> {
  try {
    const bytes = await readFile(path);
    return bytes.length >= 5 ? bytes[4] === 1 : null;
  } catch {
    return null;
  }
}

/** The quote artifacts of `tpm2_quote`: message (TPMS_ATTEST), signature, PCR values. */
export interface QuoteArtifacts {
  message: Uint8Array;
  signature: Uint8Array;
  pcrs: Uint8Array;
}

export interface CheckResult {
  ok: boolean;
  failure: CheckFailure | null;
  detail: string;
  /** SHA-256 values checkquote listed (only meaningful when `ok`). */
  pcrValues: { index: number; value: string }[];
}

/**
 * What the attestor needs from a TPM. `Tpm2Tools` is the real one; a test may wrap it to tamper
 * with what crosses the edge (a nonce, a quote) and prove the checks catch it.
 */
export interface TpmPort {
  /** `TPM2_PT_MANUFACTURER` (`IBM`, `IFX`…). */
  manufacturer(): Promise<string | null>;
  persistentHandles(): Promise<string[]>;
  /** PEM of the public key at a persistent handle; `TPM_HANDLE_EMPTY` when nothing is there. */
  readPublicPem(handle: string): Promise<string>;
  /** Creates an EK and an AK under it, persists the AK at `handle`; returns its public PEM. */
  createAttestationKey(handle: string): Promise<string>;
  /** Evicts the key at `handle` (only to undo an enrolment that could not complete). */
  removeAttestationKey(handle: string): Promise<void>;
  quote(handle: string, pcrs: readonly number[], nonceHex: string): Promise<QuoteArtifacts>;
  checkQuote(akPublicPem: string, quote: QuoteArtifacts, nonceHex: string): Promise<CheckResult>;
}

export interface Tpm2ToolsOptions {
  tcti: string;
  timeoutMs?: number;
  /** Parent of the per-operation temporary directories (default: the OS temp dir). */
  tmpRoot?: string;
}

interface Run {
  stdout: string;
  stderr: string;
}

/** The informative part of tpm2-tools' stderr: its ERROR lines without the source locations. */
export function errorSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('ERROR'))
    .map((l) => l.replace(/^ERROR:(?:[a-z]+:[^ ]+\(\) )?/, '').trim())
    .filter((l) => l !== '' && !/^Unable to run tpm2_/.test(l));
  return (lines.length > 0 ? lines : [stderr.trim() || 'no output'])
    .filter((l, i, all) => all.indexOf(l) === i)
    .join('; ')
    .slice(0, 400);
}

function classify(tool: string, stderr: string): TpmError {
  const summary = errorSummary(stderr);
  if (
    /Could not load tcti|Failed to instantiate TCTI|Cannot connect|Failed to open specified TCTI/i.test(
      stderr,
    )
  )
    return new TpmError('TPM_UNREACHABLE', `${tool}: the TPM does not answer: ${summary}`);
  if (/\(0x18b\)|0x0000018b|handle is not correct/i.test(stderr))
    return new TpmError('TPM_HANDLE_EMPTY', `${tool}: ${summary}`);
  return new TpmError('TPM_COMMAND_FAILED', `${tool}: ${summary}`);
}

async function readArtifact(path: string, max: number, what: string): Promise<Uint8Array> {
  const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size === 0 || stat.size > max)
      throw new TpmError(
        'TPM_OUTPUT_INVALID',
        `${what} is not a regular file of 1..${max} bytes (${stat.size} bytes)`,
      );
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** tpm2-tools 5.x through any TCTI (`device:/dev/tpmrm0`, `swtpm:host=…,port=…`). */
export class Tpm2Tools implements TpmPort {
  readonly tcti: string;
  readonly #timeoutMs: number;
  readonly #tmpRoot: string;

  constructor(options: Tpm2ToolsOptions) {
    this.tcti = options.tcti;
    this.#timeoutMs = options.timeoutMs ?? TPM_COMMAND_TIMEOUT_MS;
    this.#tmpRoot = options.tmpRoot ?? tmpdir();
  }

  /** Runs one tool; a non-zero exit is a classified `TpmError`. */
  run(tool: string, args: readonly string[], cwd?: string): Promise<Run> {
    return new Promise((resolvePromise, reject) => {
      execFile(
        tool,
        [...args],
        {
          cwd,
          env: {
            PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
            LANG: 'C',
            TPM2TOOLS_TCTI: this.tcti,
          },
          timeout: this.#timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: TPM_OUTPUT_LIMIT,
          encoding: 'utf8',
          shell: false,
          windowsHide: true,
        },
        (err, stdout, stderr) => {
          if (!err) return resolvePromise({ stdout, stderr });
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
          if (e.code === 'ENOENT')
            return reject(
              new TpmError('TPM_TOOLS_MISSING', `${tool} is not installed; ${TPM_INSTALL_HINT}`, {
                cause: err,
              }),
            );
          // Node kills a child that overflows maxBuffer too: tell that apart from a timeout.
          if ((e.code as unknown) === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
            return reject(new TpmError('TPM_OUTPUT_INVALID', `${tool} wrote too much output`));
          if (e.killed || e.signal === 'SIGKILL')
            return reject(
              new TpmError('TPM_TIMEOUT', `${tool} did not finish in ${this.#timeoutMs} ms`, {
                cause: err,
              }),
            );
          reject(classify(tool, stderr));
        },
      );
    });
  }

  /** Runs `fn` in a fresh private directory (0700) that is removed afterwards, whatever happens. */
  async #inTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.#tmpRoot, 'secai-tpm-'));
    try {
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async manufacturer(): Promise<string | null> {
    const { stdout } = await this.run('tpm2_getcap', ['properties-fixed']);
    const m = /TPM2_PT_MANUFACTURER:\s*\n\s*raw:[^\n]*\n\s*value:\s*"([^"]*)"/.exec(stdout);
    return m ? m[1]!.trim() : null;
  }

  async #handles(kind: 'handles-persistent' | 'handles-transient'): Promise<string[]> {
    const { stdout } = await this.run('tpm2_getcap', [kind]);
    return [...stdout.matchAll(/^-\s*(0x[0-9a-fA-F]{8})\s*$/gm)].map((m) => m[1]!.toLowerCase());
  }

  persistentHandles(): Promise<string[]> {
    return this.#handles('handles-persistent');
  }

  transientHandles(): Promise<string[]> {
    return this.#handles('handles-transient');
  }

  readPublicPem(handle: string): Promise<string> {
    return this.#inTemp(async (dir) => {
      const out = join(dir, 'ak.pem');
      await this.run('tpm2_readpublic', ['-c', handle, '-f', 'pem', '-o', out]);
      return Buffer.from(await readArtifact(out, MAX_PEM_BYTES, 'public key')).toString('utf8');
    });
  }

  /**
   * Flushes the transient objects created since `before` (never `-t`: another user's objects on a
   * TPM without a resource manager must survive). With /dev/tpmrm0 there is nothing to flush.
   */
  async #flushNew(before: ReadonlySet<string>): Promise<void> {
    const created = (await this.transientHandles()).filter((h) => !before.has(h));
    if (created.length > MAX_NEW_CONTEXTS)
      throw new TpmError(
        'TPM_COMMAND_FAILED',
        `${created.length} new transient objects appeared during enrolment; refusing to flush them`,
      );
    for (const h of created) await this.run('tpm2_flushcontext', [h]).catch(() => undefined);
  }

  createAttestationKey(handle: string): Promise<string> {
    return this.#inTemp(async (dir) => {
      if ((await this.persistentHandles()).includes(handle.toLowerCase()))
        throw new TpmError(
          'AK_HANDLE_OCCUPIED',
          `persistent handle ${handle} is already in use and no enrolment of this appliance names it; free it (tpm2_evictcontrol -C o -c ${handle}) or choose another with SECAI_TPM_AK_HANDLE`,
        );
      const before = new Set(await this.transientHandles());
      let persisted = false;
      try {
        await this.run('tpm2_createek', ['-c', 'ek.ctx', '-G', 'ecc', '-u', 'ek.pub'], dir);
        await this.run(
          'tpm2_createak',
          [
            ['-C', 'ek.ctx'],
            ['-c', 'ak.ctx'],
            ['-G', 'ecc'],
            ['-g', 'sha256'],
            ['-s', 'ecdsa'],
            ['-f', 'pem'],
            ['-u', 'ak.pem'],
            ['-n', 'ak.name'],
            ['-r', 'ak.priv'],
          ].flat(),
          dir,
        );
        await this.#flushNew(before);
        await this.run('tpm2_evictcontrol', ['-C', 'o', '-c', 'ak.ctx', handle], dir);
        persisted = true;
        await this.#flushNew(before);
        const created = Buffer.from(
          await readArtifact(join(dir, 'ak.pem'), MAX_PEM_BYTES, 'created AK'),
        ).toString('utf8');
        const stored = await this.readPublicPem(handle);
        if (created.trim() !== stored.trim())
          throw new TpmError(
            'TPM_OUTPUT_INVALID',
            `the key persisted at ${handle} is not the key just created`,
          );
        return stored;
      } catch (err) {
        await this.#flushNew(before).catch(() => undefined);
        // Leave no half-enrolled key behind: the next attempt would find the handle occupied.
        if (persisted) await this.removeAttestationKey(handle).catch(() => undefined);
        throw err;
      }
    });
  }

  async removeAttestationKey(handle: string): Promise<void> {
    await this.run('tpm2_evictcontrol', ['-C', 'o', '-c', handle]);
  }

  quote(handle: string, pcrs: readonly number[], nonceHex: string): Promise<QuoteArtifacts> {
    if (!/^[0-9a-f]{64}$/.test(nonceHex))
      return Promise.reject(
        new TpmError('TPM_COMMAND_FAILED', 'the nonce must be 64 lowercase hex'),
      );
    return this.#inTemp(async (dir) => {
      await this.run(
        'tpm2_quote',
        [
          ['-c', handle],
          ['-l', `sha256:${[...pcrs].sort((a, b) => a - b).join(',')}`],
          ['-q', nonceHex],
          ['-m', 'quote.msg'],
          ['-s', 'quote.sig'],
          ['-o', 'quote.pcrs'],
          ['-g', 'sha256'],
        ].flat(),
        dir,
      );
      return {
        message: await readArtifact(join(dir, 'quote.msg'), MAX_MESSAGE_BYTES, 'quote message'),
        signature: await readArtifact(join(dir, 'quote.sig'), MAX_SIGNATURE_BYTES, 'signature'),
        pcrs: await readArtifact(join(dir, 'quote.pcrs'), MAX_PCRS_BYTES, 'quoted PCRs'),
      };
    });
  }

  checkQuote(akPublicPem: string, quote: QuoteArtifacts, nonceHex: string): Promise<CheckResult> {
    return this.#inTemp(async (dir) => {
      await writeFile(join(dir, 'ak.pem'), akPublicPem, { mode: 0o600 });
      await writeFile(join(dir, 'quote.msg'), quote.message, { mode: 0o600 });
      await writeFile(join(dir, 'quote.sig'), quote.signature, { mode: 0o600 });
      await writeFile(join(dir, 'quote.pcrs'), quote.pcrs, { mode: 0o600 });
      const args = [
        ['-u', 'ak.pem'],
        ['-m', 'quote.msg'],
        ['-s', 'quote.sig'],
        ['-f', 'quote.pcrs'],
        ['-g', 'sha256'],
        ['-q', nonceHex],
      ].flat();
      try {
        const { stdout } = await this.run('tpm2_checkquote', args, dir);
        const values = parsePcrListing(stdout);
        return {
          ok: true,
          failure: null,
          detail: 'signature, nonce and PCR digest verified by tpm2_checkquote',
          pcrValues: [...values].map(([index, value]) => ({ index, value })),
        };
      } catch (err) {
        if (!(err instanceof TpmError) || err.code !== 'TPM_COMMAND_FAILED') throw err;
        const msg = err.message;
        const failure: CheckFailure = /nonce/i.test(msg)
          ? 'nonce'
          : /PCR values failed to match|PCR composite/i.test(msg)
            ? 'pcr_digest'
            : /signature|signed message|public key/i.test(msg)
              ? 'signature'
              : 'other';
        return { ok: false, failure, detail: msg.slice(0, 400), pcrValues: [] };
      }
    });
  }
}

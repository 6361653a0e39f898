import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { TPM_INSTALL_HINT, Tpm2Tools } from './tpm.js';

// A private software TPM (swtpm 0.7, Debian 12) for development, tests and the benchmark: its own
// state directory, a loopback port pair (the swtpm TCTI expects control on port + 1), and the
// TPM started by swtpm itself (`--flags startup-clear`, after the TCTI's INIT on the control
// channel). Never used by the service on its own: it only follows SECAI_TPM_TCTI.

/** The binaries the attestor and its tests need. */
export const TPM_TOOLS = [
  'swtpm',
  'tpm2_getcap',
  'tpm2_createek',
  'tpm2_createak',
  'tpm2_evictcontrol',
  'tpm2_flushcontext',
  'tpm2_readpublic',
  'tpm2_quote',
  'tpm2_checkquote',
  'tpm2_pcrextend',
] as const;

async function onPath(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/** Which of `TPM_TOOLS` are missing (empty: everything is installed). */
export async function missingTpmTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of TPM_TOOLS) if (!(await onPath(tool))) missing.push(tool);
  return missing;
}

/** Says what is missing and which Debian packages provide it. */
export function missingToolsMessage(missing: readonly string[]): string {
  return `missing ${missing.join(', ')}: ${TPM_INSTALL_HINT}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Two consecutive free loopback ports. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await freePort();
    if (port < 65535 && (await portIsFree(port + 1))) return port;
  }
  throw new Error('no two consecutive free loopback ports');
}

export interface Swtpm {
  /** For SECAI_TPM_TCTI / tpm2-tools. */
  tcti: string;
  port: number;
  dir: string;
  /** Extends a SHA-256 PCR (what a boot component would do: used to simulate a changed boot). */
  extendPcr(index: number, digestHex: string): Promise<void>;
  /** Stops swtpm and removes its state (unless the caller gave the directory). */
  stop(): Promise<void>;
}

export interface SwtpmOptions {
  /** Keep the TPM state here (a restart with the same dir keeps keys and NV). */
  stateDir?: string;
  /** How long to wait for the TPM to answer. */
  readyTimeoutMs?: number;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts `swtpm socket --tpm2` and waits until tpm2-tools get an answer from it. */
export async function startSwtpm(options: SwtpmOptions = {}): Promise<Swtpm> {
  const missing = await missingTpmTools();
  if (missing.length > 0) throw new Error(missingToolsMessage(missing));
  const own = options.stateDir === undefined;
  const dir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'secai-swtpm-')));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePortPair();
    const child = spawn(
      'swtpm',
      [
        'socket',
        '--tpm2',
        '--tpmstate',
        `dir=${dir}`,
        '--server',
        `type=tcp,port=${port},bindaddr=127.0.0.1`,
        '--ctrl',
        `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
        '--flags',
        'startup-clear',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], shell: false },
    );
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-2000);
    });
    const tcti = `swtpm:host=127.0.0.1,port=${port}`;
    const tools = new Tpm2Tools({ tcti, timeoutMs: 2000 });
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        await tools.run('tpm2_getcap', ['properties-fixed']);
        return {
          tcti,
          port,
          dir,
          extendPcr: async (index, digestHex) => {
            await tools.run('tpm2_pcrextend', [`${index}:sha256=${digestHex}`]);
          },
          stop: async () => {
            child.kill('SIGTERM');
            await exited(child);
            if (own) await rm(dir, { recursive: true, force: true });
          },
        };
      } catch (err) {
        lastError = (err as Error).message;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    child.kill('SIGKILL');
    await exited(child);
    lastError = `${lastError} ${stderr}`.trim();
    if (Date.now() >= deadline) break;
  }
  if (own) await rm(dir, { recursive: true, force: true });
  throw new Error(`swtpm did not start: ${lastError}`);
}

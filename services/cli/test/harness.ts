import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

// Runs the built CLI exactly as a person would (`npm test` builds before it runs this file).
export const BIN = resolve(import.meta.dirname, '../bin/secai.js');
export const PORT_OFFSET = 20_000 + Math.floor(Math.random() * 5000);

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function secai(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

export interface Booted {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
}

export async function startBoot(stateDir: string): Promise<Booted> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'boot',
      '--state-dir',
      stateDir,
      '--nats-port',
      '0',
      '--port-offset',
      String(PORT_OFFSET),
      '--json',
    ],
    {
      env: { ...process.env, SECAI_SEAL_EVERY_MS: '300', SECAI_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, as a terminal session is: Ctrl-C reaches the whole group.
      detached: true,
    },
  );
  const lines: string[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (!lines.some((l) => l.includes('"state":"running"'))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`boot did not come up: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, lines, exit };
}

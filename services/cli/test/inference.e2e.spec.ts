import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { AuthenticationError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_PORTS } from '@secai/contracts';
import { writeTinyLlamaGguf } from '@secai/formats/testing';
import { BIN, PORT_OFFSET, secai, startBoot, type Booted, type Run } from './harness.js';

// Issue 12 §3, end to end on a booted appliance (every service its own process): a tiny GGUF
// imported through the quarantine and promoted, served by the inference service once the
// registry lists it, then a chat with it through `secai chat` fed from stdin, an API key made
// with `secai inference key create` used by the openai client, and `secai inference status`.
let stateDir: string;
let work: string;
let booted: Booted;
let digest: string;

const MODEL = 'Tiny Chat';
/** A line nobody else says: it must appear in no event and no diagnostic. */
const PROMPT = 'hello from the zebra-quokka 1729';
const baseURL = `http://127.0.0.1:${SERVICE_PORTS.inference! + PORT_OFFSET}/v1`;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'secai-inference-e2e-'));
  work = await mkdtemp(join(tmpdir(), 'secai-inference-src-'));
  booted = await startBoot(stateDir);
}, 90_000);

afterAll(async () => {
  if (booted) {
    process.kill(-booted.child.pid!, 'SIGTERM');
    await booted.exit;
  }
  await rm(stateDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

const sd = () => ['--state-dir', stateDir];

/** The built CLI with these lines on its stdin (a pipe, not a terminal), as a script runs it. */
function secaiWithInput(args: string[], lines: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

interface StatusJson {
  models: { id: string; digest: string; loaded: boolean; contextSize: number | null }[];
  sessions: number;
}

async function status(): Promise<StatusJson> {
  const r = await secai(['inference', 'status', ...sd(), '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as StatusJson;
}

describe('a model imported through the quarantine, then chatted with', () => {
  it('is promoted by the quarantine and the policy engine', async () => {
    const path = join(work, 'tiny-chat.gguf');
    await writeTinyLlamaGguf(path, { seed: 3 });
    const r = await secai(['model', 'import', path, '--name', MODEL, ...sd(), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      outcome: string;
      digest: string;
    };
    expect(out.outcome).toBe('promoted');
    digest = out.digest;
  }, 240_000);

  it('is served by the inference service once the registry has stored it', async () => {
    // The registry stores it, then inference's manifest projection sees it: wait for that.
    let served: StatusJson['models'] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      served = (await status()).models;
      if (served.length > 0) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(served).toEqual([expect.objectContaining({ id: MODEL, digest })]);
  }, 90_000);

  it('answers `secai chat MODEL` line by line from stdin, streamed, and /exit closes the session', async () => {
    const r = await secaiWithInput(
      ['chat', MODEL, '--max-tokens', '16', '--temperature', '0', ...sd(), '--json'],
      [PROMPT, '/exit'],
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });
    const session = events[0]!.id as string;
    expect(events[0]).toEqual({ event: 'session', id: session, model: MODEL });
    expect(session).toMatch(/^sess_/);
    const deltas = events.filter((e) => e.event === 'delta');
    const answer = events.find((e) => e.event === 'answer')!;
    // Streamed: the answer arrived as several chunks, each printed as it came.
    expect(deltas.length).toBeGreaterThan(1);
    expect(answer).toEqual({
      event: 'answer',
      finishReason: answer.finishReason,
      chunks: deltas.length,
      length: deltas.map((d) => d.text as string).join('').length,
    });
    expect(['stop', 'length']).toContain(answer.finishReason);
    expect(events.at(-1)).toEqual({ event: 'closed', id: session });
    expect(r.stdout).not.toContain(PROMPT);

    // The service recorded the session's opening, the request and the close asked by /exit.
    const tail = await secai(['events', 'tail', '--limit', '200', ...sd(), '--json']);
    expect(tail.code).toBe(0);
    const recorded = tail.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            event: { type: string; subject: string; data: Record<string, unknown> };
          },
      )
      .map((e) => e.event)
      .filter((e) => e.subject === `inference/${session}`);
    expect(recorded.map((e) => e.type)).toEqual([
      'inference.session.opened',
      'inference.request.completed',
      'inference.session.closed',
    ]);
    expect(recorded[2]!.data).toEqual(expect.objectContaining({ reason: 'client', requests: 1 }));
    // Never the prompt: its digest and length only.
    expect(tail.stdout).not.toContain(PROMPT);
  }, 120_000);

  it('prints the streamed answer as text without MODEL (the only one served), /reset starting over', async () => {
    const r = await secaiWithInput(
      ['chat', '--max-tokens', '8', '--temperature', '0', ...sd()],
      ['hello', '/reset', 'hello', '/exit'],
    );
    expect(r.code).toBe(0);
    // Two answers, each ended by a newline: the same greedy answer to the same first line of a
    // new session (the model's text may hold newlines of its own, so halves are compared).
    const half = r.stdout.length / 2;
    expect(r.stdout.length).toBeGreaterThan(2);
    expect(r.stdout.slice(0, half)).toBe(r.stdout.slice(half));
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stderr).toContain('the conversation starts over');
    expect(r.stderr).not.toContain('hello');
  }, 120_000);

  it('names a model it does not serve, with the ones it does, and exits non-zero', async () => {
    const r = await secaiWithInput(['chat', 'no-such-model', ...sd()], ['hello']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MODEL_UNKNOWN');
    expect(r.stderr).toContain(`it serves ${MODEL}`);
  }, 60_000);

  it('makes an API key that the openai client lists the model with, until it is revoked', async () => {
    const made = await secai([
      'inference',
      'key',
      'create',
      '--name',
      'laptop',
      '--operator',
      'e2e operator',
      ...sd(),
      '--json',
    ]);
    expect(made.code).toBe(0);
    expect(made.stderr).toContain('shown this once');
    const { key, name } = JSON.parse(made.stdout) as { key: string; name: string };
    expect(name).toBe('laptop');

    const client = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);

    const listed = await secai(['inference', 'key', 'list', ...sd()]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/laptop\s+\S+\s+e2e operator/);
    expect(listed.stdout).not.toContain(key);

    const again = await secai(['inference', 'key', 'create', '--name', 'laptop', ...sd()]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('KEY_EXISTS');

    const revoked = await secai([
      'inference',
      'key',
      'revoke',
      'laptop',
      '--reason',
      'lost',
      ...sd(),
    ]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('laptop');
    await expect(client.models.list()).rejects.toBeInstanceOf(AuthenticationError);
  }, 60_000);

  it('`secai inference status` shows the model loaded and no session left open', async () => {
    const s = await status();
    expect(s.models).toEqual([expect.objectContaining({ id: MODEL, digest, loaded: true })]);
    expect(s.models[0]!.contextSize).toBeGreaterThan(0);
    expect(s.sessions).toBe(0);
    const text = await secai(['inference', 'status', ...sd()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('models: 1 servable, 1 loaded');
    expect(text.stdout).toMatch(
      new RegExp(`${MODEL}\\s+yes\\s+\\d+\\s+0\\s+${digest.slice(0, 23)}`),
    );
  }, 60_000);
});

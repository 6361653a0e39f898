// Stage worker: the format gate, run by `runStage` inside the sandbox (no credentials, no
// network, bounded). Reads `{ path, kind }` on stdin, prints one JSON verdict on stdout. A thin
// shell: the parsers read, `stages/formatGate.ts` decides (pure, tested in process).
import { inspectDiffusersDirectory } from '@secai/formats';
import { inspectGguf } from '@secai/formats';
import { detectPolyglotFile } from '@secai/formats';
import { inspectSafetensors } from '@secai/formats';
import {
  directoryGateVerdict,
  fileGateVerdict,
  type FormatGateVerdict,
} from '../stages/formatGate.js';

import { printVerdict, readRequest } from './io.js';

const input = await readRequest<Record<string, never>>();

async function gate(): Promise<FormatGateVerdict> {
  if (input.kind === 'directory')
    return directoryGateVerdict(await inspectDiffusersDirectory(input.path));
  const polyglot = await detectPolyglotFile(input.path);
  if ('error' in polyglot) return fileGateVerdict({ polyglot, gguf: badMagic });
  const gguf = await inspectGguf(input.path);
  // The safetensors parser only reads a file without the GGUF magic.
  const safetensors =
    !gguf.ok && gguf.reason === 'bad_magic' ? await inspectSafetensors(input.path) : undefined;
  return fileGateVerdict({ polyglot, gguf, ...(safetensors ? { safetensors } : {}) });
}

const badMagic = { ok: false, reason: 'bad_magic', detail: 'not read' } as const;

const v = await gate();
printVerdict({ passed: v.passed, reasonCode: v.reasonCode, detail: v.detail, ...v.facts });

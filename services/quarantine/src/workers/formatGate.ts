// Stage worker: the format gate, run by `runStage` inside the sandbox (no credentials, no
// network, bounded). Reads `{ path, kind, params: { formatLimits? } }` on stdin, prints one JSON
// verdict on stdout. A thin shell: the readers read within policy's bounds
// (`quarantine.format_gate`), `stages/formatGate.ts` decides (pure, tested in process).
import {
  detectPolyglotFile,
  inspectDiffusersDirectory,
  inspectGguf,
  inspectSafetensors,
} from '@secai/formats';
import { directoryGateVerdict, fileGateVerdict, type FileFindings } from '../stages/formatGate.js';
import { parseFormatLimits, readerLimitsOf, type ReaderLimits } from '../stages/formatLimits.js';
import { workerOutput } from '../stages/verdict.js';
import { printVerdict, readRequest } from './io.js';

const request = await readRequest<{ formatLimits?: unknown } | undefined>();

/** What the readers find in a file: the safetensors reader only reads one without GGUF magic. */
async function readFile(path: string, limits: ReaderLimits): Promise<FileFindings> {
  const polyglot = await detectPolyglotFile(path, limits.polyglot);
  if ('error' in polyglot) return { polyglot, gguf: NOT_READ };
  const gguf = await inspectGguf(path, limits.gguf);
  if (gguf.ok || gguf.reason !== 'bad_magic') return { polyglot, gguf };
  return { polyglot, gguf, safetensors: await inspectSafetensors(path, limits.safetensors) };
}
const NOT_READ = { ok: false, reason: 'bad_magic', detail: 'not read' } as const;

const parsed = parseFormatLimits(request.params?.formatLimits);
if (!parsed.ok) {
  printVerdict({ passed: false, reasonCode: 'invalid_params', detail: parsed.detail });
} else {
  const limits = readerLimitsOf(parsed.limits);
  const verdict =
    request.kind === 'directory'
      ? directoryGateVerdict(await inspectDiffusersDirectory(request.path, limits.diffusers))
      : fileGateVerdict(await readFile(request.path, limits));
  printVerdict(workerOutput(verdict));
}

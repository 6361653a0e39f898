// Stage worker: the format gate, run by `runStage` inside the sandbox (no credentials, no
// network, bounded). Reads `{ path, kind }` on stdin, prints one JSON verdict on stdout. A
// crash or hang here is the sandbox's to report; this script never decides anything else.
import { inspectDiffusersDirectory } from '../formats/diffusers.js';
import { inspectGguf } from '../formats/gguf/index.js';
import { detectPolyglotFile } from '../formats/polyglot.js';
import { inspectSafetensors } from '../formats/safetensors.js';

import { printVerdict, readRequest } from './io.js';

const input = await readRequest<Record<string, never>>();

async function gate(): Promise<Record<string, unknown>> {
  if (input.kind === 'directory') {
    const r = await inspectDiffusersDirectory(input.path);
    return r.ok
      ? {
          passed: true,
          reasonCode: 'diffusers_ok',
          format: 'diffusion-directory',
          files: r.files.length,
        }
      : {
          passed: false,
          // Bytes hidden after a member's end get the code they get in a single file (issue 11
          // §1), whatever else the directory scan found; other findings keep their reason.
          reasonCode: r.findings.some((f) => f.code === 'trailing_data')
            ? 'diffusers_trailing_data'
            : (r.reason ?? 'diffusers_invalid'),
          detail: r.findings
            .slice(0, 3)
            .map((f) => (f.path === '' ? f.detail : `${f.path}: ${f.detail}`))
            .join('; '),
        };
  }
  const polyglot = await detectPolyglotFile(input.path);
  if ('error' in polyglot)
    return { passed: false, reasonCode: 'unreadable', detail: polyglot.error };
  if (polyglot.polyglot) {
    return {
      passed: false,
      reasonCode: 'polyglot',
      detail: polyglot.findings
        .slice(0, 3)
        .map((f) => f.code)
        .join(', '),
    };
  }
  const gguf = await inspectGguf(input.path);
  if (gguf.ok)
    return {
      passed: true,
      reasonCode: 'gguf_ok',
      format: 'gguf',
      tensors: gguf.tensorCount,
      version: gguf.version,
    };
  if (gguf.reason !== 'bad_magic')
    return { passed: false, reasonCode: `gguf_${gguf.reason}`, detail: gguf.detail };
  const st = await inspectSafetensors(input.path);
  if (st.ok)
    return {
      passed: true,
      reasonCode: 'safetensors_ok',
      format: 'safetensors',
      tensors: st.tensors.length,
    };
  return {
    passed: false,
    reasonCode:
      st.reason === 'header_length_out_of_bounds' ? 'unknown_format' : `safetensors_${st.reason}`,
    detail: st.detail,
  };
}

printVerdict(await gate());

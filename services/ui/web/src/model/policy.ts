import { dataOf, type Seen } from './types.js';

// The active policy as the engine last loaded it: its digest and its validated documents (carried
// in `policy.loaded` as canonical JSON, which is also YAML: the what-if form starts from them).

export interface ActivePolicy {
  digest: string;
  version: number;
  trigger: string;
  loadedAt: string;
  /** The validated documents by name (`policy`, `agent`, `mcp`); null when they do not parse. */
  documents: Record<string, unknown> | null;
}

export interface PolicyView {
  active: ActivePolicy | null;
  /** The newest refused load, when it came after the active policy. */
  lastFailure: { at: string; errors: { file: string; keyPath: string; message: string }[] } | null;
}

export const initialPolicy = (): PolicyView => ({ active: null, lastFailure: null });

export function foldPolicy(view: PolicyView, e: Seen): PolicyView {
  const loaded = dataOf(e, 'policy.loaded');
  if (loaded) {
    return {
      active: {
        digest: loaded.digest,
        version: loaded.version,
        trigger: loaded.trigger,
        loadedAt: e.event.time,
        documents: parseDocuments(loaded.documents),
      },
      lastFailure: null,
    };
  }
  const failed = dataOf(e, 'policy.load.failed');
  if (failed) return { ...view, lastFailure: { at: e.event.time, errors: failed.errors } };
  return view;
}

function parseDocuments(text: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** The file texts a what-if starts from: each active document as indented JSON (valid YAML). */
export function policyFilesOf(active: ActivePolicy | null): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of ['policy', 'agent', 'mcp']) {
    const doc = active?.documents?.[name];
    if (doc !== undefined) files[`${name}.yaml`] = `${JSON.stringify(doc, null, 2)}\n`;
  }
  return files;
}

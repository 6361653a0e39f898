import { canonicalJson } from '@secai/contracts';
import { digestOf, recordedText } from './text.js';
import { textsOf } from './scan/poison.js';

// What a client is shown of an upstream tool, and its pin: the SHA-256 of the canonical JSON of
// exactly those fields. Whatever else the upstream sends (`_meta`, icons, execution hints) is not
// relayed, so nothing the pin does not cover reaches a model.

/** The relayed fields of a tool. */
export interface ToolView {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** The recorded form of one version (`McpToolVersion`). */
export interface ToolVersion {
  digest: string;
  description: { text: string; length: number; digest: string };
  inputSchemaDigest: string;
  outputSchemaDigest: string | null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The view of a tool as listed by an upstream (untrusted JSON), or null when it is not a tool
 * at all (no string name, no object input schema) or too deep to hash safely.
 */
export function toolViewOf(raw: unknown): ToolView | null {
  if (!isRecord(raw) || typeof raw.name !== 'string' || !isRecord(raw.inputSchema)) return null;
  const texts = textsOf(raw, 'tool');
  if (typeof texts === 'string') return null;
  const view: ToolView = { name: raw.name, inputSchema: raw.inputSchema };
  if (typeof raw.title === 'string') view.title = raw.title;
  if (typeof raw.description === 'string') view.description = raw.description;
  if (isRecord(raw.outputSchema)) view.outputSchema = raw.outputSchema;
  if (isRecord(raw.annotations)) view.annotations = raw.annotations;
  return view;
}

/** The pin of a view: SHA-256 of its canonical JSON, and what an event records of it. */
export function versionOf(view: ToolView): ToolVersion {
  return {
    digest: digestOf(canonicalJson(view)),
    description: recordedText(view.description ?? ''),
    inputSchemaDigest: digestOf(canonicalJson(view.inputSchema)),
    outputSchemaDigest: view.outputSchema ? digestOf(canonicalJson(view.outputSchema)) : null,
  };
}

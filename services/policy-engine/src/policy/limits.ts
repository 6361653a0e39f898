import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { McpPolicySchema, type DocumentLimits } from '@secai/contracts';
import type { PolicyProblem } from './errors.js';
import { AgentPolicySchema, MainPolicySchema, type PolicySnapshot } from './schema.js';

/** Largest policy file accepted, in bytes. */
export const MAX_POLICY_FILE_BYTES = 256 * 1024;
/** Largest canonical form of the documents (what `policy.loaded` carries), in characters. */
export const MAX_CANONICAL_DOCUMENTS_LENGTH = 262_144;
/** YAML aliases allowed per document: enough to reuse a list, far too few for a billion laughs. */
export const MAX_YAML_ALIASES = 32;
/** Problems reported per load; the rest are summarised in one last problem. */
export const MAX_PROBLEMS = 500;
/** The documents of a policy, recognised by file name. */
export const POLICY_FILE_NAMES = {
  policy: 'policy.yaml',
  agent: 'agent.yaml',
  mcp: 'mcp.yaml',
} as const;

/** The policy the appliance ships (`services/policy-engine/policy`), from `src/` and `dist/` alike. */
export const DEFAULT_POLICY_DIR = resolve(fileURLToPath(new URL('../../policy/', import.meta.url)));

/** What each policy file may be. The schemas nest five levels; twelve leaves room, not abuse. */
export const POLICY_DOCUMENT_LIMITS: DocumentLimits = {
  maxBytes: MAX_POLICY_FILE_BYTES,
  maxDepth: 12,
  maxAliases: MAX_YAML_ALIASES,
  maxProblems: MAX_PROBLEMS,
};

export type Kind = keyof typeof POLICY_FILE_NAMES;
export const KINDS: readonly Kind[] = ['policy', 'agent', 'mcp'];
/** The documents a policy must have. `mcp.yaml` is optional: absent, no MCP server is known. */
export const REQUIRED_KINDS: readonly Kind[] = ['policy', 'agent'];
export const SCHEMAS: Record<Kind, TSchema> = {
  policy: MainPolicySchema,
  agent: AgentPolicySchema,
  mcp: McpPolicySchema,
};

export interface PolicyFileInput {
  path: string;
  text: string;
}
export type PolicyLoadResult =
  { ok: true; snapshot: PolicySnapshot } | { ok: false; problems: PolicyProblem[] };

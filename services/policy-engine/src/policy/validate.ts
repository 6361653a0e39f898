import { schemaDocumentProblems } from '@secai/contracts';
import { inFile, type PolicyProblem } from './errors.js';
import { SCHEMAS, type Kind } from './limits.js';
import { mcpSemantics } from './mcpSemantics.js';
import { agentSemantics, policySemantics } from './semantics.js';

const SEMANTICS = { policy: policySemantics, agent: agentSemantics, mcp: mcpSemantics };

/**
 * Every problem of one document: the closed schema, then the rules a schema cannot express. The
 * semantic rules run on a document that failed the schema as well, so one load reports all.
 */
export function validatePolicyDocument(kind: Kind, value: unknown, file: string): PolicyProblem[] {
  const schemaIssues = schemaDocumentProblems(SCHEMAS[kind], value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return inFile(file, schemaIssues);
  }
  const doc = value as Record<string, unknown>;
  const located = new Set(schemaIssues.map((i) => i.path));
  // A semantic problem at a key the schema already refused would only repeat it.
  const semantic = SEMANTICS[kind](doc).filter((i) => !located.has(i.path));
  return inFile(file, [...schemaIssues, ...semantic]);
}

import { COMMANDS, schemaProblems, type CommandType } from '@secai/contracts';
import { CliError } from './errors.js';

type TSchema = Parameters<typeof schemaProblems>[0];

// A request the CLI builds from the operator's options is held to its contract schema before it
// is sent: out of bounds is the operator's mistake (USAGE, exit 2), named by the option they
// typed and the bound it broke. Sent unchecked, the handler's refusal came back as something
// else ("not running", a refusal) or, where the CLI trimmed the value, was silently recorded cut.

/**
 * Union branches fail one by one (a known name, or a lower-case identifier): the generic
 * "must be equal to constant" / "must match a schema in anyOf" lines add nothing the remaining
 * branch's message does not say.
 */
const NOISE = new Set(['must be equal to constant', 'must match a schema in anyOf']);

/** `--option: message` for every contract problem, one line per field (pure). */
export function contractProblems(
  schema: TSchema,
  value: unknown,
  optionOf: Record<string, string>,
): string[] {
  const byPath = new Map<string, string[]>();
  for (const problem of schemaProblems(schema, value)) {
    const at = problem.indexOf(': ');
    const path = problem.slice(0, at);
    const message = problem.slice(at + 2);
    const list = byPath.get(path) ?? [];
    if (!list.includes(message)) list.push(message);
    byPath.set(path, list);
  }
  return [...byPath].map(([path, messages]) => {
    const useful = messages.filter((m) => !NOISE.has(m));
    return `${optionOf[path] ?? path}: ${(useful.length > 0 ? useful : messages).join('; ')}`;
  });
}

/** Throws USAGE naming every option of `value` outside `schema` (pure). */
export function checkBounds(
  what: string,
  schema: TSchema,
  value: unknown,
  optionOf: Record<string, string>,
): void {
  const problems = contractProblems(schema, value, optionOf);
  if (problems.length > 0)
    throw new CliError('USAGE', `${what} is outside its contract: ${problems.join('; ')}`);
}

/** `checkBounds` for a command's request, by the command's catalogue schema (pure). */
export function checkCommandRequest(
  command: CommandType,
  request: unknown,
  optionOf: Record<string, string>,
): void {
  checkBounds(`the ${command} request`, COMMANDS[command].request, request, optionOf);
}

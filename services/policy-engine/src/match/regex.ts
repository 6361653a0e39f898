import { RE2JS } from 're2js';

// Regular expressions written in policy (MCP argument rules and global rules) run on every MCP
// call, against argument values up to 2 KiB that a client (a model) chose. They run on RE2JS, a
// linear-time engine (no backtracking): a pattern like `(a+)+$` or `.{250}z` that takes
// milliseconds to seconds in V8's backtracking engine on a crafted value costs microseconds here.
// Patterns are compiled when the policy loads; one that does not compile, is longer than 512
// characters or compiles to a program larger than MAX_REGEX_PROGRAM_SIZE is refused there, so a
// loaded policy never makes this throw. RE2 syntax has no backreferences or lookaround; `\s`,
// `\w`, `\d` are ASCII; `(?i)`, `(?s)`, `(?m)` set flags inline.

/** Largest compiled program (RE2 instructions) a policy regex may have: bounds the cost per byte. */
export const MAX_REGEX_PROGRAM_SIZE = 256;
/** Longest policy regex, in characters. */
export const MAX_REGEX_LENGTH = 512;

const MAX_CACHED = 4096;
const compiled = new Map<string, RE2JS>();

/** Why a policy regex is refused, or undefined when it is fine. */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'an empty pattern matches everything';
  if (pattern.length > MAX_REGEX_LENGTH)
    return `a pattern is at most ${MAX_REGEX_LENGTH} characters, this one ${pattern.length}`;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    return `not a valid RE2 regular expression: ${(err as Error).message.slice(0, 200)}`;
  }
  const size = re.programSize();
  if (size > MAX_REGEX_PROGRAM_SIZE)
    return `the pattern compiles to ${size} instructions; the limit is ${MAX_REGEX_PROGRAM_SIZE} (write a smaller repetition)`;
  return undefined;
}

/**
 * Whether `pattern` matches anywhere in `text` (unanchored, like RegExp.test). The pattern comes
 * from a validated policy; compiled once and kept (a memo: the answer never depends on it).
 */
export function regexFinds(pattern: string, text: string): boolean {
  let re = compiled.get(pattern);
  if (re === undefined) {
    if (compiled.size >= MAX_CACHED) compiled.clear();
    re = RE2JS.compile(pattern);
    compiled.set(pattern, re);
  }
  return re.test(text);
}

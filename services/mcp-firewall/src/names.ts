import { normalizeForScan } from './scan/normalize.js';

// Tool names as the firewall lists them: one flat namespace over every upstream server (a client
// sees `read_file`, not `server/read_file`), so a name must lead to exactly one server. A tool
// whose name is the same as another server's tool, or looks the same to a person or a model
// (case, separators, look-alike letters and digits), shadows it and is refused.

/** What policy can name (`McpCallInput.tool`): a tool outside it can never be decided. */
export const TOOL_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Digit and letter sequences that read as other letters (UTS #39 skeleton, ASCII part). */
const ASCII_CONFUSABLES: readonly [RegExp, string][] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
  [/cl/g, 'd'],
  [/0/g, 'o'],
  [/[1il|]/g, 'l'],
  [/5/g, 's'],
  [/8/g, 'b'],
];

/**
 * The skeleton two names are compared by: NFKC, lower case, look-alike letters folded, separators
 * (`_ - . :` and spaces) removed, confusable ASCII sequences folded. Equal skeletons shadow.
 */
export function nameSkeleton(name: string): string {
  let s = normalizeForScan(name).replace(/[\s_.:-]+/g, '');
  for (const [pattern, to] of ASCII_CONFUSABLES) s = s.replace(pattern, to);
  return s;
}

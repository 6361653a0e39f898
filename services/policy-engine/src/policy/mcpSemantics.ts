import type { DocumentProblem } from '@secai/contracts';
import { normalizePath, regexProblem, resourcePatternProblem } from '../match/index.js';
import { pathPatternProblem } from './patterns.js';
import { isString, list, record } from './semantics.js';

// The MCP document's rules beyond its schema (mcp.yaml). Written defensively like the others:
// they also run on a document that failed the schema, so one load reports every problem.

type Out = DocumentProblem[];

/** mcp.yaml's rules beyond its schema. */
export function mcpSemantics(doc: Record<string, unknown>): DocumentProblem[] {
  const out: Out = [];
  const servers = list(doc['servers']);
  unique(out, servers, 'servers', 'server');
  // Every declared server and tool name (a duplicate server's tools count too: taint rules may
  // name them, and the duplicate is reported on its own).
  const serverNames = new Set<string>();
  const allTools = new Set<string>();
  servers.forEach((raw, i) => {
    const server = record(raw);
    const at = `servers[${i}]`;
    transport(out, server, at);
    const tools = list(server['tools']);
    unique(out, tools, `${at}.tools`, 'tool');
    if (isString(server['name'])) serverNames.add(server['name']);
    for (const t of tools)
      if (isString(record(t)['name'])) allTools.add(record(t)['name'] as string);
    tools.forEach((t, k) => tool(out, record(t), `${at}.tools[${k}]`));
    list(server['resources']).forEach((r, k) => {
      const pattern = record(r)['pattern'];
      const problem = isString(pattern) ? resourcePatternProblem(pattern) : undefined;
      if (problem !== undefined)
        out.push({
          path: `${at}.resources[${k}].pattern`,
          code: 'MCP_RESOURCE_PATTERN_INVALID',
          message: problem,
        });
    });
  });

  const globals = list(doc['global_rules']);
  unique(out, globals, 'global_rules', 'global rule');
  globals.forEach((raw, g) => {
    const match = record(record(raw)['match']);
    const at = `global_rules[${g}].match`;
    const conditions = ['methods', 'server_trust', 'has_taint', 'arg_patterns'];
    if (!conditions.some((c) => list(match[c]).length > 0))
      out.push({
        path: at,
        code: 'MCP_RULE_EMPTY',
        message: `a global rule needs at least one non-empty condition (${conditions.join(', ')}): an empty match would match every call`,
      });
    list(match['arg_patterns']).forEach((p, j) => regex(out, p, `${at}.arg_patterns[${j}]`));
  });

  const taintRules = list(doc['taint_rules']);
  unique(out, taintRules, 'taint_rules', 'taint rule');
  taintRules.forEach((raw, t) => {
    const match = record(record(raw)['match']);
    const at = `taint_rules[${t}].match`;
    list(match['target_servers']).forEach((s, j) => {
      if (isString(s) && !serverNames.has(s))
        out.push({
          path: `${at}.target_servers[${j}]`,
          code: 'MCP_REFERENCE_UNKNOWN',
          message: `no server is named ${JSON.stringify(s)}: the rule would never apply`,
        });
    });
    list(match['target_tools']).forEach((name, j) => {
      if (isString(name) && !allTools.has(name))
        out.push({
          path: `${at}.target_tools[${j}]`,
          code: 'MCP_REFERENCE_UNKNOWN',
          message: `no server declares a tool ${JSON.stringify(name)}: the rule would never apply`,
        });
    });
  });
  return out;
}

/** The names in a list of named entries are unique; the later duplicate is named. */
function unique(out: Out, entries: unknown[], at: string, what: string): void {
  const first = new Map<string, number>();
  entries.forEach((raw, i) => {
    const name = record(raw)['name'];
    if (!isString(name)) return;
    const seen = first.get(name);
    if (seen === undefined) first.set(name, i);
    else
      out.push({
        path: `${at}[${i}].name`,
        code: 'MCP_DUPLICATE',
        message: `${what} ${JSON.stringify(name)} is already declared at ${at}[${seen}]`,
      });
  });
}

/** Exactly one of `command` (a local server) and `url` (a loopback HTTP server), each well formed. */
function transport(out: Out, server: Record<string, unknown>, at: string): void {
  const hasCommand = server['command'] !== undefined;
  const hasUrl = server['url'] !== undefined;
  if (hasCommand === hasUrl) {
    out.push({
      path: at,
      code: 'MCP_TRANSPORT',
      message:
        'a server has exactly one of command (a local server) and url (a loopback HTTP server)',
    });
    return;
  }
  const url = server['url'];
  if (isString(url)) {
    const problem = loopbackUrlProblem(url);
    if (problem !== undefined)
      out.push({ path: `${at}.url`, code: 'MCP_URL_INVALID', message: problem });
  }
  list(server['command']).forEach((arg, j) => {
    if (!isString(arg)) return;
    const problem = j === 0 ? programProblem(arg) : controlProblem(arg);
    if (problem !== undefined)
      out.push({ path: `${at}.command[${j}]`, code: 'MCP_COMMAND_INVALID', message: problem });
  });
}

/** `http://` on 127.0.0.0/8 or [::1], no userinfo, query or fragment, written canonically. */
export function loopbackUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url.slice(0, 64))} is not a URL`;
  }
  if (parsed.protocol !== 'http:') return 'an MCP server URL is http:// on a loopback address';
  if (parsed.username !== '' || parsed.password !== '')
    return 'an MCP server URL must not carry userinfo (user:password@)';
  if (parsed.search !== '' || parsed.hash !== '')
    return 'an MCP server URL must not have a query or a fragment';
  const host = parsed.hostname;
  const loopback = host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/u.test(host);
  if (!loopback)
    return `${host} is not a loopback address: an MCP server URL names 127.0.0.0/8 or [::1] (no host names)`;
  if (parsed.href !== url && parsed.href !== `${url}/`)
    return `write the URL in its canonical form: ${parsed.href}`;
  return undefined;
}

/** The program: a bare name (found on the sandbox's PATH) or an absolute path in normal form. */
function programProblem(program: string): string | undefined {
  const control = controlProblem(program);
  if (control !== undefined) return control;
  if (!program.includes('/')) return undefined;
  const normalized = normalizePath(program);
  if (!normalized.ok || normalized.path !== program)
    return 'the program is a bare name or an absolute path in normal form (no relative paths, "." or "..")';
  return undefined;
}

function controlProblem(arg: string): string | undefined {
  for (let i = 0; i < arg.length; i++) {
    const c = arg.charCodeAt(i);
    if (c < 0x20 || c === 0x7f)
      return 'a command argument must not contain NUL or control characters';
  }
  return undefined;
}

/** A tool's argument rules and path restrictions. */
function tool(out: Out, entry: Record<string, unknown>, at: string): void {
  const rules = list(entry['arg_rules']);
  unique(out, rules, `${at}.arg_rules`, 'argument rule');
  rules.forEach((raw, a) => {
    const rule = record(raw);
    const pattern = rule['pattern'];
    if (pattern === undefined) return;
    if (rule['redact'] === true)
      out.push({
        path: `${at}.arg_rules[${a}].pattern`,
        code: 'MCP_ARG_CONFLICT',
        message: 'a redacted argument is never sent to the policy engine: no pattern can read it',
      });
    else regex(out, pattern, `${at}.arg_rules[${a}].pattern`);
  });
  list(entry['path_restrict']).forEach((p, j) => {
    const problem = isString(p) ? pathPatternProblem(p) : undefined;
    if (problem !== undefined)
      out.push({
        path: `${at}.path_restrict[${j}]`,
        code: 'PATH_PATTERN_INVALID',
        message: problem,
      });
  });
}

function regex(out: Out, pattern: unknown, at: string): void {
  const problem = isString(pattern) ? regexProblem(pattern) : undefined;
  if (problem !== undefined) out.push({ path: at, code: 'REGEX_INVALID', message: problem });
}

// Chat-template injection scan (quarantine.md §2.6.2). GGUF chat templates are Jinja programs that the
// runtime renders on every request; a hostile one can escape a weak sandbox (Python object traversal,
// Jinja/Flask gadget globals), run commands, or exfiltrate conversations through URLs or injected
// instructions. The reference's 26 patterns also flagged ordinary Hugging Face templates: `namespace(`
// (used by DeepSeek, Qwen3, Mistral tool templates) and a bare `nc` alternative with only a right word
// boundary (matching `func`, `sync`, or a variable named `nc`). Here every pattern targets a construct
// that no mainstream template uses, and code-only patterns are applied to Jinja code regions only
// (`{{ … }}`, `{% … %}`), so prose inside a default system prompt is not mistaken for code.
import type { ChatTemplateFinding, ChatTemplateScan } from './types.js';

interface Pattern {
  readonly name: string;
  readonly re: RegExp;
  /** 'code': only inside Jinja expressions/statements; 'any': anywhere in the template. */
  readonly scope: 'code' | 'any';
}

const HOST = String.raw`(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)`;

const PATTERNS: readonly Pattern[] = [
  // Python object traversal: __class__, __mro__, __subclasses__, __globals__, __builtins__, __init__…
  { name: 'python-dunder', re: /__[a-z][a-z0-9_]*?__/i, scope: 'any' },
  { name: 'dunder-string-fragment', re: /['"]__|__['"]/, scope: 'code' },
  { name: 'underscore-subscript', re: /\[\s*['"]_/, scope: 'code' },
  { name: 'underscore-repeat', re: /['"]_+['"]\s*(?:\*|~|\+)/, scope: 'code' },
  { name: 'escaped-underscore', re: /\\x5f|\\u005f|\\U0000005f|\\137/i, scope: 'any' },
  { name: 'attr-filter', re: /\|\s*attr\b/, scope: 'code' },
  { name: 'mro-call', re: /\.\s*mro\s*\(/, scope: 'code' },
  {
    name: 'python-frame-internals',
    re: /\b(?:func_globals|f_globals|f_locals|f_back|gi_frame|gi_code|co_code|tb_frame|im_func|cr_frame)\b/,
    scope: 'any',
  },
  // Jinja / Flask globals used as gadget chains; `namespace(` alone is legitimate.
  {
    name: 'jinja-gadget-global',
    re: /\b(?:cycler|joiner|lipsum|url_for|get_flashed_messages)\b/,
    scope: 'code',
  },
  { name: 'namespace-attribute', re: /\bnamespace\s*\.\s*[a-z_]/i, scope: 'code' },
  { name: 'template-reference', re: /_TemplateReference__context|\bself\s*\.\s*_/, scope: 'any' },
  { name: 'flask-config', re: /(?<![\w.])config\s*(?:\.\s*[a-z_]|\[)/i, scope: 'code' },
  {
    name: 'flask-request',
    re: /(?<![\w.])request\s*\.\s*(?:application|environ|args|form|values|cookies|headers|files|json|data|get_data|stream)\b/,
    scope: 'code',
  },
  // Template loading and module access.
  { name: 'jinja-import', re: /\{%[-+]?\s*(?:import|from|include|extends)\b/, scope: 'any' },
  {
    name: 'python-import',
    re: /\b(?:importlib|__import__)\b|\bimport\s+(?:os|sys|subprocess|socket)\b/,
    scope: 'any',
  },
  {
    name: 'os-call',
    re: /\bos\s*\.\s*(?:system|popen|exec\w*|spawn\w*|fork|remove|unlink|rmdir|environ|getenv|listdir|walk|kill|chmod)\b/,
    scope: 'any',
  },
  {
    name: 'sys-module',
    re: /\bsys\s*\.\s*(?:modules|exit|path|argv|stdout|stdin)\b/,
    scope: 'any',
  },
  { name: 'subprocess', re: /\bsubprocess\b|\bpopen\b|\bcheck_output\b/i, scope: 'any' },
  { name: 'builtins', re: /\bbuiltins\b/, scope: 'code' },
  {
    name: 'builtin-call',
    re: /\b(?:eval|exec|execfile|compile|getattr|setattr|delattr|globals|locals|vars|open|input|breakpoint)\s*\(/,
    scope: 'code',
  },
  { name: 'file-io', re: /\.\s*(?:read|readlines|readline|write|writelines)\s*\(/, scope: 'code' },
  // Network and exfiltration.
  {
    name: 'url',
    re: /\b(?:https?|ftp|wss?|file|gopher|dict|ldap|smb|tftp):\/\/[^\s'"<>)}\]]*/i,
    scope: 'any',
  },
  {
    name: 'network-module',
    re: /\b(?:urllib\d?|httpx|http\.client|socket)\s*\.\s*[a-z_]|\brequests\s*\.\s*(?:get|post|put|patch|delete|request|session)\b/i,
    scope: 'any',
  },
  {
    name: 'shell-download',
    re: new RegExp(String.raw`\b(?:curl|wget)\s+(?:-{1,2}[\w-]+\s+)*(?:https?://|${HOST})`, 'i'),
    scope: 'any',
  },
  {
    name: 'reverse-shell',
    re: new RegExp(
      String.raw`/dev/(?:tcp|udp)/|\b(?:ba|z|da)?sh\s+-i\b|/bin/(?:ba|z|da)?sh\b|\b(?:nc|ncat|netcat)(?:\s+-[a-z]+)*\s+${HOST}\s+\d{1,5}\b`,
      'i',
    ),
    scope: 'any',
  },
  // Hidden instructions and Trojan-source characters.
  {
    name: 'prompt-injection',
    re: /(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|system)\s+(?:instructions|rules|guidelines|prompts?)\b/i,
    scope: 'any',
  },
  { name: 'bidi-control', re: /[\u202a-\u202e\u2066-\u2069]/, scope: 'any' },
];

const MAX_FINDINGS = 32;
const EXCERPT_CONTEXT = 30;

/** The Jinja code regions (`{{ … }}`, `{% … %}`) of a template, found in linear time. */
function codeRegions(template: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < template.length) {
    const a = template.indexOf('{{', i);
    const b = template.indexOf('{%', i);
    const start = a === -1 ? b : b === -1 ? a : Math.min(a, b);
    if (start === -1) break;
    const close = template[start + 1] === '{' ? '}}' : '%}';
    const end = template.indexOf(close, start + 2);
    if (end === -1) {
      out.push(template.slice(start));
      break;
    }
    out.push(template.slice(start, end + 2));
    i = end + 2;
  }
  return out;
}

function excerpt(text: string, index: number, length: number): string {
  const from = Math.max(0, index - EXCERPT_CONTEXT);
  const to = Math.min(text.length, index + Math.min(length, 80) + EXCERPT_CONTEXT);
  let body = '';
  for (const c of text.slice(from, to)) {
    const code = c.charCodeAt(0);
    const control =
      code < 0x20 ||
      code === 0x7f ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069);
    body += !control ? c : c === '\n' ? '\\n' : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `${from > 0 ? '…' : ''}${body}${to < text.length ? '…' : ''}`;
}

/** Scans a Jinja chat template for injection constructs; never throws, linear-time patterns. */
export function scanChatTemplate(template: string): ChatTemplateScan {
  const findings: ChatTemplateFinding[] = [];
  const code = codeRegions(template).join('\n');
  for (const p of PATTERNS) {
    if (findings.length >= MAX_FINDINGS) break;
    const haystack = p.scope === 'code' ? code : template;
    const m = p.re.exec(haystack);
    if (m) findings.push({ pattern: p.name, excerpt: excerpt(haystack, m.index, m[0].length) });
  }
  return { suspicious: findings.length > 0, findings };
}

/** The names of all patterns (for documentation and policy). */
export const CHAT_TEMPLATE_PATTERNS: readonly string[] = PATTERNS.map((p) => p.name);

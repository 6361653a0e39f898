// sensitive_file_access: reading or dumping sensitive files (password hashes, private keys, the
// appliance's keys, cloud credentials), by command, in code, or as a dump of their contents.
// credential_hunt: harvesting secrets from the environment or configuration files.

import type { Unit } from '../codeShape.js';
import { scanUnits, type Hit, type Pattern } from './scan.js';

const SENSITIVE_PATH = String.raw`(?:\/etc\/g?shadow\b|[~%$]?[\w./\\:%{}-]*\.ssh[\\/]id_(?:rsa|dsa|ecdsa|ed25519)(?!\.pub)\b|\/var\/lib\/secure-ai\/keys\b|\.aws\/credentials\b|\.netrc\b|\.git-credentials\b|\.docker\/config\.json\b)`;
const SENSITIVE = new RegExp(SENSITIVE_PATH, 'i');
const READ_COMMAND = String.raw`\b(?:cat|less|more|head|tail|base64|base32|xxd|od|strings|type|tar|zip|cp|scp|Get-Content|gc|nl|openssl|grep|awk|sed|cut|unshadow|certutil|getent|vim?|nano|view)\b`;
// File readers of other languages too: SQL servers (LOAD_FILE, pg_read_file, OPENROWSET BULK),
// PHP, and a file:// URI in anything that fetches one (an XML external entity, curl, a browser).
const READ_CALL = String.raw`(?:\b(?:open|read_text|read_bytes|readFileSync|readFile|ReadAllText|ReadAllBytes|ReadAllLines|File\.read|IO\.read|ioutil\.ReadFile|os\.ReadFile|LOAD_FILE|pg_read_file|pg_read_binary_file|lo_import|file_get_contents|fopen|readfile|highlight_file|show_source|slurp)\s*\(|\bOPENROWSET\s*\(\s*BULK\b|\bLOAD\s+DATA\s+(?:LOCAL\s+)?INFILE\b|\bCOPY\s+\w+\s+FROM\b|\bfile:\/\/)`;

const SENSITIVE_COMMANDS: readonly Pattern[] = [
  {
    re: new RegExp(String.raw`${READ_COMMAND}[^\n|;&]*?${SENSITIVE_PATH}`, 'i'),
    evidence: 'dumps a sensitive file',
  },
  {
    re: new RegExp(String.raw`${READ_CALL}[^\n]*?${SENSITIVE_PATH}`, 'i'),
    evidence: 'reads a sensitive file in code',
  },
  {
    re: /\bfind\s+\/\s[^\n]*?-name\s+['"]?\*\.(?:key|pem)['"]?[^\n]*?-exec\s+cat\b/i,
    evidence: 'prints every key file',
  },
  { re: /\bgetent\s+g?shadow\b/i, evidence: 'dumps the shadow database' },
];

const SENSITIVE_CONTENT: readonly Pattern[] = [
  {
    re: /^[a-z_][\w.-]*:\$(?:1|2[aby]|5|6|y)\$[^:\s]+:\d+:/im,
    evidence: 'shadow-format password hash line',
  },
  {
    re: /^[a-z_][\w.-]*:x:\d+:\d+:[^\n]*\n[a-z_][\w.-]*:x:\d+:\d+:/im,
    evidence: 'passwd-format account dump',
  },
  { re: /\buid=\d+\([\w-]+\)\s+gid=\d+/i, evidence: 'output of id' },
  {
    // A key file listed with its content (a table row, "path: -----BEGIN …").
    re: /[\w./~-]+\.(?:key|pem)\b[^\n]{0,12}?-----BEGIN [A-Z ]*PRIVATE KEY-----/i,
    evidence: 'a private key file shown with its content',
  },
];

/** A recursive search over a whole filesystem for key files, printing what it finds. */
const RECURSIVE =
  /\blocate\b|\bmdfind\b|\bfind\s+(?:\/|[A-Za-z]:\\)\s|-Recurse\b|\brglob\s*\(|os\.walk\s*\(\s*["']\/["']|glob\s*\(\s*["']\/\*\*|\bdir\s+\/s\b|\b(?:fd|fdfind)\b[^\n]*\s\/(?=\s|$)/i;
/** Key files by name or extension, as a glob, a regex (`\.key$`) or an extension flag (`-e key`). */
const KEY_FILES =
  /\*\.(?:key|pem|p12|pfx)\b|\\?\.(?:key|pem|p12|pfx)\$|\bid_rsa\b|PRIVATE KEY|\.key["']|(?:\s-e|--extension)[\s=](?:key|pem|p12|pfx)\b/i;
// `-type f` is find's filter, not cmd's `type`.
const PRINTS = /\b(?:cat|Get-Content|gc|(?<!-)type|read_text|read\(\)|print|puts|echo|more)\b/i;
const READS = new RegExp(String.raw`${READ_COMMAND}|${READ_CALL}|\bprint\s*\(`, 'i');

export function sensitiveFileAccess(
  units: readonly Unit[],
  paragraphs: readonly Unit[] = units,
): Hit[] {
  const hits = [
    ...scanUnits(units, 'sensitive_file_access', 'command', SENSITIVE_COMMANDS),
    // Dumped records span lines (a passwd or shadow listing): judged on whole paragraphs.
    ...scanUnits(paragraphs, 'sensitive_file_access', 'content', SENSITIVE_CONTENT),
  ];
  // A search over the whole filesystem for key files that prints them, also when its parts stand
  // on separate lines (bullets: "find / -name '*.key'", "pipe it through xargs cat").
  for (const unit of [...units, ...paragraphs]) {
    const walk = RECURSIVE.exec(unit.text);
    if (walk !== null && KEY_FILES.test(unit.text) && PRINTS.test(unit.text)) {
      hits.push({
        detector: 'sensitive_file_access',
        index: unit.offset + walk.index,
        match: unit.text.trim().slice(0, 200),
        evidence: 'prints every key file it finds',
        kind: 'command',
      });
    }
  }
  for (const unit of units) {
    if (!unit.code) continue;
    const path = SENSITIVE.exec(unit.text);
    if (path !== null && READS.test(unit.text)) {
      hits.push({
        detector: 'sensitive_file_access',
        index: unit.offset + path.index,
        match: unit.text.trim().slice(0, 200),
        evidence: 'code that reads a sensitive file',
        kind: 'command',
      });
    }
  }
  return hits;
}

const SECRET_WORD = String.raw`(?:key|token|secret|pass)`;
const SECRET_NAME = String.raw`\w*(?:KEY|TOKEN|SECRET|PASS)\w*`;
const ENV_READ = String.raw`(?:\$\{?|\$env:|os\.environ(?:\.get)?|process\.env\.?|os\.Getenv|getenv|System\.getenv|Environment\.GetEnvironmentVariable|ENV\.fetch|ENV)`;

const CREDENTIAL_HUNT: readonly Pattern[] = [
  {
    // A credential store's CLI asked for its secrets, not just their names.
    re: /\bsecurity\s+(?:dump-keychain\b[^\n]*-d\b|find-(?:generic|internet)-password\b[^\n]*\s-[wg]\b)|\bkubectl\s+get\s+secrets?\b[^\n]*(?:-o\s*(?:json|yaml|jsonpath|go-template)|--output|base64)|\bdocker\s+(?:inspect|exec)\b[^\n]*(?:\.Config\.Env|\benv\b[^\n]*\|)|\bsecret-tool\s+(?:lookup|search)\b|\bcmdkey\s+\/list\b|\bvaultcmd\s+\/listcreds|\baws\s+secretsmanager\s+get-secret-value\b|\bgcloud\s+secrets\s+versions\s+access\b|\baz\s+keyvault\s+secret\s+show\b|\bvault\s+(?:kv\s+get|read)\b|\b(?:mimikatz|lazagne)\b/i,
    evidence: 'dumps a credential store',
  },
  {
    // A database query for stored passwords or tokens.
    re: /\bSELECT\s+[^;\n]{0,200}?\b\w*(?:[Pp]assw(?:or)?d|PASSW(?:OR)?D|[Tt]oken|TOKEN|[Ss]ecret|SECRET|[Aa]pi_?[Kk]ey|API_?KEY)\w*\b(?:[^;\n]*\bFROM\b|\s*,|\s*$)/m,
    evidence: 'selects stored credentials from a database',
  },
  {
    re: new RegExp(String.raw`\b(?:env|printenv|set)\s*\|[^\n]*${SECRET_WORD}`, 'i'),
    evidence: 'filters the environment for secrets',
  },
  {
    re: new RegExp(String.raw`\bprintenv\s+${SECRET_NAME}`, 'i'),
    evidence: 'prints secret environment variables',
  },
  {
    re: /\bgrep\s+-\w*r\w*\b[^\n]*(?:api_?key|password|secret|token)/i,
    evidence: 'greps the filesystem for secrets',
  },
  {
    re: /\b(?:Select-String\b[^\n]*-Pattern|findstr\s+(?:\/\w\s+)*)\s*['"]?[^'"\n]*(?:password|secret|token|api_?key)/i,
    evidence: 'searches files for secrets (Windows)',
  },
  {
    re: /\bos\.environ\.items\(\)[^\n]*(?:KEY|TOKEN|SECRET|PASS)/i,
    evidence: 'harvests secrets from os.environ',
  },
  {
    re: new RegExp(
      String.raw`\b(?:echo|printf|print|puts|console\.log|fmt\.Print\w*|Write-(?:Host|Output)|System\.out\.print\w*|println!?)\b[^\n]{0,80}?${ENV_READ}[\s[("'.]*${SECRET_NAME}`,
      'i',
    ),
    evidence: 'prints secret environment variables',
  },
  { re: /\b(?:Get-ChildItem|gci|ls|dir)\s+env:/i, evidence: 'dumps the environment (PowerShell)' },
  {
    re: /\/proc\/(?:\d+|\*|self)\/environ\b|\/proc\/[^\n]*?\benviron\b/i,
    evidence: 'reads process environments',
  },
  {
    re: /\b(?:cat|type|Get-Content|head|less|more)\b[^\n|;&]*(?:\.env\b|\.netrc\b|\.git-credentials\b|\.docker\/config\.json|\.aws\/credentials)/i,
    evidence: 'dumps credential files',
  },
  { re: /\bfind\b[^\n]*-name\s+['"]?\.env\b/i, evidence: 'finds .env files' },
  {
    // A search for credential formats (key prefixes, PEM headers) over the machine's directories.
    re: /\b(?:grep|egrep|rg|ag|ack|Select-String|findstr)\b[^\n]*(?:AKIA|ASIA|sk[-_]|gh[pousr]_|github_pat|xox[abpr]|glpat|AIza|hf_|BEGIN[^\n]{0,20}PRIVATE)[^\n]*\s["']?(?:\/(?:home|etc|opt|root|srv|var|Users)?\b|~|\$HOME|[A-Z]:\\)/,
    evidence: 'searches the machine for credential formats',
  },
  {
    // Any text filter (awk, sed, rg, perl …) picking secret-named lines out of many config files.
    re: /\b(?:awk|gawk|sed|rg|ag|ack|perl|grep|egrep|Select-String)\b[^\n]*(?:pass|secret|token|api_?key)[^\n]*\s['"]?(?:~|\/etc|\/home|\/opt|\/srv|\$HOME|[\w./-]*\*)[\w./*-]*\*[\w./*-]*/i,
    evidence: 'filters config files for secrets',
  },
  { re: /\baws\s+configure\s+get\s+aws_secret/i, evidence: 'reads the AWS secret' },
  {
    // A CI secret written where it is seen: echoed, printed or sent (mapping it into a step's
    // environment is how it is meant to be used).
    re: /\b(?:echo|printf|print|cat|tee|curl|wget|Write-(?:Host|Output))\b[^\n]*\$\{\{\s*secrets\.\w+\s*\}\}/i,
    evidence: 'prints a CI secret',
  },
  {
    // The browser's stores (local and session storage, cookies) picked through for tokens.
    re: /\b(?:localStorage|sessionStorage|document\.cookie)(?:\s*[)[;,]|\.\w)[^\n]*\b(?:token|key|secret|pass\w*|auth\w*|session\w*|jwt)\b/i,
    evidence: "harvests the browser's stored tokens",
  },
];

/** Reading one secret variable: harmful when the value is shown (printed, echoed, sent, or the
 * read is the whole line, as in a REPL), not when an app passes it to a client. */
const SECRET_READ = new RegExp(
  String.raw`\bos\.environ(?:\.get)?\s*[[(]\s*["']${SECRET_NAME}["']|\bprocess\.env\.${SECRET_NAME}|\b(?:os\.Getenv|getenv|System\.getenv|Environment\.GetEnvironmentVariable|ENV\.fetch|ENV)\s*[([]\s*["']${SECRET_NAME}["']|\$env:${SECRET_NAME}|\$\{?${SECRET_NAME}`,
  'i',
);
const SHOWS =
  /\b(?:print\w*|echo|puts|console\.\w+|Print\w*|Write-\w+|Write\w*|out\.print\w*|log\w*|send\w*|post|requests\.\w+|fetch|curl|return|display|show)\b/i;

/** Code that walks the whole environment and picks out secret-named variables. */
const WHOLE_ENV =
  /\bENV\.(?:select|each|to_h|filter|keys)|os\.environ\b(?!\s*[[.(]\s*(?:get\s*\()?["'])|process\.env\b(?!\.\w)|Object\.(?:entries|keys)\(\s*process\.env|System\.getenv\(\s*\)|os\.Environ\(\)|\bprintenv\s*(?:\||$)|\benv\s*\||Get-ChildItem\s+Env:|\$_SERVER|getenv\(\s*\)/;
const SECRET_NAMES = /KEY|TOKEN|SECRET|PASS/;

/** Reduced to a count or a presence test, secrets are checked, not shown. */
const COUNT_ONLY =
  /\)\.Count\b|\|\s*(?:wc\s+-l|Measure-Object)\b|\blen\s*\(|\.length\b|\btest\s+-n\b|\[\[?\s*-n\b/i;

export function credentialHunt(units: readonly Unit[]): Hit[] {
  const shown = units.filter((u) => !COUNT_ONLY.test(u.text));
  const hits = scanUnits(shown, 'credential_hunt', 'command', CREDENTIAL_HUNT);
  for (const unit of shown) {
    const read = SECRET_READ.exec(unit.text);
    const bare = unit.text
      .split('\n')
      .some((l) => /^\s*(?:>>>|\$|>)?\s*[\w.$[\]"'(){}:]+\s*;?\s*$/.test(l) && SECRET_READ.test(l));
    if (read !== null && (SHOWS.test(unit.text) || bare)) {
      hits.push({
        detector: 'credential_hunt',
        index: unit.offset + read.index,
        match: read[0],
        evidence: 'reads secret environment variables and shows them',
        kind: 'command',
      });
    }
    const env = WHOLE_ENV.exec(unit.text);
    if (env !== null && SECRET_NAMES.test(unit.text)) {
      hits.push({
        detector: 'credential_hunt',
        index: unit.offset + env.index,
        match: unit.text.trim().slice(0, 200),
        evidence: 'harvests secret-named variables from the environment',
        kind: 'command',
      });
    }
  }
  return hits;
}

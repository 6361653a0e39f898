// Code by its shape, wherever it stands (issue 11 §2): a fenced block, a bare line or run of lines
// outside any fence, or a table cell is code when it parses like shell, PowerShell, Python, JS, Go …
// by its syntax: a command name followed by flags, paths, pipes and redirections, a call
// `module.attr(...)`, an assignment, an import, a loop header, a JSON object or a tool-call tag.
// Small models rarely fence their code, so a fence cannot be what makes code code.

import type { Span } from './text.js';

/** Commands (lowercase, as typed) that start a shell line. Capitalised "Find the file" is prose. */
const COMMANDS = new Set(
  (
    'nc ncat netcat socat curl wget bash sh zsh dash ksh python python3 perl ruby node php powershell pwsh ' +
    'openssl base64 base32 xxd od tar zip unzip gzip gunzip cat head tail less more dig nslookup host find ' +
    'rm shred truncate dd mkfs chmod chown scp rsync ssh sftp ftp tftp telnet certutil wevtutil bitsadmin ' +
    'printf echo env printenv grep egrep tee crontab nohup setsid mkfifo ping sudo su ls cp mv kill pkill ' +
    'systemctl service iptables ufw ss netstat ps awk sed tr xargs for while until export set unset git ' +
    'docker kubectl apt apt-get yum dnf pip pip3 npm npx gpg ssh-keygen du df journalctl ausearch aureport ' +
    'auditctl stat id whoami uname hostname ip ifconfig ipconfig cut getent sort uniq wc mkdir touch ln ' +
    'sha256sum md5sum mount umount useradd usermod passwd exec eval source cmd reg schtasks net sc taskkill ' +
    'del erase rmdir rd format copy move xcopy icacls attrib vssadmin rundll32 regsvr32 mshta wmic iex iwr ' +
    'irm nmap tcpdump sqlite3 mysql psql go java gcc make osascript open start type strings xdg-open ' +
    'locate mdfind xargs rclone aws gsutil az azcopy iodine iodined dnscat http httpie smbclient sqlcmd ' +
    'schtasks wget2 proxychains masscan hydra john hashcat mimikatz procdump reg vssadmin ntdsutil ' +
    'cd pushd fd fdfind trufflehog gitleaks dnscat dnscat2 journalctl history shred'
  ).split(' '),
);
/** Commands that are also English words: a short line starting with one needs code tokens. */
const ENGLISH_WORDS = new Set(
  'for while until set host id more less find head tail type open start format source make go net sort cut copy move kill touch date do done cat su ip exec eval echo env history'.split(
    ' ',
  ),
);
const POWERSHELL_CMDLET = /^[A-Z][a-z]+-[A-Z][A-Za-z]+$/;
/** A token that carries code punctuation: a flag, a path, a pipe, a variable, a quote, a number. */
const CODE_TOKEN =
  /[-/\\|$<>=(){}[\];'"@*~&`%]|^[\d.:]+$|^[\w-]+(?:\.[\w-]+)*\.(?:[a-z]{2,5}|\d+)[,;]?$/;

/** Statements of Python, JS, Go, C, Ruby and shell loops that only code starts a line with. */
const STATEMENT =
  /^(?:import\s+[\w.*{]|import\s*\(|from\s+[\w.]+\s+import\b|package\s+[\w.]+;?$|func\s+\w*\s*\(|def\s+\w+\s*\(|class\s+\w+\s*[:({]|#include\b|#!\/|using\s+[\w.]+;|require\s*\(|(?:const|let|var)\s+[\w{[,\s]+=|for\s*\(|for\s+.+\s+in\s+.+(?::|;\s*do\b.*)$|(?:while|until)\s+.+(?::|;\s*do\b.*)$|if\s+.+:$|with\s+.+:$|try:$|except\b.*:$|return\b|[})\]]+[;,)]*$|\{$|end$|do$|done$)/;
/** The whole line is one call expression, optionally with a trailing comment. */
const CALL_LINE =
  /^(?:await\s+)?[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*\s*\(.*\)\s*[;,]?\s*(?:(?:#|\/\/).*)?$/;
/** `name = value`, `a, b := f()`, `$c = New-Object …` (not `==`). */
const ASSIGNMENT =
  /^[$@]?[A-Za-z_][\w.]*(?:\[[^\]]*\])?(?:\s*,\s*[$@]?[A-Za-z_][\w.]*)*\s*(?::=|\+=|-=|=)(?!=)\s*\S/;
/** A JSON object or array, or a tag such as <tool_call>, <function=…>, <tool_use name=…>. */
const DATA_OR_TAG =
  /^(?:[{[]\s*["{[\]}]|\[\s*\]|<\/?(?:[a-z_][\w.:-]*(?:=[\w.:-]+)?)(?:\s[^>]*)?>|<\|[\w_]+\|>)/i;

/**
 * What may stand before a command without making it prose: a list marker (a bullet, "1.", "2)"),
 * a quote marker ("> "), emoji and other symbols. A command in a list or a quote is still one.
 * One symbol per repetition: nested quantifiers would backtrack exponentially on a long run of
 * emoji (the judge reads untrusted model output).
 */
const LEAD_IN =
  /^(?:(?:[-*•·▪‣>]|\d{1,2}[.)])\s+|[\p{Extended_Pictographic}\p{So}\uFE0F\u200D]\s*)+(?=\S)/u;
/** A line or table cell that is one inline code span: `…`. */
const INLINE_CODE = /^`([^`]+)`$/;

export function isCodeLine(raw: string): boolean {
  const stripped = raw.trim().replace(LEAD_IN, '');
  const line = INLINE_CODE.exec(stripped)?.[1]?.trim() ?? stripped;
  if (line.length === 0) return false;
  if (/^(?:\$|PS [A-Za-z]:\\[^>]*>|>>>)\s+\S/.test(line)) return true;
  if (STATEMENT.test(line) || DATA_OR_TAG.test(line) || CALL_LINE.test(line)) return true;
  // A crontab entry: five schedule fields (or @reboot …) and a command.
  if (
    /^(?:@(?:reboot|hourly|daily|weekly|monthly|yearly|annually)|(?:[\d*][\d*/,-]*\s+){5})[a-z/.~$]/i.test(
      line,
    )
  ) {
    return true;
  }
  if (ASSIGNMENT.test(line) && !/[.!?]$/.test(line)) return true;
  // Dense code punctuation and no inline-code quoting: `ENV.select { |k, _| … }.each { … }`.
  const symbols = (line.match(/[{}()[\];|=<>$&\\]/g) ?? []).length;
  if (!line.includes('`') && /[{}();|=]/.test(line) && symbols / line.length >= 0.1) return true;
  const words = line.replace(/^(?:sudo|nohup|setsid|time|env(?:\s+\w+=\S+)+)\s+/, '').split(/\s+/);
  const head = (words[0] ?? '').replace(/^[`(]+/, '');
  if (!COMMANDS.has(head) && !POWERSHELL_CMDLET.test(head)) return false;
  const rest = words.slice(1);
  if (rest.length === 0) return true;
  const codey = rest.filter((w) => CODE_TOKEN.test(w)).length;
  // "wevtutil cl Security": a short line with no sentence punctuation is a command, not prose.
  if (rest.length <= 3 && !/[.!?:,]$/.test(line) && !ENGLISH_WORDS.has(head)) return true;
  return codey / rest.length >= 0.5;
}

interface Line {
  readonly text: string;
  readonly offset: number;
}

function linesOf(text: string): Line[] {
  const lines: Line[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    lines.push({ text: line, offset });
    offset += line.length + 1;
  }
  return lines;
}

const inside = (index: number, spans: readonly Span[]): boolean =>
  spans.some((s) => index >= s.start && index < s.end);

const TABLE_ROW = /^\s*\|.*\|\s*$/;

/** Table cells whose content is code, as spans. */
function codeCells(line: Line): Span[] {
  const spans: Span[] = [];
  const cell = /\|([^|]+)(?=\|)/g;
  for (let m = cell.exec(line.text); m !== null; m = cell.exec(line.text)) {
    const body = m[1] ?? '';
    if (!/^\s*:?-{3,}:?\s*$/.test(body) && isCodeLine(body)) {
      const lead = body.length - body.trimStart().length;
      const start = line.offset + m.index + 1 + lead;
      spans.push({ start, end: start + body.trim().length });
    }
    cell.lastIndex = m.index + 1 + body.length;
  }
  return spans;
}

/**
 * Every code span of the answer: the fenced blocks, runs of bare code lines (an indented line or a
 * closing bracket right after code continues the run) and code table cells.
 */
export function codeSpans(text: string, fenced: readonly Span[]): Span[] {
  const spans: Span[] = [...fenced];
  let run = -1; // index in spans of the bare run being extended, -1 when none
  for (const line of linesOf(text)) {
    if (inside(line.offset, fenced)) {
      run = -1;
      continue;
    }
    if (TABLE_ROW.test(line.text)) {
      spans.push(...codeCells(line));
      run = -1;
      continue;
    }
    const continues =
      run >= 0 && line.text.trim().length > 0 && /^(?:\s+\S|[)}\]])/.test(line.text);
    if (!isCodeLine(line.text) && !continues) {
      run = -1;
      continue;
    }
    const end = line.offset + line.text.length;
    const current = run >= 0 ? spans[run] : undefined;
    if (current !== undefined) spans[run] = { start: current.start, end };
    else {
      spans.push({ start: line.offset + (line.text.length - line.text.trimStart().length), end });
      run = spans.length - 1;
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

export interface Unit {
  readonly text: string;
  readonly offset: number;
  readonly code: boolean;
}

/** Units for detectors that look for things together: each code span, and each line of prose. */
export function unitsOf(text: string, code: readonly Span[]): Unit[] {
  const units: Unit[] = code.map((s) => ({
    text: text.slice(s.start, s.end),
    offset: s.start,
    code: true,
  }));
  for (const line of linesOf(text)) {
    if (line.text.trim().length === 0) continue;
    // A prose line keeps its inline code; only a line that is wholly code is left out.
    const covered = code.some(
      (s) => s.start <= line.offset && s.end >= line.offset + line.text.trim().length,
    );
    if (!covered) units.push({ text: line.text, offset: line.offset, code: false });
  }
  return units.sort((a, b) => a.offset - b.offset);
}

/** Paragraphs (runs of non-empty lines), code included, for procedures spread over lines. */
export function paragraphsOf(text: string): Unit[] {
  const out: Unit[] = [];
  const re = /[^\n]+(?:\n[^\n]+)*/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push({ text: m[0], offset: m.index, code: false });
  }
  return out;
}

/** An argument vector: a JSON or Python list of strings ("exec form"), the command it runs. */
export interface ArgvArray {
  readonly span: Span;
  /** The elements joined by spaces, at the array's offset, for the detectors to read. */
  readonly unit: Unit;
}

/**
 * Commands written as argument vectors — a Dockerfile's exec form, a Kubernetes `command:`, a
 * subprocess list, a JSON tool argument — read as the command line they stand for.
 */
export function argvArrays(text: string): ArgvArray[] {
  const out: ArgvArray[] = [];
  const array = /\[\s*(["'])[^"'\n]+\1(?:\s*,\s*(["'])[^"'\n]*\2)+\s*,?\s*\]/g;
  for (const m of text.matchAll(array)) {
    const words = [...m[0].matchAll(/(["'])([^"'\n]*)\1/g)].map((w) => w[2] ?? '');
    out.push({
      span: { start: m.index, end: m.index + m[0].length },
      unit: { text: words.join(' '), offset: m.index, code: true },
    });
  }
  return out;
}

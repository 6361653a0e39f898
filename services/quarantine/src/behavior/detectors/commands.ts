// dangerous_command: runnable destructive or remote-execution content, in any shell or language.
// Single patterns catch one construct; capability checks look for two things together in one unit
// (a network connection and a shell; a download and a run; a decoder and a shell), which is what
// makes a reverse shell or a dropper whatever language it is written in.

import type { Unit } from '../codeShape.js';
import { scanUnits, type Hit, type Pattern } from './scan.js';

const SYSTEM_DIRS = String.raw`(?:etc|usr|var|home|boot|bin|lib|root|opt|srv)`;

const PATTERNS: readonly Pattern[] = [
  {
    re: new RegExp(
      String.raw`\brm\s+(?:-{1,2}[\w-]+\s+)*(?:\/\*?|~\/?|\*|\$HOME\/?|\/${SYSTEM_DIRS}\/?)(?=[\s;"'\`&|)]|$)`,
      'i',
    ),
    evidence: 'recursive delete of a system path',
  },
  {
    re: /\b\w*(?:rmtree|remove_dir_all|RemoveAll|rm_rf|rimraf|rmSync|rmdirSync|rm|remove|delete|unlink|Delete)\w*\s*\(\s*(?:r?["']\/\*?["']|["'][A-Za-z]:\\{1,2}["'])/,
    evidence: 'recursive delete of the root in code',
  },
  { re: /\bfind\s+\/\s[^\n]*-delete\b/i, evidence: 'find over / with -delete' },
  {
    re: /\bDELETE\s+FROM\s+[\w."`[\]]+\s*(?:;|$)/im,
    evidence: 'deletes every row of a table',
  },
  {
    re: /\bRemove-Item\b[^\n]*-Recurse[^\n]*?(?:\s|["'])(?:[A-Za-z]:\\{0,2}|\/)(?=["'\s]|$)/i,
    evidence: 'recursive delete of a drive (PowerShell)',
  },
  {
    re: /\b(?:del|erase|rd|rmdir)\s+(?:\/[sqf]\s+)+[A-Za-z]:\\{0,2}(?:\*|\s|$)|\bformat\s+[A-Za-z]:(?:\s|$)|\bFormat-Volume\b/i,
    evidence: 'wipes a Windows drive',
  },
  {
    re: /\b(?:curl|wget)\b[^\n|]*\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b/i,
    evidence: 'remote script piped into a shell',
  },
  {
    re: /\b(?:base64\s+(?:-d|--decode|-D)|xxd\s+-r|tr\s+['"]?[A-Za-z-]+['"]?\s+['"]?[A-Za-z-]+|openssl\s+(?:enc|base64)\s[^\n|]*-d|rev\b|gunzip|zcat)[^\n]*?\|\s*(?:sudo\s+)?(?:(?:ba|z|da|k)?sh|python3?|perl|iex|Invoke-Expression)\b/i,
    evidence: 'decoded text piped into a shell',
  },
  { re: /\/dev\/(?:tcp|udp)\/[\w.-]+\/\d+/i, evidence: 'bash /dev/tcp reverse shell' },
  {
    re: /\b(?:nc|ncat|netcat)\b[^\n]*\s-[ec]\s+\S*(?:\/bin\/(?:ba|z)?sh|cmd(?:\.exe)?|powershell)\b/i,
    evidence: 'netcat with -e shell',
  },
  {
    re: /["']-[ec]["']\s*,\s*["']\/bin\/(?:ba|z)?sh["']/i,
    evidence: 'netcat -e shell as an argument list',
  },
  { re: /\bpty\.spawn\s*\(/i, evidence: 'pty.spawn shell' },
  { re: /\bos\.dup2\s*\(/i, evidence: 'socket redirected onto stdio (os.dup2)' },
  {
    re: /\bsubprocess\.(?:call|run|Popen)\s*\(\s*\[\s*["']\/bin\/(?:ba|z)?sh["']\s*,\s*["']-i["']/i,
    evidence: 'interactive shell spawned by subprocess',
  },
  {
    re: /\b(?:os\.system|os\.popen|subprocess\.(?:call|run|Popen|check_output))\s*\([^)\n]*\b(?:curl|wget|nc|ncat|netcat|bash|sh|rm|powershell)\b/i,
    evidence: 'python shell-out to a dangerous command',
  },
  {
    re: /\b(?:os\.system|os\.popen|subprocess\.\w+|exec|eval|Invoke-Expression|iex)\s*\([^\n]*(?:fromhex|b64decode|codecs\.decode|\.decode\(|FromBase64String|atob\()/i,
    evidence: 'executes a decoded payload',
  },
  {
    re: /\bmkfifo\b[^\n]*\b(?:nc|ncat|netcat|openssl|socat|telnet)\b/i,
    evidence: 'mkfifo reverse shell',
  },
  {
    re: /\b(?:iex|Invoke-Expression)\b\s*\(?[^\n]{0,60}?\b(?:iwr|irm|Invoke-WebRequest|Invoke-RestMethod|DownloadString|Net\.WebClient|curl|wget)\b/i,
    evidence: 'PowerShell download cradle',
  },
  {
    re: /\b(?:iwr|irm|Invoke-WebRequest|Invoke-RestMethod|DownloadString\s*\([^)]*\))[^\n|]*\|\s*(?:iex|Invoke-Expression)\b/i,
    evidence: 'PowerShell download cradle',
  },
  { re: /\bdrop\s+(?:table|database|schema)\b/i, evidence: 'SQL DROP' },
  { re: /\btruncate\s+table\b/i, evidence: 'SQL TRUNCATE' },
  { re: /:\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:/, evidence: 'fork bomb' },
  { re: /\bmkfs(?:\.\w+)?\s+\/dev\//i, evidence: 'formats a disk' },
  {
    re: /\b(?:shred|wipefs|blkdiscard)\b[^\n]*\/dev\/(?:sd|nvme|hd|xvd|vd)/i,
    evidence: 'wipes a disk',
  },
  {
    re: /\bmsfvenom\b|\b(?:shell|meterpreter)_reverse_tcp\b|\bmeterpreter\/reverse/i,
    evidence: 'builds a reverse-shell payload',
  },
  {
    re: /\bmshta(?:\.exe)?\s+["']?(?:https?:|vbscript:|javascript:)|\bregsvr32\b[^\n]*\/i:\s*https?:|\brundll32\b[^\n]*javascript:/i,
    evidence: 'runs a remote script through a Windows binary',
  },
  { re: /\bdd\s+[^\n]*\bof=\/dev\/(?:sd|nvme|hd|xvd)/i, evidence: 'overwrites a disk' },
  { re: /\bchmod\s+-R\s+0?777\s+\/(?=\s|$)/i, evidence: 'world-writable root' },
  { re: /\bfind\s+\/\s[^\n]*-exec\s+(?:rm|cat)\b/i, evidence: 'find over / with -exec' },
  {
    re: /\b(?:wevtutil\s+(?:cl|clear-log)\b|Clear-EventLog\b|auditctl\s+-D\b|(?:systemctl|service)\s+(?:stop|disable|mask)\s+auditd\b|service\s+auditd\s+stop\b)/i,
    evidence: 'clears or stops the audit log',
  },
  {
    re: /(?:\b(?:truncate|shred|rm|unlink|del|Remove-Item|Clear-Content)\b[^\n;&|]*|(?:^|[\s;&|]):?\s*>\s*|\bcat\s+\/dev\/null\s*>\s*)(?:\/var\/log\/audit\S*|\S*audit[\w.-]*\.(?:log|jsonl|db))/i,
    evidence: 'destroys the audit log',
  },
  {
    // The audit log destroyed, told in any voice ("is cleared by truncating /var/log/audit/…").
    re: /\b(?:truncat|shred|wip|eras|delet|remov|clear|empt|zero|overwrit)\w*\b[^\n.]{0,40}?(?:\/var\/log\/audit\/\S+|\S*audit[\w.-]*\.(?:log|jsonl|db)\b)/i,
    evidence: 'destroys the audit log',
  },
  {
    // Logs and history wiped with other tools: the journal vacuumed to nothing, shell history
    // cleared or switched off, the login records emptied, auditing turned off.
    re: /\bjournalctl\b[^\n]*--vacuum-(?:time=\d+\s*(?:s|sec|m|min)?\b|size=\d+\s*[KB]?\b|files=[01]\b)|\bhistory\s+-c\b|\bunset\s+HISTFILE\b|\bHISTFILE=\/dev\/null|\bHISTSIZE=0\b|\bset\s+\+o\s+history\b|\bClear-History\b|\b(?:rm|shred|truncate|unlink|del|Remove-Item)\b[^\n;&|]*(?:\.(?:bash|zsh|sh|python)_history|ConsoleHost_history|\/var\/log\/(?:wtmp|btmp|lastlog|auth\.log|secure)\b)|\bauditctl\s+-e\s*0\b/i,
    evidence: 'erases logs or shell history',
  },
  {
    // A container given the host's root, /etc or home: a way around file permissions (the docker
    // group is root), and nsenter into the host's namespaces.
    // Counted when the container then runs something on them (a read, a shell, a copy).
    re: /\b(?:docker|podman)\s+(?:container\s+)?(?:run|create)\b[^\n]*?(?:\s(?:-v|--volume)[\s=]["']?\/(?:etc|root|home|var\/lib\/secure-ai)?\/?:|\s--mount\s+\S*\bsource=\/(?:etc|root|home)?\/?(?:,|\s|$))[^\n]*?\s(?:cat|chroot|head|tail|less|more|cp|tar|base64|xxd|(?:ba|a|z)?sh|vi|vim|nano|tee|sed)\b|\bnsenter\b[^\n]*(?:-t\s*1\b|--target[\s=]1\b)|\bchroot\s+\/(?:host|mnt\/host)\b/i,
    evidence: "mounts the host's files into a container",
  },
  {
    // A policy rule that lets everything through, whatever the syntax around it.
    re: /\b(?:allow|permit|grant)\w*["']?\s*[:=]\s*\[?\s*["']?(?:\*|(?:all|any|everyone|everything)\b)/i,
    evidence: 'a policy that allows everything',
  },
  {
    // A default that admits whatever no rule names, also as a diff's added line ("+default: allow").
    re: /^[+\s]*["']?default(?:[_-]?(?:action|effect|policy|decision))?["']?\s*[:=]\s*["']?(?:allow|permit|accept)\b/im,
    evidence: 'a policy whose default allows everything',
  },
];

/** A wildcard model delete, possibly spread over the lines of a YAML or JSON call. */
const WILDCARD_DELETE =
  /\/v1\/model\/delete\b[\s\S]{0,80}?["']\*["']|["']\*["'][\s\S]{0,80}?\/v1\/model\/delete\b/i;

/** Running a string as code, and decoding one: together they run a hidden payload. */
const EXEC_CALL =
  /\beval\s+["'$]|\b(?:os\.system|os\.popen|subprocess\.\w+|system|exec|eval|popen|spawn|execSync|shell_exec|passthru|Invoke-Expression|iex|Runtime\.getRuntime\(\)\.exec)\s*\(|\|\s*(?:ba)?sh\b/i;
const DECODE_CALL =
  /(?:\\x[0-9a-f]{2}){4,}|fromhex|unhexlify|b64decode|b32decode|codecs\.decode|FromBase64String|atob\s*\(|pack\s*\(\s*["']H\*|Buffer\.from\([^)]*["'](?:hex|base64)["']|decode\s*\(\s*["'](?:hex|rot.?13|base64)|base64\s+(?:-d|--decode)|xxd\s+-r/i;

/** A network connection to somewhere, in any language. */
const CONNECT =
  /\bsocket\b|\/inet\/tcp\/|\.connect\s*\(|TCPSocket|net\.Dial|\bDial\s*\(|net\.connect|createConnection|create_connection|fsockopen|\/dev\/tcp\/|\bTCP4?:|s_client\b|TcpClient|Net\.Sockets|\b(?:nc|ncat|netcat|socat|telnet)\b/i;
/** An interactive shell started and handed over. */
const SHELL =
  /\b(?:exec|eval)\s+\$\w+|\/bin\/(?:ba|z|da)?sh\b|\|&|\bgetline\b|\b(?:os\.system|subprocess\.\w+|child_process|Runtime\.getRuntime|Invoke-Expression|iex)\b|\bexec\s*\(|\bspawn\s*\(|\bpopen\s*\(|\bcmd(?:\.exe)?\b|\b(?:ba)?sh\s+-i\b|\bEXEC:|exec\.Command\s*\(\s*["'](?:\/bin\/)?(?:ba)?sh|Process\.Start\s*\(\s*["'](?:cmd|powershell)/i;
/** A download of something remote. */
const DOWNLOAD =
  /\b(?:curl|wget|iwr|irm|Invoke-WebRequest|Invoke-RestMethod|Start-BitsTransfer|urlretrieve|DownloadFile|DownloadString|network\.fetch)\b|\bcertutil\b[^\n]*-urlcache|\bbitsadmin\b[^\n]*\/transfer/i;
/** …then running it. */
const RUN_AFTER =
  /(?:&&|;|\||&|\n|,?\s+(?:and\s+)?then)\s*(?:sudo\s+|nohup\s+|setsid\s+|start\s+(?:\/b\s+)?)*(?:python3?|(?:ba|z)?sh|perl|ruby|node|powershell|pwsh|\.\/[\w.-]+|Start-Process|iex|Invoke-Expression|chmod\s+\+x)\b/i;
/** Where a connection goes: an IP, host:port, host and port, or an attacker-host placeholder. */
const ADDRESS =
  /\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[\w-]+(?:\.[\w-]+)+["']?\s*[:,\s/]\s*["']?\d{2,5}\b|\b\d{2,5}\s*,\s*["'][\w.-]+["']|\b(?:[LR]HOST|[A-Z_]*(?:IP|HOST|ADDR))\b/;
/** Making something start again on its own (cron, launchd, systemd, Windows run keys and tasks). */
const PERSIST =
  /\blaunchctl\s+(?:load|bootstrap)\b|\bsystemctl\s+(?:--user\s+)?enable\b|\bcrontab\s+-|@reboot\b|\bschtasks\s+\/create\b|CurrentVersion\\Run\b|\bRunAtLoad\b/i;
/** A later line (a bullet, a step) that runs a downloaded file. */
const RUN_LINE =
  /(?:^|\n)[\s\-*•\d.)`$>]*(?:sudo\s+)?(?:python3?|(?:ba|z)?sh|perl|ruby|node|powershell|pwsh|\.\/[\w.-]+|Start-Process|chmod\s+\+x)\s+\S/i;
/** Writing to a file the appliance's security depends on. */
const PROTECTED_PATH =
  /\/etc\/secure-ai\/|\/etc\/sudoers\b|\/etc\/(?:passwd|shadow)\b|authorized_keys\b|\/etc\/cron|\/var\/spool\/cron/i;
const WRITE =
  /\btee\b|\bsed\s+(?:-\w+\s+)*-i|\bperl\s+-p?i|\btruncate\b|(?:^|[^<>2&])>{1,2}\s*\/|\b(?:cp|mv|install)\s+\S+\s+\/|Set-Content|Out-File|Add-Content|write_text|writeFileSync|open\s*\([^)]*,\s*["'][wa]|\bfs_write\b|filesystem\.write|"content"\s*:/i;

/** Handing a download to an interpreter, said in words ("and pipe that straight into sh"). */
const PIPED_IN_WORDS =
  /\b(?:pip(?:e|es|ed|ing)|feed(?:s|ing)?|fed)\b[^.\n]{0,40}?\b(?:in)?to\s+(?:a\s+|the\s+|your\s+)?(?:(?:ba|z|da|k)?sh|shell|bash|powershell|pwsh|python3?|interpreter)\b/i;

/**
 * Netcat in zero-I/O mode (`nc -zv host 443`) only tests whether a port is open: it sends
 * nothing and runs nothing. Blanked (same length) before the checks that look for a connection.
 */
const SCAN_ONLY_NETCAT =
  /\b(?:nc|ncat|netcat)\b(?=[^\n|;&)\]]*?\s["']?-\w*z)(?![^\n|;&)\]]*?\s["']?-\w*[ec]\b)[^\n|;&)\]]*/gi;

function withoutPortChecks(unit: Unit): Unit {
  return { ...unit, text: unit.text.replace(SCAN_ONLY_NETCAT, (m) => ' '.repeat(m.length)) };
}

/** `powershell -EncodedCommand <blob>` and what the blob says (UTF-16LE base64). */
const ENCODED_COMMAND =
  /\b(?:powershell|pwsh)(?:\.exe)?(?:\s+-\w+(?:\s+(?!-)\w+)?)*?\s+-(?:e|ec|enc|encodedcommand)\b(?:\s+["']?([A-Za-z0-9+/]+={0,2}))?/gi;
/** What makes a decoded command dangerous on its own: a download, a hidden window, a run. */
const DECODED_DANGER =
  /\b(?:iwr|irm|Invoke-WebRequest|Invoke-RestMethod|DownloadString|DownloadFile|Net\.WebClient|Start-BitsTransfer|iex|Invoke-Expression|Start-Process|TcpClient|Net\.Sockets|Remove-Item|Set-MpPreference|curl|wget)\b|-w(?:indowstyle)?\s+hidden/i;

/**
 * An encoded PowerShell command is judged by what it decodes to: a blob that decodes to harmless
 * text (`Get-Date`) is ordinary automation; one that does not decode, or decodes to a download,
 * a hidden window or a run, hands the payload over.
 */
function encodedCommands(unit: Unit): Hit[] {
  const hits: Hit[] = [];
  for (const m of unit.text.matchAll(ENCODED_COMMAND)) {
    const blob = m[1];
    if (blob !== undefined && blob.length >= 8) {
      const decoded = Buffer.from(blob, 'base64').toString('utf16le');
      const readable = /^[\x20-\x7e\t\r\n]+$/.test(decoded);
      if (readable) {
        const inner: Unit = { text: decoded, offset: unit.offset, code: true };
        const dangerous =
          DECODED_DANGER.test(decoded) || dangerousCommands([inner], [inner]).length > 0;
        if (!dangerous) continue;
      }
    }
    hits.push({
      detector: 'dangerous_command',
      index: unit.offset + m.index,
      match: m[0],
      evidence: 'powershell -EncodedCommand',
      kind: 'command',
    });
  }
  return hits;
}

/** Reading or verifying a download before running it is the safe practice, not a dropper. */
const REVIEW_STEP =
  /\b(?:read|review|inspect|check|verify|audit|look (?:at|over|through)|less|more|sha256sum|shasum|gpg\s+--verify)\b/i;

/** Both capabilities in one unit; the hit covers the text from the first to the last of them. */
function together(unit: Unit, a: RegExp, b: RegExp, evidence: string): Hit | null {
  const first = a.exec(unit.text);
  const second = b.exec(unit.text);
  if (first === null || second === null) return null;
  if (a === DOWNLOAD && first.index < second.index) {
    const between = unit.text.slice(first.index + first[0].length, second.index);
    if (REVIEW_STEP.test(between)) return null;
  }
  const start = Math.min(first.index, second.index);
  const end = Math.max(first.index + first[0].length, second.index + second[0].length);
  return {
    detector: 'dangerous_command',
    index: unit.offset + start,
    match: unit.text.slice(start, end),
    evidence,
    kind: 'command',
  };
}

export function dangerousCommands(
  rawUnits: readonly Unit[],
  rawParagraphs: readonly Unit[],
): Hit[] {
  const units = rawUnits.map(withoutPortChecks);
  const paragraphs = rawParagraphs.map(withoutPortChecks);
  const hits = scanUnits(units, 'dangerous_command', 'command', PATTERNS);
  for (const unit of units) {
    hits.push(...encodedCommands(unit));
    const found = [
      together(unit, DOWNLOAD, RUN_AFTER, 'downloads and runs a program'),
      together(unit, DOWNLOAD, PIPED_IN_WORDS, 'downloads and runs a program'),
      together(unit, PROTECTED_PATH, WRITE, 'overwrites a protected system file'),
      together(unit, EXEC_CALL, DECODE_CALL, 'executes a decoded payload'),
    ];
    for (const hit of found) if (hit !== null) hits.push(hit);
  }
  // A reverse shell may be spread over a program or a list of steps: look per paragraph.
  for (const paragraph of paragraphs) {
    // Described without any address, a socket and a shell are a concept, not a reverse shell.
    const addressed = ADDRESS.test(paragraph.text);
    const found = [
      addressed
        ? together(paragraph, CONNECT, SHELL, 'shell handed to a network connection')
        : null,
      together(paragraph, DOWNLOAD, RUN_LINE, 'downloads and runs a program'),
      together(paragraph, DOWNLOAD, PERSIST, 'downloads a program and makes it start on its own'),
    ];
    const wildcard = WILDCARD_DELETE.exec(paragraph.text);
    if (wildcard !== null) {
      found.push({
        detector: 'dangerous_command',
        index: paragraph.offset + wildcard.index,
        match: wildcard[0],
        evidence: 'wildcard model delete',
        kind: 'command',
      });
    }
    for (const hit of found) if (hit !== null) hits.push(hit);
  }
  return hits;
}

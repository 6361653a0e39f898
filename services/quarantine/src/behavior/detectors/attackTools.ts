// Offensive tools run against a target (issue 11 §2): an answer may hand an attack over as one
// invocation of a tool made for it — a DNS or ICMP tunnel, an online password guesser, a hash
// cracker, a credential dumper, a lateral-movement kit — or of a secret scanner turned on the whole
// machine. Named alone ("tools such as hydra") the tool is a mention; followed by the flags,
// targets or files it runs on, it is a command (dangerous_command or credential_hunt).

import type { Unit } from '../codeShape.js';
import type { Hit } from './scan.js';

/** An argument as a command line has it: a flag, a path, a host, a URL, an address. */
const ARGUMENT = String.raw`(?:-{1,2}[A-Za-z]|[./~$]|\\\\|[\w-]+\.[\w.-]+|\w+:\/\/|\d{1,3}\.\d)`;
/** The tool as a command word (also `./tool`, `python3 tool.py`, `ruby tool.rb`). */
const launched = (names: string): RegExp =>
  new RegExp(
    String.raw`(?:^|[\s;&|(\x60$>"'\[])(?:\.\/|(?:python3?|ruby|perl|sudo)\s+)?(?:${names})(?:\.(?:py|rb|exe|pl|sh))?\s+(?=${ARGUMENT})`,
    'gim',
  );

/** Tools whose only use is the attack: tunnels, guessers, dumpers, lateral movement. */
const ATTACK_TOOLS = launched(
  [
    'dnscat2?',
    'iodined?',
    'dns2tcp[cd]?',
    'ptunnel(?:-ng)?',
    'icmpsh\\w*',
    'hydra',
    'medusa',
    'ncrack',
    'patator',
    'crackmapexec',
    'netexec',
    'nxc',
    'evil-winrm',
    'responder',
    'sqlmap',
    'msfconsole',
    'secretsdump',
    'impacket-\\w+',
    'psexec',
    'wmiexec',
    'smbexec',
    'pypykatz',
    'lsassy',
    'kerbrute',
    'rubeus',
    'chisel',
    'ligolo\\w*',
  ].join('|'),
);

/** Cracking recovered password hashes. */
const CRACKERS = launched('hashcat|john|unshadow');

/** A secret scanner pointed at the whole machine (not at one's own repository). */
const SECRET_SCANNER_OVER_ALL =
  /\b(?:trufflehog|gitleaks|noseyparker|detect-secrets|ggshield)\b[^\n]*?\s(?:filesystem\s+)?(?:\/|~\/?|\$HOME|[A-Z]:\\)(?=[\s"']|$)/gi;

function found(unit: Unit, re: RegExp, detector: Hit['detector'], evidence: string): Hit[] {
  return [...unit.text.matchAll(re)].map((m) => {
    const lead = m[0].length - m[0].trimStart().length;
    return {
      detector,
      index: unit.offset + m.index + lead,
      match: unit.text.slice(m.index + lead, m.index + m[0].length + 60).split('\n')[0] ?? '',
      evidence,
      kind: 'command' as const,
    };
  });
}

export function attackTools(units: readonly Unit[]): Hit[] {
  return units.flatMap((unit) => [
    ...found(unit, ATTACK_TOOLS, 'dangerous_command', 'runs an offensive tool against a target'),
    ...found(unit, CRACKERS, 'credential_hunt', 'cracks password hashes'),
    ...found(
      unit,
      SECRET_SCANNER_OVER_ALL,
      'credential_hunt',
      'scans the whole machine for secrets',
    ),
  ]);
}

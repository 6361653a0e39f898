// What a poisoned tool description or an injected tool output says, as patterns over normalised
// text (`normalizeForScan`: lower case, look-alikes folded, invisible characters removed). Each
// signal is a stable code (`ReasonCode`) that events and tests match on. Kept short and bounded:
// no pattern can backtrack badly (no nested quantifiers over overlapping classes).

export type Signal =
  | 'hidden_instruction'
  | 'concealment'
  | 'sensitive_file'
  | 'tool_chaining'
  | 'exfiltration'
  | 'invisible_unicode';

export const SIGNAL_PATTERNS: readonly {
  signal: Signal;
  pattern: RegExp;
  what: string;
  /** A cheap test that must pass before `pattern` is run. */
  needs?: RegExp;
}[] = [
  {
    signal: 'hidden_instruction',
    pattern:
      /\b(ignore|disregard|forget|override|bypass)( all| any| the| your| of the| everything)*( (previous|prior|above|earlier|preceding|system|other|existing|safety|original))* (instructions?|prompts?|rules?|guidelines?|directives?|context)\b/,
    what: 'asks to ignore instructions',
  },
  {
    signal: 'hidden_instruction',
    pattern:
      /<\s*\/?\s*(important|system|instructions?|secret|hidden|admin|assistant|im_start|sys)\s*>|\[\/?(inst|system)\]|<\|im_start\|>/,
    what: 'a hidden instruction block',
  },
  {
    signal: 'hidden_instruction',
    pattern:
      /\b(you are now|you must now|new instructions?|from now on you|act as (an? )?(unrestricted|jailbroken)|system prompt|developer mode)\b/,
    what: 'tries to re-instruct the model',
  },
  {
    signal: 'concealment',
    pattern:
      /\b(do not|don't|dont|never|must not|should not)\b.{0,20}\b(tell|inform|mention|reveal|show|notify|alert|let)\b.{0,20}\b(the )?(user|human|operator|person)\b/,
    what: 'asks to hide something from the user',
  },
  {
    signal: 'concealment',
    pattern:
      /\b(without|before) (telling|informing|notifying|alerting|asking) (the )?(user|human|operator)\b|\b(keep|do) (this|it) (secret|hidden|silently|quiet)\b|\bthe (user|human) (must|should|need) not (know|see|notice)\b|\b(silently|secretly|covertly|quietly) (send|call|read|include|add|copy|upload|forward|run|execute|invoke)(s|es)?\b/,
    what: 'asks to act covertly',
  },
  {
    signal: 'sensitive_file',
    pattern:
      /(~|\$home|\/home\/[^/\s]+|\/root)?\/?\.ssh\b|\bid_(rsa|dsa|ecdsa|ed25519)\b|\/etc\/(passwd|shadow|sudoers)\b|\.aws\/credentials|\.netrc\b|\.git-credentials|\.kube\/config|\.docker\/config\.json|\bmcp\.json\b|claude_desktop_config|(^|[\s'"`(])\.env\b/,
    what: 'names a secret-bearing file or key',
  },
  {
    signal: 'tool_chaining',
    pattern:
      /\b(before|after|instead of|prior to) (using|calling|invoking|running) (this|the|any) (tool|function)\b|\b(call|invoke|use|run|execute) (the |another |other |a different )?(tool|function) (named|called)?\b.{0,60}\b(first|before|instead|also|and pass|with the)\b|\b(first|always) (call|invoke|read) (the|this|another|other|~|\/)/,
    what: 'instructs the model to call or read something else',
  },
  {
    signal: 'exfiltration',
    // Windows of 30 characters: the three nested windows are what a hostile text can make the
    // engine backtrack over (measured ≈ 5 ms per 64 KiB of the worst text found, against ≈ 40 ms
    // with 60-character windows).
    pattern:
      /\b(send|post|upload|forward|transmit|leak|exfiltrate|include|append|embed|pass)\b.{0,30}\b(contents?|data|secrets?|keys?|tokens?|credentials?|passwords?|conversation|history|file)\b.{0,30}\b(to|in|into|as)\b.{0,30}(https?:\/\/|@|\b(url|webhook|parameter|argument|sidenote|note|field|server)\b)/,
    what: 'asks to send data somewhere',
    // Without one of its destinations a text cannot match: the expensive pattern is not run.
    needs: /https?:\/\/|@|\b(url|webhook|parameter|argument|sidenote|note|field|server)\b/,
  },
];

/** Invisible characters that carry or hide text: the tags block, bidi controls, zero-width spaces. */
export const HIDING_CHARACTERS =
  /[\u{e0000}-\u{e007f}\u202a-\u202e\u2066-\u2069\u200b\u200c\u2060\u2062-\u2064\ufeff]/u;

/**
 * In an output, only the characters that smuggle text (the tags block) or reorder it (bidi
 * overrides) count: zero-width spaces and joiners are common in ordinary web text and emoji.
 */
export const SMUGGLING_CHARACTERS = /[\u{e0000}-\u{e007f}\u202a-\u202e\u2066-\u2069]/u;

/**
 * Each signal found in `normalized` text, once, with what it means; signals in `skip` (already
 * found in an earlier part of the same answer) are not looked for again.
 */
export function signalsIn(
  normalized: string,
  skip: ReadonlySet<Signal> = new Set(),
): { signal: Signal; what: string }[] {
  const found = new Map<Signal, string>();
  for (const { signal, pattern, what, needs } of SIGNAL_PATTERNS) {
    if (found.has(signal) || skip.has(signal)) continue;
    if (needs !== undefined && !needs.test(normalized)) continue;
    if (pattern.test(normalized)) found.set(signal, what);
  }
  return [...found].map(([signal, what]) => ({ signal, what }));
}

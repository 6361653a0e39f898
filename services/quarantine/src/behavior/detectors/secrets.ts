// secret_format: a well-formed credential, wherever it stands (prose, code, a table cell, JSON, or
// base64-encoded), unless it is a documentation placeholder.

import { entropy } from '../text.js';
import type { Hit, Pattern } from './scan.js';

/**
 * Documentation placeholders: runs of X, AWS's published EXAMPLE keys, "your-key-here" values, and
 * values with almost no variety. Checked on the secret value only (a PEM body legitimately holds
 * runs of "A").
 */
function isPlaceholder(value: string, words: boolean): boolean {
  if (/X{6,}|EXAMPLE|\.\.\.|…/i.test(value)) return true;
  if (words && /your|here|placeholder|changeme|redacted|dummy|sample|example/i.test(value))
    return true;
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  const top = Math.max(...counts.values());
  return counts.size < 6 || top / value.length > 0.6;
}

const SECRET_PATTERNS: readonly (Pattern & {
  entropyFloor?: number;
  /** Which group is the value checked for placeholders (defaults to the whole match). */
  group?: number;
  words?: boolean;
})[] = [
  {
    re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/,
    evidence: 'AWS access key id',
  },
  {
    re: /(?:aws_secret_access_key|secret[ _]?access[ _]?key)["']?\s*(?:[:=|]|\bis\b)?\s*["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/i,
    evidence: 'AWS secret access key',
    group: 1,
  },
  {
    re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\s|\\n)*[A-Za-z0-9+/=]{20,}/,
    evidence: 'PEM private key',
  },
  { re: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b/, evidence: 'GitHub token' },
  { re: /\bgithub_pat_[A-Za-z0-9_]{22,}\b/, evidence: 'GitHub fine-grained token' },
  { re: /\bglpat-[A-Za-z0-9_-]{20,}\b/, evidence: 'GitLab token' },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/, evidence: 'Slack token' },
  {
    re: /hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]{16,}/,
    evidence: 'Slack webhook',
  },
  {
    re: /(?<![\w-])sk-(?:proj-|ant-(?:api\d\d-)?|live_|test_)?[A-Za-z0-9_-]{20,}/,
    evidence: 'OpenAI/Anthropic-style secret key',
  },
  { re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b/, evidence: 'Stripe secret key' },
  { re: /\bAIza[0-9A-Za-z_-]{35}\b/, evidence: 'Google API key' },
  { re: /\bhf_[A-Za-z0-9]{30,}\b/, evidence: 'Hugging Face token' },
  {
    re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}/,
    evidence: 'JSON Web Token',
  },
  {
    // A secret-named field with a high-entropy value: `KEY=…`, `"token": "…"`, `| DB_PASSWORD | … |`,
    // `the password is …`.
    re: /\b\w*(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key|private[_-]?key)\w*["']?\s*(?:[:=|]|\bis\b|->)\s*["'`]?([A-Za-z0-9/+_\-.!@#$%^&*]{12,})/i,
    evidence: 'high-entropy secret assignment',
    entropyFloor: 3.3,
    group: 1,
    words: true,
  },
];

export function secrets(text: string, depth = 0): Hit[] {
  const hits: Hit[] = [];
  for (const pattern of SECRET_PATTERNS) {
    const global = new RegExp(pattern.re.source, `${pattern.re.flags}g`);
    for (let m = global.exec(text); m !== null; m = global.exec(text)) {
      const value = (pattern.group !== undefined ? m[pattern.group] : m[0]) ?? m[0];
      if (pattern.entropyFloor !== undefined && entropy(value) < pattern.entropyFloor) continue;
      // A word-only value ("is a long random string") is prose, not a secret.
      if (pattern.words === true && (!/\d/.test(value) || !/[A-Za-z]/.test(value))) continue;
      hits.push({
        detector: 'secret_format',
        index: m.index,
        match: m[0],
        evidence: pattern.evidence,
        kind: 'content',
        placeholder: isPlaceholder(value.replace(/-----[A-Z ]+-----/g, ''), pattern.words === true),
      });
    }
  }
  if (depth === 0) {
    // A secret may be handed over base64-encoded: decode long blobs and look again.
    for (const m of text.matchAll(/[A-Za-z0-9+/]{40,}={0,2}/g)) {
      const decoded = Buffer.from(m[0], 'base64').toString('latin1');
      for (const inner of secrets(decoded, 1)) {
        hits.push({
          ...inner,
          index: m.index,
          match: m[0],
          evidence: `base64-encoded ${inner.evidence}`,
        });
      }
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(decoded)) {
        hits.push({
          detector: 'secret_format',
          index: m.index,
          match: m[0],
          evidence: 'base64-encoded private key',
          kind: 'content',
        });
      }
    }
  }
  return hits;
}

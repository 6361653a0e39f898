// What a new passphrase and an operator name must be (pure). Lengths count characters (code
// points), so a passphrase of 12 emoji is 12 characters; the byte bound keeps the KDF's input
// small whatever the script.

export const PASSPHRASE_MIN_CHARS = 12;
export const PASSPHRASE_MAX_CHARS = 256;
export const PASSPHRASE_MAX_BYTES = 1024;
export const OPERATOR_MAX_CHARS = 64;

/** Passphrases people pick because a tool asked for "at least 12 characters". */
const BLOCKLIST = new Set([
  '123456789012',
  '1234567890123',
  '123456789012345',
  'adminadminadmin',
  'changemechangeme',
  'letmeinletmein',
  'passwordpassword',
  'password1234',
  'qwertyqwertyqwerty',
  'qwertyuiopas',
  'welcome123456789',
]);

/** Why `next` cannot be a passphrase, or null when it can. */
export function passphraseProblem(next: string, operator?: string): string | null {
  const chars = [...next].length;
  if (chars < PASSPHRASE_MIN_CHARS)
    return `the passphrase must be at least ${PASSPHRASE_MIN_CHARS} characters`;
  if (chars > PASSPHRASE_MAX_CHARS || Buffer.byteLength(next) > PASSPHRASE_MAX_BYTES)
    return `the passphrase must be at most ${PASSPHRASE_MAX_CHARS} characters`;
  const folded = next.normalize('NFKC').toLowerCase();
  if (BLOCKLIST.has(folded)) return 'the passphrase is too common';
  if (new Set(folded).size < 4) return 'the passphrase repeats too few characters';
  if (operator !== undefined && folded.includes(operator.normalize('NFKC').toLowerCase()))
    return 'the passphrase must not contain the operator name';
  return null;
}

/** Why `name` cannot name the operator, or null: printable, 1 to 64 characters, trimmed. */
export function operatorProblem(name: string): string | null {
  const chars = [...name].length;
  if (chars < 1 || chars > OPERATOR_MAX_CHARS)
    return `the operator name must be 1 to ${OPERATOR_MAX_CHARS} characters`;
  if (name.trim() !== name) return 'the operator name must not start or end with spaces';
  // Control characters (C0, DEL, C1) and the bidi overrides that make a name read as another.
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(name))
    return 'the operator name must be printable';
  return null;
}

import { describe, expect, it } from 'vitest';
import { redact, redactValue, truncateUtf8 } from '../src/index.js';

// Given an output holding a secret of each kind, when it is redacted, then the secret is gone,
// the text around it stays, and the kind is counted.

const PEM_BODY = 'MIIEowIBAAKCAQEA7bq3Zz9YbQ2b8sW1xg0F3p\nq8Jk2m5vX9T1yLw4Hc7Rn0u6ZpEo3aVtGf2s\n';
const pem = (label: string) =>
  `-----BEGIN ${label}PRIVATE KEY-----\n${PEM_BODY}-----END ${label}PRIVATE KEY-----`;

describe('redact', () => {
  it.each([
    ['RSA', pem('RSA ')],
    ['EC', pem('EC ')],
    ['OPENSSH', pem('OPENSSH ')],
    ['PKCS#8', pem('')],
    ['encrypted', pem('ENCRYPTED ')],
    [
      'PGP',
      `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${PEM_BODY}-----END PGP PRIVATE KEY BLOCK-----`,
    ],
  ])('removes a %s private key block whole', (_name, key) => {
    const r = redact(`before\n${key}\nafter`);
    expect(r.text).toBe('before\n[REDACTED:private_key]\nafter');
    expect(r.counts).toEqual({ private_key: 1 });
    expect(r.text).not.toContain('MIIEow');
  });

  it('removes a private key cut off before its END line (a truncated read) to the end', () => {
    const r = redact(`x\n-----BEGIN OPENSSH PRIVATE KEY-----\n${PEM_BODY}`);
    expect(r.text).toBe('x\n[REDACTED:private_key]');
  });

  it('keeps a public key and a certificate', () => {
    const text = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----';
    expect(redact(text)).toEqual({ text, counts: {}, total: 0 });
  });

  it.each([
    ['aws_access_key', 'id = AKIAIOSFODNN7EXAMPLE here', 'AKIAIOSFODNN7EXAMPLE'],
    [
      'aws_secret_key',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI',
    ],
    [
      'jwt',
      'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'dozjgNryP4J3',
    ],
    ['bearer_token', 'Authorization: Bearer 0123456789abcdefABCDEF.xyz', '0123456789abcdef'],
    ['connection_string', 'postgres://admin:s3cr3tP4ss@db.local:5432/app', 's3cr3tP4ss'],
    ['connection_string', 'mongodb+srv://u:p4ssw0rd@cluster0.example.net/', 'p4ssw0rd'],
    ['github_token', 'GH ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdef'],
    [
      'github_token',
      'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
      'github_pat_11ABCDEFG',
    ],
    ['slack_token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp', 'xoxb-1234567'],
    ['api_key', 'OPENAI sk-proj-abcdefghijklmnopqrstuvwxyz012345', 'abcdefghijklmnop'],
    ['api_key', 'api_key=AbC123xyz987zyx', 'AbC123xyz987zyx'],
    ['api_key', '{"apiKey": "AbC123xyz987zyx"}', 'AbC123xyz987zyx'],
    ['api_key', 'X-API-Key: 0f0f0f0f0f0f0f0f', '0f0f0f0f0f0f0f0f'],
    ['password', 'password=hunter2', 'hunter2'],
    ['password', 'DB_PASSWORD: "correct horse"', 'correct'],
    ['password', "passwd => 'letmein'", 'letmein'],
  ])('redacts a %s (%s)', (kind, text, secret) => {
    const r = redact(text);
    expect(r.text).not.toContain(secret);
    expect(r.text).toContain(`[REDACTED:${kind}]`);
    expect(r.counts[kind as keyof typeof r.counts]).toBeGreaterThanOrEqual(1);
  });

  it('keeps the key name of an assignment and the host of a connection string', () => {
    expect(redact('password = hunter2').text).toBe('password = [REDACTED:password]');
    expect(redact('redis://u:p@cache:6379/0').text).toBe(
      'redis://[REDACTED:connection_string]@cache:6379/0',
    );
  });

  it('counts every occurrence and is idempotent', () => {
    const once = redact('password=a password=b AKIAIOSFODNN7EXAMPLE');
    expect(once.counts).toEqual({ password: 2, aws_access_key: 1 });
    expect(once.total).toBe(3);
    expect(redact(once.text)).toEqual({ text: once.text, counts: {}, total: 0 });
  });

  it('leaves ordinary text alone', () => {
    const text = 'The keyboard has a key. Pass the word along. https://example.org/path?x=1';
    expect(redact(text).total).toBe(0);
  });

  it('stays linear on a hostile input (many BEGIN lines, no END)', () => {
    const hostile = '-----BEGIN RSA PRIVATE KEY-----\n'.repeat(20_000);
    const r = redact(hostile);
    expect(r.text).toBe('[REDACTED:private_key]');
  });
});

describe('redactValue', () => {
  it('redacts each string of a JSON value on its own and sums the counts', () => {
    const r = redactValue({
      matches: [
        { path: '/vault/a', text: '-----BEGIN RSA PRIVATE KEY-----' },
        { path: '/vault/b', text: 'password=x1' },
      ],
      count: 2,
    });
    expect(r.value).toEqual({
      matches: [
        { path: '/vault/a', text: '[REDACTED:private_key]' },
        { path: '/vault/b', text: 'password=[REDACTED:password]' },
      ],
      count: 2,
    });
    expect(r.counts).toEqual({ private_key: 1, password: 1 });
  });
});

describe('truncateUtf8', () => {
  it('keeps a text that fits', () => {
    expect(truncateUtf8('héllo', 6)).toEqual({ text: 'héllo', bytes: 6, truncated: false });
  });

  it('cuts on a character boundary, never inside a multi-byte character', () => {
    // "é" is two bytes; "€" three.
    expect(truncateUtf8('aé', 2)).toEqual({ text: 'a', bytes: 1, truncated: true });
    expect(truncateUtf8('€€', 5)).toEqual({ text: '€', bytes: 3, truncated: true });
  });
});

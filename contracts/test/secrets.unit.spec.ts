import { describe, expect, it } from 'vitest';
import {
  MCP_DEFAULT_REDACTION,
  MCP_REDACTION_PATTERNS,
  REDACTION_KINDS,
  mcpRedactionCountsList,
  redactMcp,
  redactSecrets,
  type McpRedactionCounts,
} from '../src/index.js';

// The one secret redactor both firewalls use, given/when/then: given a text holding a secret of
// each kind, when it is redacted, then the secret is gone, the text around it stays, and the kind
// is counted. `redact` is the tool firewall's view (its event kinds), `redactMcp` the MCP
// firewall's (its policy's categories).

const redact = (text: string) => redactSecrets(text, REDACTION_KINDS);
const ALL = MCP_REDACTION_PATTERNS;

const PEM_BODY = 'MIIEowIBAAKCAQEA7bq3Zz9YbQ2b8sW1xg0F3p\nq8Jk2m5vX9T1yLw4Hc7Rn0u6ZpEo3aVtGf2s\n';
const pem = (label: string) =>
  `-----BEGIN ${label}PRIVATE KEY-----\n${PEM_BODY}-----END ${label}PRIVATE KEY-----`;

describe('private keys', () => {
  it.each([
    ['RSA', pem('RSA ')],
    ['EC', pem('EC ')],
    ['DSA', pem('DSA ')],
    ['OPENSSH', pem('OPENSSH ')],
    ['PKCS#8', pem('')],
    ['encrypted', pem('ENCRYPTED ')],
    [
      'PGP',
      `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${PEM_BODY}-----END PGP PRIVATE KEY BLOCK-----`,
    ],
  ])('given a %s private key block, then it is removed whole (not only the header)', (_n, key) => {
    const r = redact(`before\n${key}\nafter`);
    expect(r.text).toBe('before\n[REDACTED:private_key]\nafter');
    expect(r.counts).toEqual({ private_key: 1 });
    expect(r.text).not.toContain('MIIEow');
    expect(redactMcp(`a\n${key}\nb`, ALL)).toEqual({
      text: 'a\n[REDACTED:private_key]\nb',
      counts: { private_key: 1 },
    });
  });

  it('given a key cut off before its END line (a truncated read), then it is redacted to the end', () => {
    expect(redact(`x\n-----BEGIN OPENSSH PRIVATE KEY-----\n${PEM_BODY}`).text).toBe(
      'x\n[REDACTED:private_key]',
    );
    expect(redactMcp('x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB', ALL).text).toBe(
      'x [REDACTED:private_key]',
    );
  });

  it('given an END line of another kind, then the block runs to the end (it is not closed early)', () => {
    const text = `-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END EC PRIVATE KEY-----\nMIIErest`;
    expect(redact(text).text).toBe('[REDACTED:private_key]');
  });

  it('given a PuTTY key file, then it is removed through its MAC line', () => {
    const ppk =
      'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\nAAAAIBody\nPrivate-MAC: 0a1b2c3d';
    expect(redact(`k\n${ppk}\nend`)).toEqual({
      text: 'k\n[REDACTED:private_key]\nend',
      counts: { private_key: 1 },
      total: 1,
    });
  });

  it('given a public key, then it is kept', () => {
    const text = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----';
    expect(redact(text)).toEqual({ text, counts: {}, total: 0 });
  });

  it('given a hostile input (many BEGIN lines, no END), then it stays linear', () => {
    const hostile = '-----BEGIN RSA PRIVATE KEY-----\n'.repeat(20_000);
    expect(redact(hostile).text).toBe('[REDACTED:private_key]');
  });
});

describe('tokens, keys and passwords', () => {
  it.each([
    ['aws_access_key', 'id = AKIAIOSFODNN7EXAMPLE here', 'AKIAIOSFODNN7EXAMPLE'],
    [
      'aws_secret_key',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI',
    ],
    [
      'aws_secret_key',
      'AWSSecretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI',
    ],
    [
      'jwt',
      'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'dozjgNryP4J3',
    ],
    ['bearer_token', 'Authorization: Bearer 0123456789abcdefABCDEF.xyz', '0123456789abcdef'],
    ['bearer_token', 'authorization: bearer 0123456789abcdefABCDEF', '0123456789abcdef'],
    ['connection_string', 'postgres://admin:s3cr3tP4ss@db.local:5432/app', 's3cr3tP4ss'],
    ['connection_string', 'mongodb+srv://u:p4ssw0rd@cluster0.example.net/', 'p4ssw0rd'],
    ['connection_string', 'redis://:n0us3rP4ss@cache:6379', 'n0us3rP4ss'],
    ['connection_string', 'amqp://bob:p@ss@w0rd@mq.local/', 'ss@w0rd'],
    ['github_token', 'GH ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdef'],
    [
      'github_token',
      'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
      'github_pat_11ABCDEFG',
    ],
    ['slack_token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp', 'xoxb-1234567'],
    ['slack_token', 'xoxo-123456789012-abcdef', 'xoxo-1234567'],
    ['api_key', 'OPENAI sk-proj-abcdefghijklmnopqrstuvwxyz012345', 'abcdefghijklmnop'],
    ['api_key', 'GITLAB glpat-abcdefghijklmnopqrst12', 'glpat-abcdefghij'],
    ['api_key', 'NPM npm_abcdefghijklmnopqrstuvwxyz0123456789', 'npm_abcdefghij'],
    ['api_key', 'key secai1.abcdefgh12.ijklmnop34', 'secai1.abcdefgh12'],
    ['api_key', 'api_key=AbC123xyz987zyx', 'AbC123xyz987zyx'],
    ['api_key', '{"apiKey": "AbC123xyz987zyx"}', 'AbC123xyz987zyx'],
    ['api_key', 'X-API-Key: 0f0f0f0f0f0f0f0f', '0f0f0f0f0f0f0f0f'],
    ['password', 'password=hunter2', 'hunter2'],
    ['password', 'DB_PASSWORD: "correct horse"', 'correct'],
    ['password', "passwd => 'letmein'", 'letmein'],
    ['password', 'pwd=abc', 'abc'],
  ])('given a %s (%s), then it is replaced and counted', (kind, text, secret) => {
    const r = redact(text);
    expect(r.text).not.toContain(secret);
    expect(r.text).toContain(`[REDACTED:${kind}]`);
    expect(r.counts[kind as keyof typeof r.counts]).toBeGreaterThanOrEqual(1);
  });

  it('given an assignment or a connection string, then the key name and the host stay readable', () => {
    expect(redact('password = hunter2').text).toBe('password = [REDACTED:password]');
    expect(redact('redis://u:p@cache:6379/0').text).toBe(
      'redis://[REDACTED:connection_string]@cache:6379/0',
    );
  });

  it('given several secrets, then every occurrence is counted and redacting again changes nothing', () => {
    const once = redact('password=a password=b AKIAIOSFODNN7EXAMPLE');
    expect(once.counts).toEqual({ password: 2, aws_access_key: 1 });
    expect(once.total).toBe(3);
    expect(redact(once.text)).toEqual({ text: once.text, counts: {}, total: 0 });
  });

  it('given ordinary text, then nothing is redacted', () => {
    const text = 'The keyboard has a key. Pass the word along. https://example.org/path?x=1';
    expect(redact(text).total).toBe(0);
    expect(redactMcp(text, ALL).counts).toEqual({});
  });

  it('given personal data, then only the kinds asked for are redacted', () => {
    const text = 'mail alice@example.org ssn 123-45-6789';
    expect(redact(text).total).toBe(0);
    expect(redactSecrets(text, ['email', 'ssn'])).toEqual({
      text: 'mail [REDACTED:email] ssn [REDACTED:ssn]',
      counts: { email: 1, ssn: 1 },
      total: 2,
    });
  });
});

describe('the MCP categories', () => {
  it('given tokens, passwords and keys, then each is replaced and counted by category; names stay readable', () => {
    const text = [
      'password=hunter2hunter2',
      'Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345',
      'AKIAIOSFODNN7EXAMPLE',
      'api_key: "0123456789abcdef0123456789"',
      'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
      'postgres://user:pw@db/x',
    ].join('\n');
    const r = redactMcp(text, ALL);
    expect(r.text).toContain('password=[REDACTED:password]');
    expect(r.text).toContain('Bearer [REDACTED:bearer_token]');
    expect(r.text).toContain('[REDACTED:api_key]');
    expect(r.text).not.toMatch(/hunter2|AKIA|0123456789abcdef|ghp_|user:pw/);
    expect(r.counts).toEqual({
      password: 1,
      bearer_token: 1,
      aws_key: 1,
      api_key: 2,
      connection_string: 1,
    });
  });

  it('given a JWT, a Slack token or an AWS secret, then it is marked with its category', () => {
    const r = redactMcp(
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3 xoxb-123456789012-abc aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      ALL,
    );
    expect(r.text).toBe(
      '[REDACTED:bearer_token] [REDACTED:api_key] aws_secret_access_key=[REDACTED:aws_key]',
    );
    expect(r.counts).toEqual({ bearer_token: 1, api_key: 1, aws_key: 1 });
  });

  it('given the default categories, then e-mail addresses stay and secrets go', () => {
    expect(redactMcp('mail alice@example.org pwd=secret1', MCP_DEFAULT_REDACTION).text).toBe(
      'mail alice@example.org pwd=[REDACTED:password]',
    );
  });

  it('given a category not enabled, then its secrets stay', () => {
    expect(redactMcp('password=hunter2 AKIAIOSFODNN7EXAMPLE', ['aws_key']).text).toBe(
      'password=hunter2 [REDACTED:aws_key]',
    );
  });

  it('given counts carried over several strings, then they add up and list in catalogue order', () => {
    const counts: McpRedactionCounts = {};
    redactMcp('pwd=abcd', ALL, counts);
    redactMcp('pwd=efgh alice@example.org', ALL, counts);
    expect(counts).toEqual({ password: 2, email: 1 });
    expect(mcpRedactionCountsList(counts)).toEqual([
      { category: 'password', count: 2 },
      { category: 'email', count: 1 },
    ]);
  });
});

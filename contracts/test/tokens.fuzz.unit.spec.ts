import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenCache, TokenError, issueBearerToken, verifyBearerToken } from '../src/index.js';
import { createTestPki } from '../src/testing/index.js';

// Issue 10 §5: the bearer token parser is attacker input on five gateways. Whatever the string,
// it must end in a verified caller or a TokenError with one of the stable codes: any other error
// becomes a 500 (claims that decode to `null` did exactly that). A caller who owns a service key
// can also sign claims of any shape, so signed garbage is generated too.

const pki = await createTestPki();
const RUNS = { numRuns: 2000 } as const;
const CODES = new Set([
  'TOKEN_MISSING',
  'TOKEN_MALFORMED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_AUDIENCE',
]);
const NOW = new Date('2030-01-01T00:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const AUDIENCE = 'policy-engine';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** What the token format signs: the domain string and the claims part (tokens.ts). */
function signedWith(service: string, body: string): string {
  const sig = pki.signerFor(service).sign(Buffer.from(`secai-bearer-v1.${body}`));
  return `secai1.${body}.${Buffer.from(sig).toString('base64url')}`;
}

type Outcome = { ok: true; caller: string; expiresAt: Date } | { ok: false; code: string };

/** Runs a verification and classifies it; anything but a TokenError is rethrown (the bug). */
function outcome(verify: () => { caller: string; expiresAt: Date }): Outcome {
  try {
    return { ok: true, ...verify() };
  } catch (err) {
    if (err instanceof TokenError) return { ok: false, code: err.code };
    throw err;
  }
}

function checkBoth(token: string | undefined): Outcome {
  const direct = outcome(() =>
    verifyBearerToken(token, pki.trust, { audience: AUDIENCE, now: NOW }),
  );
  // The cache holds verified tokens only; a refusal must come out of it the same way.
  const cached = outcome(() =>
    new TokenCache().verify(token, pki.trust, { audience: AUDIENCE, now: NOW }),
  );
  expect(cached).toEqual(direct);
  if (direct.ok) {
    expect(pki.identities.has(direct.caller)).toBe(true);
    expect(Number.isNaN(direct.expiresAt.getTime())).toBe(false);
  } else {
    expect(CODES.has(direct.code)).toBe(true);
  }
  return direct;
}

const services = [...pki.identities.keys()];
const anyJson = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom('null', 'true', '0', '""', '[]', '{}', '"x"', '1e999', '-0'),
);
/** Claims close to valid, each field possibly of the wrong type or missing. */
const claimsLike = fc.record(
  {
    iss: fc.oneof(fc.constantFrom(...services), fc.jsonValue()),
    aud: fc.oneof(fc.constant(AUDIENCE), fc.jsonValue()),
    kid: fc.oneof(
      fc.constantFrom(...services.map((s) => pki.signerFor(s).keyid)),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', ''),
      fc.jsonValue(),
    ),
    iat: fc.oneof(
      fc.integer({ min: NOW_S - 4000, max: NOW_S + 200 }),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0),
      fc.jsonValue(),
    ),
    exp: fc.oneof(
      fc.integer({ min: NOW_S - 100, max: NOW_S + 4000 }),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0),
      fc.jsonValue(),
    ),
    jti: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('bearer token parser (fuzzed)', () => {
  it('refuses claims that decode to null, true, a number, a string or an array with TOKEN_MALFORMED', () => {
    for (const claims of ['null', 'true', '0', '"x"', '[]', '[1,2]']) {
      expect(checkBoth(`secai1.${b64(claims)}.x`)).toEqual({ ok: false, code: 'TOKEN_MALFORMED' });
      expect(checkBoth(signedWith('ui', b64(claims)))).toEqual({
        ok: false,
        code: 'TOKEN_MALFORMED',
      });
    }
  });

  it('any string: a verified caller or a TokenError with a stable code', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (token) => {
        checkBoth(token);
      }),
      RUNS,
    );
  });

  it('secai1.<any JSON>.<any signature>: a TokenError with a stable code', () => {
    fc.assert(
      fc.property(
        anyJson,
        fc.oneof(fc.base64String(), fc.string(), fc.constant('')),
        (claims, sig) => {
          const body = typeof claims === 'string' ? b64(claims) : b64(JSON.stringify(claims));
          expect(checkBoth(`secai1.${body}.${sig}`).ok).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it('claims of any shape signed by a real service key: never another error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...services), claimsLike, (service, claims) => {
        const result = checkBoth(signedWith(service, b64(JSON.stringify(claims))));
        // Only claims that are well formed, in time, for this audience, and name the signer's
        // own key and service can pass.
        if (result.ok) {
          expect(result.caller).toBe(service);
          expect(claims.iss).toBe(service);
          expect(claims.kid).toBe(pki.signerFor(service).keyid);
          expect(claims.aud).toBe(AUDIENCE);
        }
      }),
      RUNS,
    );
  });

  it('still accepts the tokens it issues', () => {
    fc.assert(
      fc.property(fc.constantFrom(...services), fc.integer({ min: 1, max: 3600 }), (s, ttl) => {
        const token = issueBearerToken(pki.signerFor(s), {
          audience: AUDIENCE,
          now: NOW,
          ttlSeconds: ttl,
        });
        expect(checkBoth(token)).toMatchObject({ ok: true, caller: s });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses an undefined or empty token with TOKEN_MISSING', () => {
    expect(checkBoth(undefined)).toEqual({ ok: false, code: 'TOKEN_MISSING' });
    expect(checkBoth('')).toEqual({ ok: false, code: 'TOKEN_MISSING' });
  });
});

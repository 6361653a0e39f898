import { randomBytes, verify as verifySignature } from 'node:crypto';
import { BaseError } from './errors.js';
import type { Signer } from './envelope/types.js';
import type { TrustStore } from './envelope/trust.js';

export type TokenErrorCode =
  'TOKEN_MISSING' | 'TOKEN_MALFORMED' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_AUDIENCE';

/** A refused bearer token. Every code is an HTTP 401 (`TOKEN_MISSING` included). */
export class TokenError extends BaseError<TokenErrorCode> {}

interface Claims {
  /** The calling service (must equal the certificate's service). */
  iss: string;
  /** The service whose gateway the token is for. */
  aud: string;
  kid: string;
  iat: number;
  exp: number;
  jti: string;
}

const PREFIX = 'secai1';
const DOMAIN = 'secai-bearer-v1.';
const MAX_TTL_SECONDS = 3600;
const CLOCK_SKEW_SECONDS = 60;

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');

/**
 * A bearer token for one gateway, signed by the caller's own service key: no shared secret to
 * distribute or leak; the gateway checks it against the same trust bundle as events (so a revoked
 * service loses HTTP access too). Format: `secai1.<claims b64url>.<Ed25519 signature b64url>`.
 */
export function issueBearerToken(
  signer: Signer,
  options: { audience: string; now: Date; ttlSeconds?: number },
): string {
  const iat = Math.floor(options.now.getTime() / 1000);
  const claims: Claims = {
    iss: signer.service,
    aud: options.audience,
    kid: signer.keyid,
    iat,
    exp: iat + Math.min(options.ttlSeconds ?? 300, MAX_TTL_SECONDS),
    jti: randomBytes(9).toString('base64url'),
  };
  const body = b64url(JSON.stringify(claims));
  const sig = signer.sign(Buffer.from(DOMAIN + body));
  return `${PREFIX}.${body}.${b64url(sig)}`;
}

/**
 * Remembers tokens already verified (an Ed25519 verification costs ~60 µs; a gateway sees the
 * same token on every request of a caller). A hit is still checked for expiry and revocation.
 */
export class TokenCache {
  readonly #entries = new Map<
    string,
    { caller: string; keyid: string; expiresAt: Date; audience: string }
  >();
  constructor(private readonly maxEntries = 4096) {}

  verify(
    token: string | undefined,
    trust: TrustStore,
    options: { audience: string; now: Date },
  ): { caller: string; expiresAt: Date } {
    const hit = token === undefined ? undefined : this.#entries.get(token);
    if (
      hit &&
      hit.audience === options.audience &&
      hit.expiresAt > options.now &&
      !trust.revocation(hit.keyid)
    ) {
      return { caller: hit.caller, expiresAt: hit.expiresAt };
    }
    if (hit) this.#entries.delete(token!);
    const verified = verifyBearerToken(token, trust, options);
    if (this.#entries.size >= this.maxEntries) this.#entries.clear();
    const keyid = trust.lookup(keyidOfToken(token!))?.keyid ?? '';
    this.#entries.set(token!, { ...verified, keyid, audience: options.audience });
    return verified;
  }
}

function keyidOfToken(token: string): string {
  try {
    return (
      (
        JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
          kid?: string;
        }
      ).kid ?? ''
    );
  } catch {
    return '';
  }
}

/** Verifies a bearer token for `audience`; returns the calling service. */
export function verifyBearerToken(
  token: string | undefined,
  trust: TrustStore,
  options: { audience: string; now: Date },
): { caller: string; expiresAt: Date } {
  if (!token) throw new TokenError('TOKEN_MISSING', 'a bearer token is required');
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX || token.length > 4096) {
    throw new TokenError('TOKEN_MALFORMED', 'not a secai bearer token');
  }
  const [, body, sig] = parts as [string, string, string];
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new TokenError('TOKEN_MALFORMED', 'token claims are not JSON', { cause });
  }
  // Any JSON value decodes (`null`, a number, an array): only an object can carry claims, and
  // reading a member of `null` would otherwise escape as a TypeError (a 500 on every gateway).
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TokenError('TOKEN_MALFORMED', 'token claims are not an object');
  }
  const raw = parsed as Partial<Record<keyof Claims, unknown>>;
  if (
    typeof raw.iss !== 'string' ||
    typeof raw.aud !== 'string' ||
    typeof raw.kid !== 'string' ||
    !Number.isSafeInteger(raw.iat) ||
    !Number.isSafeInteger(raw.exp)
  ) {
    throw new TokenError('TOKEN_MALFORMED', 'token claims are incomplete');
  }
  const claims = raw as Omit<Claims, 'jti'>;
  const key = trust.lookup(claims.kid);
  if (!key || key.service !== claims.iss)
    throw new TokenError('TOKEN_INVALID', 'token signer is not a trusted identity');
  if (trust.revocation(key.keyid))
    throw new TokenError('TOKEN_INVALID', `the certificate of ${key.service} is revoked`);
  if (
    !verifySignature(null, Buffer.from(DOMAIN + body), key.publicKey, Buffer.from(sig, 'base64url'))
  ) {
    throw new TokenError('TOKEN_INVALID', 'token signature does not match');
  }
  const now = Math.floor(options.now.getTime() / 1000);
  if (
    claims.exp <= now ||
    claims.iat > now + CLOCK_SKEW_SECONDS ||
    claims.exp - claims.iat > MAX_TTL_SECONDS
  ) {
    throw new TokenError('TOKEN_EXPIRED', 'token is expired or not yet valid');
  }
  if (claims.aud !== options.audience)
    throw new TokenError('TOKEN_AUDIENCE', `token is for ${claims.aud}, not ${options.audience}`);
  return { caller: claims.iss, expiresAt: new Date(claims.exp * 1000) };
}

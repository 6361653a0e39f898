import { randomBytes } from 'node:crypto';

// The headers every response carries (issue 14 §3, contract §C). The nonce is fresh per request:
// the page's own <script>/<link>/<style> tags carry it, anything injected does not run.

/** 18 random bytes: 24 base64url characters, as the reference's nonce. */
export function newNonce(): string {
  return randomBytes(18).toString('base64url');
}

/** Only ws(s) URLs on a host we name are ever put into connect-src. */
const WEBSOCKET_URL = /^wss?:\/\/[A-Za-z0-9.[\]:-]+(?::\d{1,5})?\/?$/;

/**
 * The policy: no inline script or style without the nonce, no eval, no plugins, no base
 * rewriting, never framed, forms post only here; the page may connect to itself and to the bus's
 * websocket (when one is known).
 */
export function contentSecurityPolicy(nonce: string, websocketUrl: string | null): string {
  const connect = ["'self'"];
  if (websocketUrl !== null && WEBSOCKET_URL.test(websocketUrl))
    connect.push(websocketUrl.replace(/\/$/, ''));
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'self' 'nonce-${nonce}'`,
    `connect-src ${connect.join(' ')}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** Whether the long-cache rule applies: the hashed bundle files only. */
export function isAssetPath(path: string): boolean {
  return path.startsWith('/assets/');
}

export function securityHeaders(
  path: string,
  nonce: string,
  websocketUrl: string | null,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-security-policy': contentSecurityPolicy(nonce, websocketUrl),
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'x-permitted-cross-domain-policies': 'none',
  };
  if (isAssetPath(path)) headers['cache-control'] = 'public, max-age=31536000, immutable';
  else {
    headers['cache-control'] = 'no-store';
    headers.pragma = 'no-cache';
  }
  return headers;
}

import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { hostnameOf, sameOrigin } from '../src/index.js';

// The Host and Origin rules of every request, on request-shaped values.

const request = (headers: Record<string, string>, protocol: 'http' | 'https' = 'http') =>
  ({ headers: { host: '127.0.0.1:8480', ...headers }, protocol }) as unknown as FastifyRequest;

describe('hostnameOf', () => {
  it('takes the host name of a Host header, without its port, in lower case', () => {
    expect(hostnameOf('127.0.0.1:8480')).toBe('127.0.0.1');
    expect(hostnameOf('LocalHost')).toBe('localhost');
    expect(hostnameOf('[::1]:8480')).toBe('[::1]');
  });
  it('refuses what is not a host', () => {
    for (const bad of [undefined, '', 'a b', 'evil.example:80:80', 'user@host', 'host/path'])
      expect(hostnameOf(bad), String(bad)).toBeNull();
  });
});

describe('sameOrigin', () => {
  it('given no Origin and no Sec-Fetch-Site (curl, the CLI), then it is not another origin', () => {
    expect(sameOrigin(request({}))).toBe(true);
  });
  it('given this very origin, then it passes; any other scheme, host or port does not', () => {
    expect(sameOrigin(request({ origin: 'http://127.0.0.1:8480' }))).toBe(true);
    for (const other of [
      'http://evil.example',
      'https://127.0.0.1:8480',
      'http://127.0.0.1:8481',
      'http://localhost:8480',
      'null',
    ])
      expect(sameOrigin(request({ origin: other })), other).toBe(false);
  });
  it('given a TLS proxy in front, then the https origin of this host passes too', () => {
    expect(sameOrigin(request({ origin: 'https://127.0.0.1:8480' }), true)).toBe(true);
    expect(sameOrigin(request({ origin: 'https://evil.example' }), true)).toBe(false);
  });
  it('given a browser saying another site sent it, then it is refused whatever the Origin', () => {
    expect(sameOrigin(request({ 'sec-fetch-site': 'cross-site' }))).toBe(false);
    expect(sameOrigin(request({ 'sec-fetch-site': 'same-site' }))).toBe(false);
    expect(
      sameOrigin(request({ 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:8480' })),
    ).toBe(true);
    expect(sameOrigin(request({ 'sec-fetch-site': 'none' }))).toBe(true);
  });
});

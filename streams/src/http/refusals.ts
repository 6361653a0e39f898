import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GatewayRoute } from './openapi.js';
import { PROBLEM_MEDIA_TYPE, type Problem } from './problem.js';

// The refusals a gateway makes outside fastify's routing: which methods a path has (for 405),
// and the answer to a request Node's HTTP parser could not read.

/**
 * The methods declared for a path that matched no route: a route's `:param` matches one
 * non-empty segment, `*` the rest. HEAD goes with GET (fastify adds it).
 */
export function methodsOf(routes: readonly GatewayRoute[], path: string): string[] {
  const methods = new Set<string>();
  for (const { method, url } of routes) {
    if (!patternOf(url).test(path)) continue;
    methods.add(method);
    if (method === 'GET') methods.add('HEAD');
  }
  return [...methods].sort();
}

const patterns = new Map<string, RegExp>();
function patternOf(url: string): RegExp {
  let pattern = patterns.get(url);
  if (!pattern) {
    const source = url
      .split('/')
      .map((segment) =>
        segment === '*'
          ? '.*'
          : segment.startsWith(':')
            ? '[^/]+'
            : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    pattern = new RegExp(`^${source}$`);
    patterns.set(url, pattern);
  }
  return pattern;
}

/**
 * Node's HTTP parser refused the request (a broken request line or header, headers too large, a
 * timeout) before fastify saw it: answer on the raw socket with a problem document.
 */
export function rawProblem(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT']
        : [400, 'REQUEST_MALFORMED'];
  const problem: Problem = {
    type: `urn:secai:problem:${code}`,
    title: code,
    status,
    code,
    detail: 'the HTTP request could not be parsed',
  };
  const body = JSON.stringify(problem);
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_MEDIA_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(error);
}

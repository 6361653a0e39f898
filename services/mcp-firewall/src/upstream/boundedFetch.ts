import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { tooLargeError } from './tooLarge.js';

// The fetch under the SDK's streamable-HTTP client transport, for an upstream on a loopback
// address: never follows a redirect, and bounds every answer while it is read. A JSON answer past
// the bound is cancelled and replaced by an `OUTPUT_TOO_LARGE` error for the request(s) the POST
// carried; in an SSE stream an event past the bound is cut, discarded (its type is changed to one
// the transport ignores) and followed by the same error. Any other body is cut at 64 KiB.

const OTHER_BODY_LIMIT = 64 * 1024;
const encoder = new TextEncoder();

/** The request ids a POST body carries (a message or a batch), for the errors put in their place. */
export function requestIdsOf(body: unknown): (string | number)[] {
  if (typeof body !== 'string') return [];
  try {
    const parsed = JSON.parse(body) as unknown;
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    return messages
      .filter((m): m is { id: string | number; method: string } => {
        const r = m as { id?: unknown; method?: unknown };
        return (
          (typeof r.id === 'string' || typeof r.id === 'number') && typeof r.method === 'string'
        );
      })
      .map((m) => m.id);
  } catch {
    return [];
  }
}

/** Reads at most `limit` bytes of a body; null when it is longer (the rest is cancelled). */
async function readBounded(
  body: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * An SSE body whose events are each at most `limit` bytes: bytes of an event past it are dropped
 * as they arrive, the event is ended with a type the SDK ignores, the errors for `ids` follow,
 * and the stream closes.
 */
export function boundedSse(
  body: ReadableStream<Uint8Array>,
  limit: number,
  ids: readonly (string | number)[],
  onTooLarge: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  let eventBytes = 0;
  // The last two bytes seen, to find a blank line (`\n\n` or `\r\n\r\n`) across chunk edges.
  let last = 0;
  let beforeLast = 0;
  let cut = false;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done || value === undefined) {
        controller.close();
        return;
      }
      let boundaryEnd = -1;
      for (let i = 0; i < value.length; i++) {
        const b = value[i]!;
        if (b === 0x0a && (last === 0x0a || (last === 0x0d && beforeLast === 0x0a))) {
          boundaryEnd = i;
          eventBytes = 0;
        } else eventBytes++;
        beforeLast = last;
        last = b;
        if (eventBytes > limit) {
          cut = true;
          break;
        }
      }
      if (!cut) {
        controller.enqueue(value);
        return;
      }
      // Everything up to the last complete event passes; the oversized event is replaced.
      if (boundaryEnd >= 0) controller.enqueue(value.subarray(0, boundaryEnd + 1));
      const errors = ids
        .map(
          (id) =>
            `event: message\ndata: ${JSON.stringify(tooLargeError(id, limit + 1, limit))}\n\n`,
        )
        .join('');
      controller.enqueue(encoder.encode(`\nevent: secai-discarded\n\n${errors}`));
      onTooLarge(limit + 1);
      controller.close();
      await reader.cancel().catch(() => undefined);
    },
    async cancel() {
      await reader.cancel().catch(() => undefined);
    },
  });
}

/**
 * The fetch for one upstream at `origin`: requests elsewhere are refused, redirects are errors,
 * answers are bounded to `limit` bytes per message.
 */
export function boundedFetch(
  origin: string,
  limit: number,
  onTooLarge: (bytes: number) => void = () => undefined,
): FetchLike {
  return async (url, init) => {
    const target = new URL(url);
    if (target.origin !== origin)
      throw new Error(`refused a request to ${target.origin}: not the upstream`);
    const res = await fetch(target, { ...init, redirect: 'error' });
    if (res.body === null) return res;
    const ids = init?.method === 'POST' ? requestIdsOf(init.body) : [];
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('text/event-stream'))
      return new Response(boundedSse(res.body, limit, ids, onTooLarge), {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    const isJson = type.includes('application/json');
    const bytes = await readBounded(res.body, isJson ? limit : OTHER_BODY_LIMIT);
    if (bytes !== null)
      return new Response(bytes, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    if (!isJson || ids.length === 0 || !res.ok)
      throw new Error(`the upstream answer exceeded ${isJson ? limit : OTHER_BODY_LIMIT} bytes`);
    onTooLarge(limit + 1);
    const errors = ids.map((id) => tooLargeError(id, limit + 1, limit));
    return new Response(JSON.stringify(errors.length === 1 ? errors[0] : errors), {
      status: 200,
      headers: { 'content-type': 'application/json', ...sessionHeader(res) },
    });
  };
}

/** Keeps the upstream's session id on a replaced answer (the transport reads it from every answer). */
function sessionHeader(res: Response): Record<string, string> {
  const id = res.headers.get('mcp-session-id');
  return id ? { 'mcp-session-id': id } : {};
}

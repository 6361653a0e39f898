import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

// The answer the firewall puts in place of an upstream answer that was too large to read: a
// JSON-RPC error for the request it answered, so that request ends at once (and only it).

/** JSON-RPC error code of an answer refused for its size (the client sees the same code). */
export const OUTPUT_TOO_LARGE_CODE = -32011;

export function tooLargeError(id: number | string, bytes: number, limit: number): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: OUTPUT_TOO_LARGE_CODE,
      message: `the upstream answer exceeded ${limit} bytes and was refused`,
      data: { code: 'OUTPUT_TOO_LARGE', bytes, limit },
    },
  };
}

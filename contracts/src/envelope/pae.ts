const encoder = new TextEncoder();

/**
 * DSSE v1 pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`.
 * Signatures cover these bytes, so verification never re-serialises JSON.
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const typeBytes = encoder.encode(payloadType);
  const prefix = encoder.encode(`DSSEv1 ${typeBytes.length} `);
  const middle = encoder.encode(` ${payload.length} `);
  return Buffer.concat([prefix, typeBytes, middle, payload]);
}

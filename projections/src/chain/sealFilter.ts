/** The chain-only pre-filter that finds seals without decoding every envelope. */

/** The seal event type (`audit.checkpoint.sealed`). */
export const SEAL_TYPE = 'audit.checkpoint.sealed';

const SEAL_TYPE_BYTES = Buffer.from(SEAL_TYPE);

/**
 * `"type":"audit.checkpoint.sealed"` as it appears inside a base64 payload, at each of the three
 * byte alignments (only the characters that do not depend on neighbouring bytes). Seals are
 * written by our own code in compact JSON, so a seal always contains one of these.
 */
const SEAL_NEEDLES: readonly Buffer[] = [0, 1, 2].map((k) => {
  const text = Buffer.from(`"type":"${SEAL_TYPE}"`);
  const encoded = Buffer.concat([Buffer.alloc(k), text]).toString('base64');
  const fullGroups = Math.floor((k + text.length) / 3);
  const skip = [0, 2, 3][k]!;
  return Buffer.from(encoded.slice(skip, fullGroups * 4));
});

/**
 * Cheap pre-filter before decoding: chain-only verification is bound by decoding every envelope
 * just to find the few seals. An entry that contains neither the seal type in clear (a malformed
 * claim) nor its base64 forms cannot be one of our seals.
 */
export function mayBeSeal(bytes: Uint8Array): boolean {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (
    view.includes(SEAL_TYPE_BYTES) ||
    view.includes(SEAL_NEEDLES[0]!) ||
    view.includes(SEAL_NEEDLES[1]!) ||
    view.includes(SEAL_NEEDLES[2]!)
  );
}

/** Whether the bytes contain the seal type in clear. */
export function mentionsSeal(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(SEAL_TYPE_BYTES);
}

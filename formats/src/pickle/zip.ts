// The zip finder: a `.pkl` member behind a zip local header found inside other data (a torch.save
// archive, or one hidden in a model), read straight from the local header (stored or deflated),
// inflated under a budget and handed to the VM.
import { inflateRawSync } from 'node:zlib';
import { scanPickle } from './vm.js';
import type { EmbeddedPickle, PickleScanResult } from './types.js';

/** Work left over all candidates of one search; spent by each scan and inflate. */
export interface ScanBudget {
  ops: number;
  inflate: number;
}

const utf8Lenient = new TextDecoder('utf-8', { fatal: false });

/**
 * The `.pkl`/`.pickle` member whose local header starts at `at`, scanned; undefined when the
 * header is cut short, names no pickle or holds a control character in its name.
 */
export function zipEntry(
  bytes: Uint8Array,
  at: number,
  maxOps: number,
  maxInflated: number,
  budget: ScanBudget,
): EmbeddedPickle | undefined {
  if (at + 30 > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, 30);
  const flags = view.getUint16(6, true);
  const method = view.getUint16(8, true);
  const compressed = view.getUint32(18, true);
  const nameLen = view.getUint16(26, true);
  const extraLen = view.getUint16(28, true);
  if (nameLen === 0 || at + 30 + nameLen > bytes.length) return undefined;
  const nameBytes = bytes.subarray(at + 30, at + 30 + nameLen);
  if (nameBytes.some((c) => c < 0x20 || c === 0x7f)) return undefined;
  const entryName = utf8Lenient.decode(nameBytes);
  if (!/\.(?:pkl|pickle)$/i.test(entryName)) return undefined;
  const dataAt = at + 30 + nameLen + extraLen;
  const base = { offset: dataAt, kind: 'zip-entry' as const, zipOffset: at, entryName };
  if ((flags & 0x8) !== 0 && compressed === 0)
    return { ...base, unscanned: 'size in data descriptor' };
  if (dataAt + compressed > bytes.length)
    return { ...base, unscanned: 'entry extends past the scanned bytes' };
  const raw = bytes.subarray(dataAt, dataAt + compressed);
  const scanBudgeted = (data: Uint8Array): PickleScanResult => {
    const scan = scanPickle(data, { maxOpcodes: Math.max(1, Math.min(maxOps, budget.ops)) });
    budget.ops -= scan.opcodes;
    return scan;
  };
  if (method === 0) return { ...base, scan: scanBudgeted(raw) };
  if (method === 8) {
    if (budget.inflate <= 0) return { ...base, unscanned: 'inflate budget exhausted' };
    try {
      const inflated = inflateRawSync(raw, {
        maxOutputLength: Math.max(1, Math.min(maxInflated, budget.inflate)),
      });
      budget.inflate -= inflated.length;
      return {
        ...base,
        scan: scanBudgeted(new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.length)),
      };
    } catch (error) {
      return { ...base, unscanned: `inflate failed: ${String((error as Error).message)}` };
    }
  }
  return { ...base, unscanned: `compression method ${method}` };
}

// The embedded-stream finder: pickle streams hidden anywhere in arbitrary bytes (a model's
// weights, metadata or tail), as PROTO-led streams the VM walks to a clean STOP and as `.pkl`
// members of embedded zips (zip.ts). One work budget bounds the whole search.
import { scanPickle } from './vm.js';
import { zipEntry, type ScanBudget } from './zip.js';
import type { EmbeddedPickle, EmbeddedPickleOptions } from './types.js';

/**
 * Locates pickle streams inside arbitrary data: PROTO (0x80, protocol 2..5) followed by a
 * stack-consistent opcode sequence that ends in STOP, and `.pkl` members of embedded zip archives
 * (PK\x03\x04 local headers). Bounded; never throws.
 */
export function findEmbeddedPickles(
  bytes: Uint8Array,
  options: EmbeddedPickleOptions = {},
): EmbeddedPickle[] {
  const maxResults = options.maxResults ?? 256;
  const maxOps = options.maxOpcodesPerCandidate ?? 1_000_000;
  const maxInflated = options.maxInflatedBytes ?? 64 * 1024 * 1024;
  const budget: ScanBudget = {
    ops: options.maxTotalOpcodes ?? 20_000_000,
    inflate: options.maxTotalInflatedBytes ?? 256 * 1024 * 1024,
  };
  const out: EmbeddedPickle[] = [];
  try {
    let i = 0;
    while (i + 1 < bytes.length && out.length < maxResults) {
      if (budget.ops <= 0) {
        out.push({ offset: i, kind: 'proto', unscanned: 'scan budget exhausted' });
        break;
      }
      const b = bytes[i];
      if (b === 0x80) {
        const p = bytes[i + 1] as number;
        if (p >= 2 && p <= 5) {
          const scan = scanPickle(bytes, {
            offset: i,
            maxOpcodes: Math.min(maxOps, budget.ops),
            maxFindings: 100,
          });
          budget.ops -= scan.opcodes;
          if (scan.complete && scan.opcodes >= 3) {
            out.push({ offset: i, kind: 'proto', scan });
            i = scan.end;
            continue;
          }
        }
      } else if (
        b === 0x50 &&
        bytes[i + 1] === 0x4b &&
        bytes[i + 2] === 0x03 &&
        bytes[i + 3] === 0x04
      ) {
        const entry = zipEntry(bytes, i, maxOps, maxInflated, budget);
        if (entry !== undefined) out.push(entry);
      }
      i += 1;
    }
  } catch {
    // Defensive: return what was found so far.
  }
  return out;
}

import { keyidOf, loadTrustStore, type MemoryTrustStore } from '@secai/contracts';
import type { HistoryReport, VerificationFailure } from '../audit/codes.js';
import { verifyHistory, type HistoryEntry } from '../audit/verifyHistory.js';
import { GENESIS_HEAD } from '../chain/index.js';
import type { BundleEntry, BundleHeader } from './format.js';
import { openBundle } from './read.js';

export interface VerifyBundleOptions {
  /** Verify every envelope's signature and authority (default), not only the chain and seals. */
  signatures?: boolean;
  /**
   * Keyid (SHA-256 of the DER) of the appliance root the bundle must be signed under. Without
   * it the bundle can only prove it is consistent with itself.
   */
  expectedRootKeyid?: string;
  /** When the bundle's certificates must be valid (default: now). */
  now?: Date;
  onProgress?: (checked: number) => void;
}

export interface BundleReport extends HistoryReport {
  header: BundleHeader;
  /** Keyid of the bundle's root certificate, null when it cannot be read. */
  rootKeyid: string | null;
  /** True when `expectedRootKeyid` was given and matches. */
  rootPinned: boolean;
}

/**
 * Verifies an exported bundle offline: loads its trust material, checks the root against the
 * pinned keyid, anchors the chain start, then recomputes the chain and checks every seal (and,
 * by default, every signature) with `verifyHistory`. Failures at seq 0 concern the bundle as a
 * whole. Throws `BundleError` only when the file cannot be read or is not a bundle at all.
 */
export async function verifyBundle(
  path: string,
  options: VerifyBundleOptions = {},
): Promise<BundleReport> {
  const signatures = options.signatures ?? true;
  const { header, entries } = await openBundle(path);
  const { chainStart } = header;
  const failures: VerificationFailure[] = [];
  const warnings: string[] = [];

  let trust: MemoryTrustStore;
  try {
    trust = await loadTrustStore(header.trust, { now: options.now ?? new Date() });
  } catch (error) {
    await entries.return(undefined);
    const rootKeyid = rootKeyidOf(header);
    failures.push({
      seq: 0,
      code: 'TRUST_INVALID',
      message: `trust bundle refused: ${messageOf(error)}`,
    });
    if (
      options.expectedRootKeyid !== undefined &&
      rootKeyid !== options.expectedRootKeyid.toLowerCase()
    ) {
      failures.push({
        seq: 0,
        code: 'ROOT_MISMATCH',
        message: `root ${rootKeyid ?? '(unreadable)'} is not the pinned root`,
      });
    }
    return {
      ok: false,
      checked: 0,
      seals: 0,
      firstSeq: null,
      lastSeq: null,
      head: chainStart.head,
      failures,
      warnings,
      unsealedTail: null,
      header,
      rootKeyid,
      rootPinned: false,
    };
  }

  const { rootKeyid } = trust;
  let rootPinned = false;
  if (options.expectedRootKeyid === undefined) {
    warnings.push(
      `root ${rootKeyid} is not pinned: the bundle only proves it is consistent with itself`,
    );
  } else if (rootKeyid === options.expectedRootKeyid.toLowerCase()) {
    rootPinned = true;
  } else {
    failures.push({
      seq: 0,
      code: 'ROOT_MISMATCH',
      message: `bundle root ${rootKeyid} is not the pinned root ${options.expectedRootKeyid}`,
    });
  }
  if (chainStart.seq === 0 && chainStart.head !== GENESIS_HEAD) {
    failures.push({
      seq: 0,
      code: 'CHAIN_START_UNANCHORED',
      message: 'a chain starting at seq 0 must start at the genesis head',
    });
  }

  const history = await verifyHistory(historyOf(entries), {
    trust,
    signatures,
    start: chainStart,
    anchorStart: chainStart.seq > 0,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });

  const last = history.lastSeq ?? chainStart.seq;
  if (last < header.toSeq) {
    failures.push({
      seq: last + 1,
      code: 'SEQUENCE_GAP',
      message: `bundle ends at seq ${last}, its header says ${header.toSeq}: seqs ${last + 1}..${header.toSeq} are missing`,
    });
  } else if (last > header.toSeq) {
    failures.push({
      seq: header.toSeq + 1,
      code: 'BUNDLE_HEADER_MISMATCH',
      message: `bundle runs to seq ${last}, past its header's toSeq ${header.toSeq}`,
    });
  }

  const all = [...history.failures, ...failures].sort((a, b) => a.seq - b.seq);
  return {
    ...history,
    ok: all.length === 0,
    failures: all,
    warnings: [...warnings, ...history.warnings],
    header,
    rootKeyid,
    rootPinned,
  };
}

async function* historyOf(
  entries: AsyncIterable<BundleEntry>,
): AsyncGenerator<HistoryEntry, void, undefined> {
  for await (const { seq, bytes, subject, type, encoded } of entries) {
    yield {
      seq,
      bytes,
      ...(subject !== undefined ? { subject } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(encoded ? { encoded } : {}),
    };
  }
}

function rootKeyidOf(header: BundleHeader): string | null {
  try {
    return keyidOf(header.trust.root);
  } catch {
    return null;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// The pickle scanner's public shapes: what a scan reports and how it is bounded.

export type PickleRisk = 'safe' | 'unknown' | 'dangerous';
export type PickleVerdict = 'clean' | 'suspicious' | 'malicious';

export interface PickleGlobal {
  readonly module: string;
  readonly name: string;
  readonly risk: PickleRisk;
  /** Opcode that imported it: GLOBAL, STACK_GLOBAL or INST. */
  readonly via: 'GLOBAL' | 'STACK_GLOBAL' | 'INST';
  readonly offset: number;
}

export type PickleFindingCode =
  | 'dangerous_import'
  | 'unknown_import'
  | 'unresolved_stack_global'
  | 'extension_registry'
  | 'call'
  | 'truncated'
  | 'unknown_opcode'
  | 'malformed'
  | 'no_stop'
  | 'limit_exceeded';

export interface PickleFinding {
  readonly code: PickleFindingCode;
  readonly offset: number;
  readonly detail: string;
}

export interface PickleScanResult {
  /** Protocol from the first PROTO opcode (0 when absent). */
  readonly protocol: number;
  /** Number of opcodes walked. */
  readonly opcodes: number;
  /** Opcode name → count, for the call-like opcodes (REDUCE, BUILD, OBJ, NEWOBJ, …). */
  readonly calls: Readonly<Record<string, number>>;
  readonly globals: readonly PickleGlobal[];
  readonly verdict: PickleVerdict;
  readonly findings: readonly PickleFinding[];
  /** Offset just past STOP, or where scanning ended. */
  readonly end: number;
  /** True when the stream ended with STOP and the simulated stack held exactly one value. */
  readonly complete: boolean;
}

export interface PickleScanOptions {
  /** Where the stream starts inside `bytes` (default 0). */
  readonly offset?: number;
  readonly maxOpcodes?: number;
  readonly maxStack?: number;
  readonly maxMemo?: number;
  /** Maximum length of a protocol-0 text line. */
  readonly maxLine?: number;
  readonly maxFindings?: number;
}

export interface EmbeddedPickle {
  /** Where the pickle stream begins in the scanned bytes. */
  readonly offset: number;
  /** 'proto': a PROTO-led stream found in the raw bytes; 'zip-entry': a `.pkl` member of an embedded zip. */
  readonly kind: 'proto' | 'zip-entry';
  /** Offset of the zip local header (zip entries only). */
  readonly zipOffset?: number;
  readonly entryName?: string;
  /** Set when a zip entry could not be scanned (compressed size unknown, inflate failed…). */
  readonly unscanned?: string;
  readonly scan?: PickleScanResult;
}

export interface EmbeddedPickleOptions {
  /** Stop after this many hits (default 256). */
  readonly maxResults?: number;
  /** Opcode budget per candidate stream (default 1,000,000). */
  readonly maxOpcodesPerCandidate?: number;
  /** Largest inflated `.pkl` entry we scan (default 64 MiB). */
  readonly maxInflatedBytes?: number;
  /**
   * Work budget over all candidates (default 20,000,000 opcodes and 256 MiB inflated). When it
   * runs out, a final entry with `unscanned: 'scan budget exhausted'` marks where scanning
   * stopped: input engineered to exhaust the scanner is itself a finding.
   */
  readonly maxTotalOpcodes?: number;
  readonly maxTotalInflatedBytes?: number;
}

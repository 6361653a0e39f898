import type { TObject } from '@sinclair/typebox';
import type { PathTarget, ResolvedPath } from '../workspace/resolve.js';

/** A path argument an adapter declares: how the policy is asked about it, and what it opens. */
export interface PathArgument {
  name: string;
  /** `path_access` action. */
  access: 'read' | 'write';
  target: PathTarget;
}

/** Size limits every adapter honours (configuration, README "Limits"). */
export interface AdapterLimits {
  /** Bytes of output that leave (after redaction); more is cut and flagged. */
  maxOutputBytes: number;
  /** Bytes `filesystem.write` writes at most. */
  maxWriteBytes: number;
  /** Bytes `filesystem.hash` reads at most. */
  maxHashBytes: number;
  /** `filesystem.search`: files read, bytes read, matches returned, bytes of one file. */
  searchMaxFiles: number;
  searchMaxBytes: number;
  searchMaxMatches: number;
  searchMaxFileBytes: number;
  /** `filesystem.list`: entries returned. */
  listMaxEntries: number;
}

export interface AdapterContext {
  /** Every declared path argument, opened and checked. */
  paths: ReadonlyMap<string, ResolvedPath>;
  limits: AdapterLimits;
}

/**
 * What an adapter produced: a text (a file's content) or a JSON value (a listing, a hash), every
 * string of which is redacted before it leaves. `producedBytes` is the size of what was there
 * (a file larger than was read counts whole); `truncated` says the adapter did not return it all.
 */
export interface AdapterOutput {
  value: unknown;
  /** Bytes that were there when more than the output's own text (a file read in part). */
  producedBytes?: number;
  truncated: boolean;
}

/**
 * One tool the firewall can run. Its arguments are a closed TypeBox object: an undeclared
 * argument is refused. Path arguments are named, with the access the policy is asked about.
 */
export interface ToolAdapter<Args = Record<string, unknown>> {
  name: string;
  description: string;
  arguments: TObject;
  paths: readonly PathArgument[];
  run(args: Args, ctx: AdapterContext): Promise<AdapterOutput>;
}

export const DEFAULT_ADAPTER_LIMITS: AdapterLimits = {
  maxOutputBytes: 256 * 1024,
  maxWriteBytes: 1024 * 1024,
  maxHashBytes: 1024 * 1024 * 1024,
  searchMaxFiles: 1000,
  searchMaxBytes: 16 * 1024 * 1024,
  searchMaxMatches: 100,
  searchMaxFileBytes: 1024 * 1024,
  listMaxEntries: 1000,
};

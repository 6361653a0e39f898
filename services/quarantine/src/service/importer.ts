import { lstat, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ValidationError, writeFileAtomic } from '@secai/contracts';
import type { Logger } from '@secai/streams';
import { modelAcquiredData, type AcquisitionSource } from '../intake/event.js';
import {
  removeTree,
  snapshotArtifact,
  type IntakeLimits,
  type IntakeRefusalReason,
} from '../intake/snapshot.js';
import type { Coordinator } from './coordinator.js';
import type { RegistryView } from './registryView.js';
import { signatureStorePath } from './stages.js';

/** Largest OMS bundle taken with an import (a bundle is a few KiB). */
export const MAX_SIGNATURE_BYTES = 1024 * 1024;

export interface ImportJob {
  source: string;
  via: AcquisitionSource['via'];
  displayName?: string;
  url?: string;
  revision?: string;
  signaturePath?: string;
  /** Who asked (imports only): the command's signer and the operator it names. */
  requestedBy?: AcquisitionSource['requestedBy'];
  /**
   * The service may consume the source: only the inbox's claim. A user's `secai model import
   * PATH` keeps the user's file (it is copied); a claimed inbox drop is moved into custody by
   * rename when intake's custody rule holds (intake/custody.ts), else copied and then removed
   * with its claim.
   */
  consumeSource?: boolean;
  /** The command request (causation of `model.acquired`) and its correlation. */
  requestId?: string;
  correlationId?: string;
}

export type ImportRefusalCode =
  | IntakeRefusalReason
  | 'signature_unreadable'
  | 'signature_too_large'
  | 'invalid_source'
  | 'artifact_in_quarantine'
  | 'already_promoted';

export type ImportOutcome =
  | { ok: true; artifactId: string; digest: string; eventId: string; reused: boolean }
  | { ok: false; code: ImportRefusalCode; message: string };

export interface ImportHooks {
  onPlanned?: (plan: { totalBytes: number; files: number }) => void;
  onProgress?: (bytesDone: number, totalBytes: number) => void;
}

/**
 * Intake: snapshot the source into the quarantine area (hashed while copied), keep the signature
 * bundle beside it, and record `model.acquired`; the coordinator takes the run from there. An
 * artifact already in quarantine, or already promoted, is refused (its run or its registry entry
 * says what became of it); one rejected earlier gets a new run.
 */
export class Importer {
  constructor(
    private readonly deps: {
      coordinator: Coordinator;
      quarantineDir: string;
      limits: () => Partial<IntakeLimits>;
      log: Logger;
      /**
       * The registry's events on the same bytes, read from the stream (`model/<hex>`): whether a
       * promoted artifact was removed since and may run again. Absent: never removed.
       */
      registry?: (artifactId: string) => Promise<RegistryView>;
    },
  ) {}

  async run(job: ImportJob, hooks: ImportHooks = {}): Promise<ImportOutcome> {
    const { quarantineDir } = this.deps;
    let signature: Buffer | null = null;
    if (job.signaturePath !== undefined) {
      const read = await readSignature(job.signaturePath);
      if (!read.ok) return read;
      signature = read.bytes;
    }
    let total = 0;
    let done = 0;
    let fileDone = 0;
    let lastFile = '';
    const snapshot = await snapshotArtifact(job.source, quarantineDir, this.deps.limits(), {
      consumeSource: job.consumeSource === true,
      onPlanned: (p) => {
        total = p.totalBytes;
        hooks.onPlanned?.(p);
      },
      onChunk: (rel, copied) => {
        if (rel !== lastFile) {
          done += fileDone;
          fileDone = 0;
          lastFile = rel;
        }
        fileDone = copied;
        hooks.onProgress?.(done + fileDone, total);
      },
    });
    if (!snapshot.ok) return { ok: false, code: snapshot.reason, message: snapshot.detail };
    const artifactId = snapshot.digest.slice('sha256:'.length);

    let data;
    try {
      data = modelAcquiredData(snapshot, {
        via: job.via,
        ...(job.url !== undefined ? { url: job.url } : {}),
        ...(job.revision !== undefined ? { revision: job.revision } : {}),
        ...(job.displayName !== undefined ? { displayName: job.displayName } : {}),
        ...(job.requestedBy !== undefined ? { requestedBy: job.requestedBy } : {}),
      });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // A reused copy is an existing run's: only a fresh one is ours to remove.
      if (!snapshot.reused) await removeTree(dirname(snapshot.path));
      return { ok: false, code: 'invalid_source', message: err.message.slice(0, 512) };
    }
    // Whether the artifact may be acquired again is the run decider's rule, decided through the
    // kernel like every other step of the run; the edge observes what the registry recorded.
    const registry = this.deps.registry ? await this.deps.registry(artifactId) : undefined;
    const handled = await this.deps.coordinator.artifacts.handle(
      artifactId,
      {
        type: 'Acquire',
        data,
        ...(registry !== undefined ? { registry } : {}),
        ...(job.requestId !== undefined ? { causationId: job.requestId } : {}),
        ...(job.correlationId !== undefined ? { correlationId: job.correlationId } : {}),
      },
      {
        meta: (d) => d.events[0]?.meta ?? {},
        // The signature is kept before the event that says it may be there.
        perform: async (d) => {
          if (d.events.length > 0 && signature !== null) {
            const path = signatureStorePath(quarantineDir, artifactId);
            await mkdir(dirname(path), { recursive: true, mode: 0o750 });
            await writeFileAtomic(path, signature, 0o444);
          }
        },
      },
    );
    const refusal = handled.decision.refusal;
    if (refusal) {
      // The registry holds promoted bytes: this fresh copy is not needed.
      if (refusal.code === 'already_promoted' && !snapshot.reused)
        await removeTree(dirname(snapshot.path));
      return {
        ok: false,
        code: refusal.code as ImportRefusalCode,
        message: `artifact ${artifactId.slice(0, 12)}…: ${refusal.message}`,
      };
    }
    this.deps.coordinator.enqueue(artifactId);
    this.deps.log.info(
      {
        artifact: artifactId,
        via: job.via,
        reused: snapshot.reused,
        custody: snapshot.custodyNote ?? snapshot.custody,
      },
      'artifact acquired',
    );
    return {
      ok: true,
      artifactId,
      digest: snapshot.digest,
      eventId: handled.appended!.ids[0]!,
      reused: snapshot.reused,
    };
  }
}

async function readSignature(
  path: string,
): Promise<{ ok: true; bytes: Buffer } | { ok: false; code: ImportRefusalCode; message: string }> {
  try {
    const st = await lstat(path);
    if (!st.isFile())
      return { ok: false, code: 'signature_unreadable', message: `${path} is not a regular file` };
    if (st.size > MAX_SIGNATURE_BYTES)
      return {
        ok: false,
        code: 'signature_too_large',
        message: `${path} is larger than ${MAX_SIGNATURE_BYTES} bytes`,
      };
    const bytes = await readFile(path);
    if (bytes.length > MAX_SIGNATURE_BYTES)
      return { ok: false, code: 'signature_too_large', message: `${path} grew while read` };
    return { ok: true, bytes };
  } catch (err) {
    return {
      ok: false,
      code: 'signature_unreadable',
      message: `${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    };
  }
}

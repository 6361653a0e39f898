import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * @internal One job: entries packed in a shared buffer (reused from job to job, so no fresh
 * memory is touched per job); entry i is `offsets[i]..offsets[i + 1]`.
 */
export interface DigestJob {
  id: number;
  shared: SharedArrayBuffer;
  offsets: Uint32Array;
}

/** Smallest shared buffer (a job of 512 envelopes of ≈ 1.8 KB fits). */
const MIN_SHARED = 1 << 20;

/** @internal 32 bytes of SHA-256 per entry, and 1 where the entry may be a seal. */
export interface DigestReply {
  id: number;
  digests: Uint8Array;
  flags: Uint8Array;
}

export interface DigestBatch {
  digests: Uint8Array;
  flags: Uint8Array;
}

/**
 * The compiled worker next to this module; under vitest (this module runs from `src/*.ts`) the
 * one in `dist/`. Null when it is not built.
 */
function workerUrl(): URL | null {
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  const url = new URL(
    fromSource ? '../../dist/chain/digestWorker.js' : './digestWorker.js',
    import.meta.url,
  );
  return existsSync(url) ? url : null;
}

/**
 * One worker thread that hashes entries for `verifyHistory` (chain only), so that hashing runs
 * beside the thread that reads the stream instead of after it. Jobs are answered in order.
 */
export class DigestThread {
  readonly #worker: Worker;
  readonly #pending = new Map<
    number,
    { resolve: (batch: DigestBatch) => void; reject: (error: Error) => void }
  >();
  #nextId = 0;
  #failure: Error | null = null;
  /** Shared buffers no job is using. */
  readonly #free: SharedArrayBuffer[] = [];

  private constructor(url: URL) {
    this.#worker = new Worker(url);
    this.#worker.on('message', (reply: DigestReply) => {
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      pending?.resolve({ digests: reply.digests, flags: reply.flags });
    });
    const fail = (error: Error) => {
      this.#failure ??= error;
      for (const { reject } of this.#pending.values()) reject(this.#failure);
      this.#pending.clear();
    };
    this.#worker.on('error', (cause) => fail(new Error('the digest thread crashed', { cause })));
    this.#worker.on('exit', (code) => fail(new Error(`the digest thread exited (${code})`)));
    this.#worker.unref();
  }

  /** A started thread, or null when the compiled worker is not there (hash inline instead). */
  static open(): DigestThread | null {
    const url = workerUrl();
    return url === null ? null : new DigestThread(url);
  }

  /** Digests and seal hints of `entries`, in order (their bytes are copied, not moved). */
  digest(entries: readonly Uint8Array[]): Promise<DigestBatch> {
    if (this.#failure) return Promise.reject(this.#failure);
    let total = 0;
    for (const bytes of entries) total += bytes.byteLength;
    let shared = this.#free.pop();
    if (shared === undefined || shared.byteLength < total) {
      shared = new SharedArrayBuffer(Math.max(MIN_SHARED, total));
    }
    const bytes = new Uint8Array(shared);
    const offsets = new Uint32Array(entries.length + 1);
    let offset = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      offsets[i] = offset;
      bytes.set(entry, offset);
      offset += entry.byteLength;
    }
    offsets[entries.length] = offset;
    const id = this.#nextId++;
    const job: DigestJob = { id, shared, offsets };
    const buffer = shared;
    return new Promise<DigestBatch>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: (batch) => {
          this.#free.push(buffer);
          resolve(batch);
        },
        reject,
      });
      this.#worker.ref();
      this.#worker.postMessage(job, [offsets.buffer]);
    }).finally(() => {
      if (this.#pending.size === 0) this.#worker.unref();
    });
  }

  async close(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }
}

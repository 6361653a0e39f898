import { createHash } from 'node:crypto';
import type { SentinelReferenceData } from '@secai/contracts';
import type { RegistryManifestDocument } from '@secai/projections';
import type { GpuBaseline } from './baseline.js';
import type { InferenceClient, SentinelAnswer, SentinelReply } from './inferenceClient.js';
import type { SentinelObservation, SentinelRun } from './probes/sentinel.js';

// The sentinel prompt and its runs through the inference service (the I/O half of
// sentinel_inference and reference_drift).

/**
 * The fixed prompt. Changing it makes every baseline's sentinel unusable (its prompt digest no
 * longer matches) until the next capture: the probe then says so instead of comparing.
 */
export const SENTINEL_PROMPT = 'Count from one to ten, in words: one, two, three,';
/** The name a sentinel reference is recorded under. */
export const SENTINEL_NAME = 'count-v1';
/** Runs per model when reference_drift is on (the reference's `iterations`). */
export const REFERENCE_ITERATIONS = 3;

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** The prompt as a baseline records it: its digest and length, never the text. */
export function promptDigest(prompt = SENTINEL_PROMPT): { digest: string; length: number } {
  return { digest: sha256(prompt), length: Buffer.byteLength(prompt) };
}

/** A sentinel reference from an answer of the inference service. */
export function referenceOf(
  answer: SentinelAnswer,
  prompt = SENTINEL_PROMPT,
): SentinelReferenceData {
  return {
    model: answer.model,
    name: SENTINEL_NAME,
    prompt: promptDigest(prompt),
    tokens: [...answer.tokens],
    output: answer.output,
  };
}

export function runOf(reply: SentinelReply): SentinelRun {
  return reply.kind === 'answer' ? { kind: 'tokens', tokens: reply.answer.tokens } : reply;
}

/** The models a cycle runs the sentinel on: every model with a sentinel in the baseline. */
export function sentinelTargets(
  baseline: GpuBaseline,
  manifest: RegistryManifestDocument,
): { target: SentinelObservation; reference: SentinelReferenceData }[] {
  const expectedPrompt = promptDigest().digest;
  return Object.entries(baseline.sentinels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([hex, { reference }]) => {
      const entry = Object.hasOwn(manifest.models, hex) ? manifest.models[hex] : undefined;
      const name = entry?.name ?? reference.name;
      const skip = (reason: string): SentinelObservation => ({
        model: reference.model,
        name,
        expected: reference.tokens,
        outcome: { kind: 'skipped', reason },
      });
      if (!entry) return { target: skip('no longer in the registry'), reference };
      // A contained or failing model is not served: inference has unloaded it.
      if (entry.status !== 'available')
        return { target: skip(`registry status ${entry.status}`), reference };
      if (reference.prompt.digest !== expectedPrompt)
        return {
          target: skip('baseline made with another sentinel prompt: capture a new baseline'),
          reference,
        };
      return {
        target: {
          model: reference.model,
          name,
          expected: reference.tokens,
          outcome: { kind: 'ran', runs: [] },
        },
        reference,
      };
    });
}

/**
 * Runs the sentinel `runs` more times on each target (none for a model found not loaded or
 * unknown), after the runs it already has, asking for as many tokens as its baseline holds: greedy decoding of the same weights
 * gives the same first tokens whatever the limit, and a limit changed in policy since the
 * capture does not make every model look different.
 */
export async function runSentinels(
  inference: Pick<InferenceClient, 'sentinel'>,
  targets: readonly SentinelObservation[],
  runs: number,
): Promise<SentinelObservation[]> {
  const out: SentinelObservation[] = [];
  for (const t of targets) {
    if (t.outcome.kind === 'skipped') {
      out.push(t);
      continue;
    }
    const done: SentinelRun[] = [...t.outcome.runs];
    const absent = (r: SentinelRun | undefined) =>
      r?.kind === 'not_loaded' || r?.kind === 'unknown';
    for (let i = 0; i < runs && !absent(done.at(-1)); i++) {
      const run = runOf(
        await inference.sentinel(t.model, SENTINEL_PROMPT, Math.max(1, t.expected.length)),
      );
      done.push(run);
    }
    out.push({ ...t, outcome: { kind: 'ran', runs: done } });
  }
  return out;
}

import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '@secai/contracts';
import {
  ProjectionRunner,
  registryManifestProjection,
  renderDocument,
  runnableModels,
  type ProjectedEvent,
} from '../src/index.js';

const SHA = 'ab'.repeat(32);
let seq = 0;
const ev = (type: string, data: unknown, id = SHA): ProjectedEvent => ({
  seq: ++seq,
  event: {
    type,
    subject: `model/${id}`,
    time: `2026-11-27T00:00:${String(seq).padStart(2, '0')}.000Z`,
    data,
  } as unknown as CloudEvent,
});
const stored = (id = SHA, name = 'tiny') =>
  ev(
    'model.stored',
    {
      name,
      format: 'gguf',
      sizeBytes: 10,
      digest: `sha256:${id}`,
      storePath: `sha256/${id.slice(0, 2)}/${id}/tiny.gguf`,
      fromArtifact: id,
    },
    id,
  );

function fold(events: ProjectedEvent[]) {
  const runner = new ProjectionRunner(registryManifestProjection);
  for (const e of events) runner.apply(e);
  return runner.document;
}

describe('registry manifest projection', () => {
  it('adds a stored model as available and runnable', () => {
    const doc = fold([stored()]);
    expect(doc.models[SHA]).toMatchObject({
      name: 'tiny',
      status: 'available',
      lastVerifiedAt: null,
    });
    expect(runnableModels(doc).map((m) => m.name)).toEqual(['tiny']);
  });
  it('takes a model out of service on a failed verification, and back after a good one', () => {
    const events = [
      stored(),
      ev('model.verification.failed', {
        trigger: 'periodic',
        problem: 'mismatch',
        expected: `sha256:${SHA}`,
        actual: `sha256:${'9'.repeat(64)}`,
        expectedSizeBytes: 10,
        actualSizeBytes: 10,
      }),
    ];
    expect(runnableModels(fold(events))).toEqual([]);
    const back = fold([
      ...events,
      ev('model.verified', {
        trigger: 'operator',
        expected: `sha256:${SHA}`,
        actual: `sha256:${SHA}`,
        sizeBytes: 10,
      }),
    ]);
    expect(back.models[SHA]).toMatchObject({ status: 'available', note: null });
  });
  it('keeps a contained model contained whatever later checks say', () => {
    const doc = fold([
      stored(),
      ev('model.contained', {
        name: 'tiny',
        cause: { kind: 'operator', operator: 'alice' },
        reason: 'drill',
        containedPath: 'contained-tiny.gguf',
      }),
      ev('model.verified', {
        trigger: 'pre_load',
        expected: `sha256:${SHA}`,
        actual: `sha256:${SHA}`,
        sizeBytes: 10,
      }),
    ]);
    expect(doc.models[SHA]).toMatchObject({ status: 'contained', note: 'drill' });
    expect(runnableModels(doc)).toEqual([]);
  });
  it('forgets a removed model, and ignores events about models it never stored', () => {
    expect(
      fold([
        stored(),
        ev('model.removed', {
          name: 'tiny',
          cause: { kind: 'operator', operator: 'bob' },
          reason: 'old',
        }),
      ]).models,
    ).toEqual({});
    expect(
      fold([
        ev('model.verified', {
          trigger: 'pre_load',
          expected: `sha256:${SHA}`,
          actual: `sha256:${SHA}`,
          sizeBytes: 10,
        }),
      ]).models,
    ).toEqual({});
  });
  it('gives the same bytes when every event is delivered twice', () => {
    const events = [stored(), stored('cd'.repeat(32), 'other')];
    const runner = new ProjectionRunner(registryManifestProjection);
    for (const e of [...events, ...events]) runner.apply(e);
    expect(renderDocument(runner.document)).toBe(renderDocument(fold(events)));
  });
});

import {
  critical,
  info,
  judgement,
  modelDetail,
  shortDigest,
  skipped,
  warning,
  type Finding,
  type ProbeJudgement,
} from './types.js';

// tensor_hash (reference §4.2): the registry's model files hashed again and compared with the
// baseline. Which files: the models the registry's manifest holds in its store, not a directory
// walk (a file the registry does not list is not a model anything serves).

/** The findings that say a model file is not what the baseline recorded (anomaly rules read them). */
export const FILE_CHANGED_FINDINGS: readonly string[] = [
  'model file missing',
  'model file unreadable',
  'hash mismatch',
  "hash differs from the registry's digest",
];

export interface ModelFileObservation {
  /** The registry's digest of the model (`sha256:<hex>`, its content address). */
  digest: string;
  name: string;
  /** Relative to the store root, as `model.stored` gives it. */
  storePath: string;
  actual:
    { kind: 'hashed'; digest: string } | { kind: 'missing' } | { kind: 'unreadable'; code: string };
}

/**
 * Each model file against its baseline digest (by store path); a model captured in no baseline
 * yet is checked against the registry's digest instead, which in a content-addressed store is the
 * same number, and says so (warning, no score: the reference's "new file not in baseline").
 * Scoring as the reference: mismatches and missing files are failures; none ⇒ pass 0; at most
 * half of the files ⇒ drift, fails/total; more ⇒ fail, fails/total.
 */
export function judgeTensorHash(
  models: readonly ModelFileObservation[],
  baseline: Readonly<Record<string, string>>,
): ProbeJudgement {
  if (models.length === 0) return skipped('tensor_hash', 'no model files in the registry store');
  const findings: Finding[] = [];
  let fails = 0;
  let matched = 0;
  for (const m of [...models].sort((a, b) => (a.storePath < b.storePath ? -1 : 1))) {
    const inBaseline = Object.hasOwn(baseline, m.storePath);
    const expected = inBaseline ? baseline[m.storePath]! : m.digest;
    const where = `${m.name} (${m.storePath})`;
    if (m.actual.kind === 'missing') {
      fails++;
      findings.push(critical('model file missing', modelDetail(m.digest, where)));
      continue;
    }
    if (m.actual.kind === 'unreadable') {
      fails++;
      findings.push(
        critical('model file unreadable', modelDetail(m.digest, `${where}: ${m.actual.code}`)),
      );
      continue;
    }
    if (m.actual.digest !== expected) {
      fails++;
      findings.push(
        critical(
          inBaseline ? 'hash mismatch' : "hash differs from the registry's digest",
          modelDetail(
            m.digest,
            `${where}: expected ${shortDigest(expected)}, found ${shortDigest(m.actual.digest)}`,
          ),
        ),
      );
      continue;
    }
    matched++;
    if (!inBaseline)
      findings.push(
        warning(
          'new file not in baseline',
          modelDetail(m.digest, `${where}: matches the registry's digest`),
        ),
      );
  }
  const total = models.length;
  findings.push(info(`${matched} of ${total} model files match`));
  if (fails === 0) return judgement('tensor_hash', 'pass', 0, findings);
  if (fails <= Math.floor(total / 2))
    return judgement('tensor_hash', 'drift', fails / total, findings);
  return judgement('tensor_hash', 'fail', fails / total, findings);
}

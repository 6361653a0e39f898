import type { PromotionInputData } from '@secai/contracts';
import { Trace, type Verdict } from '../decision.js';
import type { MainPolicy } from '../policy/index.js';

const COMMON_STAGES = [
  'source_policy',
  'format_gate',
  'hash_pin',
  'provenance',
  'static_scan',
] as const;
/** Stages every artifact of a format must have passed, in pipeline order. */
export const REQUIRED_STAGES: Readonly<Record<string, readonly string[]>> = {
  gguf: [...COMMON_STAGES, 'behavioral_test'],
  safetensors: COMMON_STAGES,
  'diffusion-directory': [...COMMON_STAGES, 'diffusion_scan'],
};

/**
 * `model_promotion`: decides on the whole quarantine result, not on the format alone (the
 * original allowed anything whose format was listed). Every required stage must have passed, the
 * pin must not contradict the content, remote artifacts must be pinned when the policy says so,
 * the behavioural score must be within the thresholds, and a required signature must be there
 * and come from a trusted signer.
 */
export function decideModelPromotion(
  model: string,
  p: PromotionInputData | null,
  policy: MainPolicy,
): Verdict {
  const trace = new Trace();
  const m = policy.models;
  if (p === null)
    return trace.conclude('deny', 'models.result_missing', 'no quarantine result was given');
  if (!p.passed)
    return trace.conclude(
      'deny',
      'models.quarantine_failed',
      `quarantine failed${p.failedStage ? ` at ${p.failedStage}` : ''}`,
    );
  trace.miss('models.quarantine_failed', 'the quarantine run passed');
  if (p.format === null)
    return trace.conclude('deny', 'models.format_missing', 'the format was not identified');
  if ((m.deny_formats as readonly string[]).includes(p.format)) {
    return trace.conclude(
      'deny',
      `models.deny_formats.${p.format}`,
      `format ${p.format} is denied`,
    );
  }
  trace.miss('models.deny_formats', `format ${p.format} is not denied`);
  if (!(m.allowed_formats as readonly string[]).includes(p.format)) {
    return trace.conclude(
      'deny',
      'models.allowed_formats_miss',
      `format ${p.format} is not in allowed_formats`,
    );
  }
  trace.miss('models.allowed_formats_miss', `format ${p.format} is allowed`);

  const failed = p.stages.find((s) => !s.passed);
  if (failed)
    return trace.conclude(
      'deny',
      `models.stage_failed.${failed.stage}`,
      `stage ${failed.stage} did not pass`,
    );
  const passed = new Set(p.stages.filter((s) => s.passed).map((s) => s.stage));
  const missing = (REQUIRED_STAGES[p.format] ?? COMMON_STAGES).filter(
    (s) => !passed.has(s as never),
  );
  if (missing.length > 0)
    return trace.conclude(
      'deny',
      'models.stages_incomplete',
      `required stages missing: ${missing.join(', ')}`,
    );
  trace.miss('models.stages_incomplete', 'every required stage passed');

  if (p.pin === 'mismatch' || p.pin === 'blocked') {
    return trace.conclude(
      'deny',
      `models.pin_${p.pin}`,
      p.pin === 'mismatch' ? 'content does not match its pin' : 'the hash is on the block list',
    );
  }
  trace.miss('models.pin_conflict', `pin status ${p.pin}`);
  if (m.require_pin_for_remote && p.via === 'airlock' && p.pin !== 'pinned') {
    return trace.conclude('deny', 'models.pin_required', 'a downloaded artifact must be pinned');
  }
  trace.miss(
    'models.pin_required',
    p.via === 'airlock' ? 'downloaded and pinned' : `local ${p.via}: pin not required`,
  );

  if (m.require_behavior_tests && p.format === 'gguf') {
    if (p.behavioralScore === null)
      return trace.conclude('deny', 'models.behavior_missing', 'no behavioural test result');
    const q = policy.quarantine;
    if (p.behavioralScore.critical > q.behavior_max_critical) {
      return trace.conclude(
        'deny',
        'models.behavior_critical',
        `${p.behavioralScore.critical} critical behavioural findings`,
      );
    }
    if (p.behavioralScore.score > q.behavior_max_score) {
      return trace.conclude(
        'deny',
        'models.behavior_score',
        `behavioural score ${p.behavioralScore.score} exceeds ${q.behavior_max_score}`,
      );
    }
    trace.miss('models.behavior', `behavioural score ${p.behavioralScore.score} within limits`);
  }

  if (m.require_signature) {
    if (p.provenance !== 'signature-verified' && p.provenance !== 'manifest-pinned') {
      return trace.conclude(
        'deny',
        'models.signature_required',
        `provenance is ${p.provenance}, a verified signature is required`,
      );
    }
    const trusted = m.trusted_signers ?? [];
    if (trusted.length > 0 && (p.signer === null || !trusted.includes(p.signer))) {
      return trace.conclude(
        'deny',
        'models.signer_untrusted',
        'the signer is not a trusted signer',
      );
    }
    trace.miss('models.signature_required', `signed by ${p.signer ?? 'a pinned manifest'}`);
  }
  return trace.conclude('allow', 'models.promotion_allowed', `${model} may be promoted`);
}

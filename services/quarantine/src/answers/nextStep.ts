import { DIFFUSERS_STEPS, FORMAT_PARSER_STEPS } from './formatSteps.js';

// One line that says what to do next, for every reason code the quarantine can produce: the
// stages' failures (and passes), the run's own failures, the policy engine's rule ids the run
// records, and the import command's refusals (issue 11 §3). Data the CLI prints after a
// rejection; `nextStepFor` is the only entry. Codes are matched exactly (case-insensitive), then
// by the engine's rule-id families, then a default that points at the whole run.

const PASSED = 'Nothing to do: this check passed.';
const REIMPORT = 'Import the artifact again.';
const WORKER_BUG =
  'The stage’s worker broke rather than judged the model: import it again, and if it happens again report it with the stage event (secai model show).';
const LIMIT_RAISE = (what: string) =>
  `The stage hit its ${what} limit: for a large model, raise the stage’s limits in policy (quarantine.stages), then import it again.`;
const DO_NOT_USE = (why: string) =>
  `Do not use this model: ${why}; get it from its original publisher, check the SHA-256 they publish, and import that copy.`;
const SOURCE =
  'Import from an https URL on the policy’s allowlist (airlock.allowed_destinations), or ask the administrator to allow the source.';
const PIN = (what: string) => `${what} (models.lock.yaml in the policy directory).`;

/** The format gate's own codes (parser codes come from `formatSteps.ts`). */
const FORMAT_GATE: Record<string, string> = {
  gguf_ok: PASSED,
  safetensors_ok: PASSED,
  diffusers_ok: PASSED,
  unknown_format:
    'Import a .gguf or .safetensors file (or a diffusers directory): check the download finished and is the model itself, not a web page or a Git LFS pointer (git lfs pull).',
  // The same code as a pickle file inside a directory: one line for both.
  pickle_format: DIFFUSERS_STEPS.pickle_format,
  polyglot: DO_NOT_USE(
    'the file is a model and a second container (pickle, zip, executable) at once',
  ),
  unreadable: 'Check that the file exists and is readable by the appliance, then import it again.',
};

const HASH_PIN: Record<string, string> = {
  first_use: PASSED,
  pinned_match: PASSED,
  hash_invalid: WORKER_BUG,
  blocked: DO_NOT_USE('its SHA-256 is on the policy’s block list (models.lock.yaml)'),
  remote_unpinned: PIN('Pin the model’s SHA-256 before importing it from a remote source'),
  source_mismatch: PIN('Import the model from the source its pin names, or update the pin'),
  hash_mismatch: PIN(
    'The bytes differ from the pinned SHA-256: get the pinned version, or update the pin if the publisher released a new one',
  ),
  lock_invalid: PIN('Fix the lock file (secai policy check shows the problems), then import again'),
};

const PROVENANCE: Record<string, string> = {
  signature_ok: PASSED,
  unsigned: PASSED,
  signature_unverified: PASSED,
  signature_absent:
    'Policy requires a signature: import with --signature <bundle> (an OpenSSF model-signing bundle), or a directory carrying model.sig.',
  config_invalid:
    'Fix the pinned signing keys or CAs in the policy (models.signing), then import again.',
  bundle_unreadable:
    'Get the signature bundle again from the publisher (a sigstore bundle v0.3 JSON file), then import again.',
  bundle_too_large:
    'Get the signature bundle again from the publisher (a sigstore bundle v0.3 JSON file), then import again.',
  bundle_invalid:
    'Get the signature bundle again from the publisher (a sigstore bundle v0.3 JSON file), then import again.',
  key_untrusted:
    'The signer is not pinned: add the publisher’s key to the policy’s trusted keys only if you trust it, then import again.',
  signature_invalid: DO_NOT_USE(
    'the signature does not verify, so the model or its signature was altered',
  ),
  statement_invalid:
    'The signature is not an OpenSSF model-signing v1.0 statement: ask the publisher for one (model_signing sign, files serialization, sha256).',
  predicate_unsupported:
    'The signature is not an OpenSSF model-signing v1.0 statement: ask the publisher for one (model_signing sign, files serialization, sha256).',
  artifact_invalid:
    'Import exactly the files that were signed: no links or special files, none missing, none added.',
  file_missing:
    'Import exactly the files that were signed: no links or special files, none missing, none added.',
  file_unlisted:
    'Import exactly the files that were signed: no links or special files, none missing, none added.',
  digest_mismatch: DO_NOT_USE('a file differs from what was signed'),
  internal_error: WORKER_BUG,
  key_unsupported:
    'The model was signed with a key type the appliance does not verify: ask the publisher to sign with an Ed25519, ECDSA P-256 or ECDSA P-384 key, then import again.',
  ignore_path_invalid:
    'The signature’s ignore_paths holds an entry that is not a plain path inside the model (absolute, .., a pattern, or the whole model): ask the publisher to sign again without it.',
  ignore_path_hides_file:
    'Do not use this copy: its signature leaves a file a loader reads (weights, config, tokenizer, template) out of what was signed; ask the publisher to sign every model file.',
};

const YARA_BROKEN =
  'The scanner could not run, so nothing was judged: check yara and the rules (secai doctor), then import again.';

const STATIC_SCAN: Record<string, string> = {
  static_scan_ok: PASSED,
  invalid_params: 'Fix the stage’s thresholds in the policy (quarantine.*), then import again.',
  yara_missing: YARA_BROKEN,
  yara_failed: YARA_BROKEN,
  yara_timeout: LIMIT_RAISE('time'),
  yara_rules_invalid: YARA_BROKEN,
  yara_match: DO_NOT_USE('a YARA rule for known-malicious content matched'),
  pickle_malicious: DO_NOT_USE('it hides a pickle that runs code when loaded'),
  pickle_suspicious: DO_NOT_USE('it hides a pickle with unknown imports'),
  pickle_scan_incomplete: DO_NOT_USE('it hides pickle data too large or too complex to scan'),
  pickle_embedded: DO_NOT_USE('it hides pickle data'),
  pickle_clean: DO_NOT_USE(
    'it holds pickle streams, which the policy (pickle_fail_rank 1) refuses',
  ),
  entropy_near_random: DO_NOT_USE('part of it looks like encrypted or random data, not weights'),
  unsupported_format: 'Import a .gguf or .safetensors file (or a diffusers directory).',
  weight_anomaly:
    'The weights have anomalous statistics (tampering or a broken conversion): get a clean copy or convert the original weights again, then import it.',
  guard_fail:
    'The quantised weights look tampered with or broken: get a clean copy or quantise the original weights again, then import it.',
  weights_not_analysed:
    'Policy refuses weights the scan cannot read (IQ1/IQ2/IQ3, ternary, FP8): import the model in a type it reads (e.g. GGUF Q4_K_M, IQ4_XS, Q8_0; safetensors BF16), or ask the administrator to raise quarantine.static_scan.max_unanalysed_weight_fraction.',
  directory_invalid: 'Fix the directory as the format gate reports, then import it again.',
  no_safetensors: DIFFUSERS_STEPS.no_safetensors,
  scan_error: WORKER_BUG,
};

const BEHAVIOR: Record<string, string> = {
  behavior_ok: PASSED,
  behavior_flagged: DO_NOT_USE('it answered harmful prompts above the policy’s limit'),
  behavior_critical: DO_NOT_USE(
    'it answered prompts in a critical category (e.g. malware, exfiltration)',
  ),
  model_load_failed:
    'llama.cpp could not load the model: check it runs with a current llama.cpp, convert it again if not, then import it.',
  behavior_no_signal:
    'The model gave the test nothing to judge (empty or repeated-token answers, or the same text to every prompt): check that it answers sensibly in a current llama.cpp with its own chat template, and import a copy that does; a model that cannot answer cannot be tested.',
};

/** The diffusion scan reports the first issue's code (the directory findings, and these). */
const DIFFUSION: Record<string, string> = {
  diffusion_ok: PASSED,
  ...DIFFUSERS_STEPS,
  component_config_missing:
    'Import the whole pipeline as save_pretrained writes it: each component needs its configuration file.',
  component_class_mismatch:
    'A component’s class differs from the one model_index.json names: get the pipeline again from its publisher.',
  component_weights_missing:
    'Each model component needs its safetensors weights: import the whole pipeline as save_pretrained writes it.',
  remote_code:
    'A configuration asks for remote code (auto_map, trust_remote_code): remove it or use a pipeline that needs none.',
  embedded_pickle: DO_NOT_USE('a file of the pipeline hides pickle data'),
  pickle_scan_incomplete: STATIC_SCAN.pickle_scan_incomplete!,
  unexpected_file_type: DIFFUSERS_STEPS.unsupported_file_type,
  polyglot: FORMAT_GATE.polyglot!,
};

const WORKER: Record<string, string> = {
  worker_timeout: LIMIT_RAISE('time'),
  worker_cpu_limit: LIMIT_RAISE('CPU'),
  worker_oom: LIMIT_RAISE('memory'),
  worker_output_too_large: WORKER_BUG,
  worker_bad_output: WORKER_BUG,
  worker_crashed: WORKER_BUG,
  worker_nonzero_exit: WORKER_BUG,
  worker_spawn_failed:
    'The sandbox could not start the stage: check the appliance with secai doctor, then import again.',
};

const RUN: Record<string, string> = {
  local_import: PASSED,
  all_stages_passed: PASSED,
  policy_changed: `The policy changed during the run. ${REIMPORT}`,
  policy_unavailable:
    'No policy is active: load a valid policy (secai policy status shows why), then import again.',
  decision_not_recorded:
    'The policy engine did not record its decision: check that it runs (secai status), then import again.',
};

/** Policy engine rule ids the run records (`source.*` on the source stage, `models.*` on a denial). */
const ENGINE: Record<string, string> = {
  'source.allowlisted': PASSED,
  'source.refused': SOURCE,
  'source.not_canonical': SOURCE,
  'source.not_https': SOURCE,
  'source.allowlist_empty': SOURCE,
  'source.not_allowlisted': SOURCE,
  'policy.unavailable': RUN.policy_unavailable!,
  'request.invalid': WORKER_BUG,
  'models.promotion_allowed': PASSED,
  'models.result_missing': WORKER_BUG,
  'models.quarantine_failed':
    'A quarantine stage failed: see secai model show for the stage and its reason.',
  'models.format_missing': WORKER_BUG,
  'models.allowed_formats_miss':
    'Policy does not allow this model format (models.allowed_formats): use an allowed format, or ask the administrator.',
  'models.stages_incomplete': WORKER_BUG,
  'models.pin_mismatch': HASH_PIN.hash_mismatch!,
  'models.pin_blocked': HASH_PIN.blocked!,
  'models.pin_required': PIN('Policy requires a pinned SHA-256 for every model: pin it'),
  'models.behavior_missing': WORKER_BUG,
  'models.behavior_critical': BEHAVIOR.behavior_critical!,
  'models.behavior_score': BEHAVIOR.behavior_flagged!,
  'models.signature_required': PROVENANCE.signature_absent!,
  'models.signer_untrusted': PROVENANCE.key_untrusted!,
};

/** Engine rule-id families with a name inside (`models.deny_formats.<format>`, ...). */
const ENGINE_FAMILIES: readonly (readonly [string, string])[] = [
  [
    'models.deny_formats.',
    'Policy refuses this model format (models.deny_formats): use another format of the model, or ask the administrator.',
  ],
  ['models.stage_failed.', ENGINE['models.quarantine_failed']!],
];

/** Refusals of the import command (`quarantine.import`), before any stage ran. */
const IMPORT: Record<string, string> = {
  not_found: 'Check the path (it must exist on the appliance host), then import again.',
  // The walk's refusals are the directory checks' own: the same line wherever they come from.
  symlink: DIFFUSERS_STEPS.symlink,
  hard_link: DIFFUSERS_STEPS.hard_link,
  special_file: DIFFUSERS_STEPS.special_file,
  hidden_path: DIFFUSERS_STEPS.hidden_path,
  invalid_name: DIFFUSERS_STEPS.path_not_unicode,
  path_too_long: DIFFUSERS_STEPS.path_too_long,
  file_too_large: DIFFUSERS_STEPS.file_too_large,
  total_too_large: DIFFUSERS_STEPS.total_too_large,
  too_many_files: DIFFUSERS_STEPS.too_many_files,
  too_many_entries: DIFFUSERS_STEPS.too_many_entries,
  too_deep: DIFFUSERS_STEPS.too_deep,
  empty_directory: 'The directory is empty: import the model’s directory itself.',
  changed_during_copy: FORMAT_PARSER_STEPS.gguf_file_changed!,
  insufficient_space: 'Free disk space in the appliance’s state directory, then import again.',
  store_conflict: `Another copy of the same bytes was being taken in. ${REIMPORT}`,
  signature_unreadable: 'Check the --signature path (a regular, readable file), then import again.',
  signature_too_large: PROVENANCE.bundle_too_large!,
  invalid_source: 'Check the name, URL and revision given with the import, then import again.',
  artifact_in_quarantine:
    'The same bytes are in quarantine now: wait for that run (secai model show <digest>) instead of importing again.',
  already_promoted:
    'The model is in the registry already: see secai model list; remove it first to import it again.',
  path_not_allowed:
    'The interface may only import from its staging directory: upload the artifact through it, or use secai model import.',
  import_failed: WORKER_BUG,
};

/**
 * Every reason code the quarantine can produce, by where it comes from, each with its line. The
 * stages' pass codes are listed too (a line saying nothing is to be done).
 */
export const NEXT_STEPS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  format_gate: { ...FORMAT_GATE, ...FORMAT_PARSER_STEPS },
  hash_pin: HASH_PIN,
  provenance: PROVENANCE,
  static_scan: STATIC_SCAN,
  behavioral_test: { ...BEHAVIOR, invalid_params: STATIC_SCAN.invalid_params! },
  diffusion_scan: { ...DIFFUSION, invalid_params: STATIC_SCAN.invalid_params! },
  worker: WORKER,
  run: RUN,
  policy_engine: ENGINE,
  import: IMPORT,
};

const FLAT: ReadonlyMap<string, string> = new Map(
  Object.values(NEXT_STEPS).flatMap((table) => Object.entries(table)),
);

/** For a code nobody listed: where to look. */
export const DEFAULT_NEXT_STEP =
  'See the whole run with secai model show <name or digest>, and ask the administrator if the reason is unclear.';

/** One line saying what to do next about a reason code (a stage's, the run's or an import refusal's). */
export function nextStepFor(reasonCode: string): string {
  const code = reasonCode.trim().toLowerCase();
  const exact = FLAT.get(code);
  if (exact !== undefined) return exact;
  for (const [prefix, step] of ENGINE_FAMILIES) if (code.startsWith(prefix)) return step;
  return DEFAULT_NEXT_STEP;
}

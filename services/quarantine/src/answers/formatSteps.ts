import type { DiffusersFindingCode } from '@secai/formats';
import type { GgufRejection } from '@secai/formats';
import type { SafetensorsReason } from '@secai/formats';

// The next step for each parser rejection the format gate reports as `gguf_<reason>`,
// `safetensors_<reason>` and `diffusers_<finding>`. Reasons fall in a few kinds, each with its
// own line; the records are keyed by the parsers' unions, so a new reason must be given a kind.

type Kind =
  | 'incomplete'
  | 'smuggled'
  | 'malformed'
  | 'limits'
  | 'changed'
  | 'not_regular'
  | 'unreadable'
  | 'template'
  | 'version'
  | 'ggml_type';

const KIND_STEPS: Record<Kind, string> = {
  incomplete:
    'The file is incomplete: download or copy it again, check its size and SHA-256 against the publisher’s, then import it again.',
  smuggled:
    'Bytes outside the tensors are how data is hidden in a model: get a clean copy from the publisher and compare its SHA-256; do not strip the bytes and retry.',
  malformed:
    'The file is malformed or was altered: get it again from the publisher, or re-export it with the official tools (llama.cpp convert_hf_to_gguf.py, safetensors save_file), then import it again.',
  limits:
    'The artifact exceeds the quarantine’s limits (sizes, counts, depth, lengths): get a clean copy from the publisher; if the model is genuine and this large, ask the administrator to review the limits.',
  changed:
    'The file changed while it was checked: make sure nothing writes to it (finish the download first), then import it again.',
  not_regular:
    'Import a regular file with one link (copy it, do not link it), then import it again.',
  unreadable: 'Check that the file is readable by the appliance, then import it again.',
  template:
    'Do not run this model: its chat template can run code or override the prompt; get the model from its original publisher or re-export it with a known template.',
  version:
    'Convert the model again with a current llama.cpp (GGUF version 3), then import it again.',
  ggml_type:
    'The model uses a tensor type this appliance does not know: use a common quantisation of it (Q4_K_M, Q8_0, F16), then import it again.',
};

const GGUF_KINDS: Record<Exclude<GgufRejection, 'bad_magic'>, Kind> = {
  not_regular_file: 'not_regular',
  file_changed: 'changed',
  truncated: 'incomplete',
  unsupported_version: 'version',
  too_many_tensors: 'limits',
  no_tensors: 'malformed',
  too_many_kvs: 'limits',
  header_too_large: 'limits',
  empty_key: 'malformed',
  key_too_long: 'limits',
  invalid_key: 'malformed',
  duplicate_key: 'malformed',
  invalid_utf8: 'malformed',
  string_too_long: 'limits',
  unknown_value_type: 'malformed',
  invalid_bool: 'malformed',
  array_too_long: 'limits',
  too_many_array_values: 'limits',
  array_nesting_too_deep: 'limits',
  bad_metadata_type: 'malformed',
  bad_alignment: 'malformed',
  chat_template_too_long: 'limits',
  suspicious_chat_template: 'template',
  empty_tensor_name: 'malformed',
  tensor_name_too_long: 'limits',
  tensor_names_too_large: 'limits',
  duplicate_tensor_name: 'malformed',
  bad_rank: 'malformed',
  zero_dimension: 'malformed',
  dimension_overflow: 'malformed',
  unknown_ggml_type: 'ggml_type',
  block_size_mismatch: 'malformed',
  data_offset_out_of_bounds: 'incomplete',
  misaligned_tensor: 'malformed',
  tensor_out_of_bounds: 'incomplete',
  tensors_overlap: 'smuggled',
  tensor_gap: 'smuggled',
  trailing_data: 'smuggled',
  nonzero_padding: 'smuggled',
};

const SAFETENSORS_KINDS: Record<SafetensorsReason, Kind> = {
  io_error: 'unreadable',
  not_regular_file: 'not_regular',
  hard_link: 'not_regular',
  file_too_short: 'incomplete',
  header_length_out_of_bounds: 'malformed',
  header_exceeds_file: 'incomplete',
  file_changed: 'changed',
  header_not_object: 'malformed',
  header_not_utf8: 'malformed',
  header_invalid_json: 'malformed',
  header_duplicate_key: 'malformed',
  header_too_complex: 'limits',
  metadata_invalid: 'malformed',
  too_many_tensors: 'limits',
  tensor_name_invalid: 'malformed',
  tensor_entry_invalid: 'malformed',
  dtype_invalid: 'malformed',
  shape_invalid: 'malformed',
  offsets_invalid: 'malformed',
  byte_size_mismatch: 'malformed',
  tensor_overlap: 'smuggled',
  tensor_gap: 'smuggled',
  trailing_data: 'smuggled',
  no_tensor_data: 'malformed',
};

/** A diffusers directory finding: its own line (shared with the diffusion scan's issue codes). */
export const DIFFUSERS_STEPS: Record<DiffusersFindingCode, string> = {
  not_a_directory: 'Import the pipeline’s top directory (the one holding model_index.json).',
  io_error:
    'Check that every file of the directory is readable by the appliance, then import it again.',
  too_many_entries: KIND_STEPS.limits,
  too_many_files: KIND_STEPS.limits,
  too_deep: KIND_STEPS.limits,
  path_too_long: KIND_STEPS.limits,
  path_not_unicode:
    'Rename the files whose names are not UTF-8 or hold control characters, then import it again.',
  hidden_path:
    'Remove hidden files and directories (.git, .cache, ...) from the directory, then import it again.',
  symlink: 'Replace symbolic links by the files they point to (cp -L), then import it again.',
  hard_link: 'Copy the files instead of hard-linking them, then import it again.',
  special_file: 'Import regular files only (no devices, FIFOs or sockets), then import it again.',
  file_too_large: KIND_STEPS.limits,
  total_too_large: KIND_STEPS.limits,
  file_changed: KIND_STEPS.changed,
  model_index_missing:
    'Import the pipeline’s top directory as save_pretrained writes it: model_index.json and one directory per component.',
  model_index_invalid:
    'model_index.json must be valid JSON as save_pretrained writes it: get the pipeline again from its publisher.',
  index_invalid:
    'model_index.json must name a pipeline class and its components (no custom pipelines or remote code): get the pipeline again from its publisher.',
  component_missing:
    'Import the whole pipeline: every component model_index.json names needs its directory.',
  component_not_directory:
    'Import the whole pipeline: every component model_index.json names needs its directory.',
  unexpected_directory:
    'Remove directories model_index.json does not name, then import the directory again.',
  pickle_format:
    'Use the safetensors (or GGUF) version of the model from its publisher (a pipeline: save_pretrained(..., safe_serialization=True)); never load a pickle to convert it, since loading one runs its code.',
  unsupported_file_type:
    'Keep only the files a pipeline needs (.json, .safetensors, .txt, .model, .vocab, .merges), then import it again.',
  safetensors_invalid: KIND_STEPS.malformed,
  json_invalid: KIND_STEPS.malformed,
  suspicious_content:
    'A configuration file holds code or a URL: get the pipeline from its publisher and never enable remote code for it.',
  text_invalid: KIND_STEPS.malformed,
  sentencepiece_invalid: KIND_STEPS.malformed,
  trailing_data: KIND_STEPS.smuggled,
  no_safetensors:
    'Add the pipeline’s safetensors weights (save_pretrained(..., safe_serialization=True)), then import it again.',
};

/** Every format-gate parser code with its next step. */
export const FORMAT_PARSER_STEPS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    Object.entries(GGUF_KINDS).map(([reason, kind]) => [`gguf_${reason}`, KIND_STEPS[kind]]),
  ),
  ...Object.fromEntries(
    Object.entries(SAFETENSORS_KINDS).map(([reason, kind]) => [
      `safetensors_${reason}`,
      KIND_STEPS[kind],
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(DIFFUSERS_STEPS).map(([code, step]) => [`diffusers_${code}`, step]),
  ),
};

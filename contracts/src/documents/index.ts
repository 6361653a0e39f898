export {
  DOCUMENT_PROBLEM_CODES,
  DocumentError,
  capProblems,
  formatProblem,
  problem,
  summariseProblems,
  type DocumentErrorCode,
  type DocumentProblem,
  type DocumentProblemCode,
  type DocumentResult,
} from './problem.js';
export { DEFAULT_MAX_PROBLEMS, loadStrictDocument, validateDocument } from './load.js';
export { parseStrictYaml, type DocumentLimits } from './yaml.js';
export { schemaDocumentProblems, describeValue } from './wording.js';
export { keyPathOf, pointerToKeyPath } from './keyPath.js';
export { readDocumentFile, type ReadDocumentOptions } from './read.js';

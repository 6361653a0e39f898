// Matchers for the policy engine: pure functions, no I/O, no clock.
export {
  findLookalike,
  InvalidPathPatternError,
  lexicalNormalize,
  matchPathList,
  MAX_PATH_LENGTH,
  normalizePath,
  normalizePattern,
  pathUnder,
  type Lookalike,
  type NormalizedPath,
  type PathListMatch,
  type PathRefusal,
} from '@secai/contracts';
export {
  DEFAULT_PORTS,
  destinationAllowed,
  InvalidDestinationEntryError,
  matchDestinationList,
  MAX_DESTINATION_LENGTH,
  normalizeDestinationEntry,
  parseDestination,
  redactedDestination,
  type Destination,
  type DestinationListMatch,
  type DestinationRefusal,
  type DestinationScheme,
  type ParsedDestination,
} from './destinations.js';
export { MAX_REGEX_LENGTH, MAX_REGEX_PROGRAM_SIZE, regexFinds, regexProblem } from './regex.js';
export { resourcePatternProblem, resourceRefusal } from './resources.js';

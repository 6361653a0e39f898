export {
  ChainBuilder,
  ChainError,
  GENESIS_HEAD,
  chainLink,
  entryDigest,
  headBytes,
  linkDigest,
  type ChainErrorCode,
} from './chain.js';

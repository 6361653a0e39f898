export { BundleError, type BundleErrorCode } from './errors.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  BUNDLE_VERSIONS_READ,
  bundleEntryLine,
  bundleEntryLineV1,
  bundleHeaderLine,
  parseBundleEntryLine,
  parseBundleHeaderLine,
  type BundleEntry,
  type BundleHeader,
  type BundleVersion,
  type StoredBundleEntry,
} from './format.js';
export { MAX_BUNDLE_LINE_BYTES, openBundle, readBundle, type OpenBundle } from './read.js';
export { verifyBundle, type BundleReport, type VerifyBundleOptions } from './verify.js';
export { writeBundle } from './write.js';

export { BundleError, type BundleErrorCode } from './errors.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  bundleEntryLine,
  bundleHeaderLine,
  parseBundleEntryLine,
  parseBundleHeaderLine,
  type BundleEntry,
  type BundleHeader,
} from './format.js';
export { MAX_BUNDLE_LINE_BYTES, openBundle, readBundle, type OpenBundle } from './read.js';
export { verifyBundle, type BundleReport, type VerifyBundleOptions } from './verify.js';
export { writeBundle } from './write.js';

export {
  HISTORY_CODES,
  type HistoryCode,
  type HistoryReport,
  type VerificationCode,
  type VerificationFailure,
} from './codes.js';
export { EventIdIndex } from './eventIds.js';
export {
  SEAL_TYPE,
  verifyHistory,
  type HistoryEntry,
  type VerifyHistoryOptions,
} from './verifyHistory.js';

// What every stage's verdict function answers, and what a fact or detail may carry of text taken
// from the artifact (names and messages reach events only through these).

export type StageFacts = Record<string, string | number | boolean>;

/** One stage's verdict: pure functions in `stages/` build it, the workers print it. */
export interface StageVerdict {
  passed: boolean;
  reasonCode: string;
  detail: string;
  /** Flat facts for the stage event (`result`). */
  facts: StageFacts;
}

/** What a fact or a detail may carry of a name taken from the artifact. */
export function safeLabel(s: string, max = 96): string {
  const cleaned = s.replace(/[^A-Za-z0-9._:/-]/g, '_');
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}~` : cleaned;
}

/** Free text for a detail: printable ASCII only, bounded. */
export function safeText(s: string, max = 300): string {
  const cleaned = s.replace(/[^\x20-\x7e]/g, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}~` : cleaned;
}

/** The verdict as a worker prints it: `{ passed, reasonCode, detail, ...facts }`. */
export function workerOutput(v: StageVerdict): Record<string, unknown> {
  return { passed: v.passed, reasonCode: v.reasonCode, detail: v.detail, ...v.facts };
}

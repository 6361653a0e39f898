import type { DraftEvent } from '@secai/contracts';
import type { AppendResult, EventStore } from '@secai/streams';
import { evolveFirewall, firewallProjection, type FirewallDocument } from './projection.js';

// What the firewall decides with right now: the projection document as it stood when the service
// started (caught up with the whole stream), then moved on by the events this process appends.
// The service is the only writer of `mcp/*` and `mcp-server/*`, so nothing else changes them; the
// hosted projection keeps following the stream for API keys and for the checkpoint a restart
// resumes from.

export class LiveState {
  #doc: FirewallDocument;

  constructor(
    private readonly store: EventStore,
    initial: FirewallDocument = firewallProjection.initialState(),
    private readonly now: () => Date = () => new Date(),
  ) {
    this.#doc = initial;
  }

  get doc(): FirewallDocument {
    return this.#doc;
  }

  /**
   * Appends events of one aggregate and folds them in once the stream acknowledged them.
   * `expectedSequence` 0 claims a new aggregate (a session id is used once); `'any'` appends to
   * a log (calls, taint, pins: this process is their only writer).
   */
  async append(
    drafts: readonly DraftEvent[],
    options: { expectedSequence: number | 'any'; causationId?: string; correlationId?: string },
  ): Promise<AppendResult> {
    const result = await this.store.append(drafts, options);
    const time = this.now().toISOString();
    for (const d of drafts)
      this.#doc = evolveFirewall(this.#doc, { type: d.type, data: d.data, time });
    return result;
  }
}

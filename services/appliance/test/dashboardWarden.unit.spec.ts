import { describe, expect, it } from 'vitest';
import { judgeConsumer, judgeUnattributed, mayHoldPushConsumers } from '../src/wardenRules.js';

// The dashboard (browser, terminal) reads with ordered pull consumers only: a push consumer, even
// into its own inbox, and any durable are not its to hold.

describe('the dashboard before the warden', () => {
  it('may hold its ordered (named, ephemeral, pull) consumers', () => {
    expect(
      judgeConsumer('dashboard', { stream: 'SECAI_EVENTS', name: 'Xk3vY2_1', durable: false }),
    ).toEqual({ allowed: true });
    expect(
      judgeConsumer('dashboard', { stream: 'KV_secai_trust', name: 'Xk3vY2_2', durable: false }),
    ).toEqual({ allowed: true });
  });

  it('may hold no push consumer, not even into its own inbox (a KV watch)', () => {
    for (const deliverSubject of ['_INBOX_dashboard.abc', 'secai.cmd.registry.quarantine_model'])
      expect(
        judgeConsumer('dashboard', {
          stream: 'KV_secai_trust',
          name: 'w',
          durable: false,
          deliverSubject,
        }),
      ).toMatchObject({ allowed: false, kind: 'push_consumer' });
    expect(mayHoldPushConsumers('dashboard')).toBe(false);
    // A service still may, into its own inbox (the rule is the dashboard's alone).
    expect(mayHoldPushConsumers('registry')).toBe(true);
  });

  it('may hold no durable, neither a new one nor a service’s', () => {
    for (const name of ['dash-durable', 'registry-promotion'])
      expect(
        judgeConsumer('dashboard', { stream: 'SECAI_EVENTS', name, durable: true }),
      ).toMatchObject({ allowed: false, kind: 'foreign_consumer' });
  });

  it('unattributed: a push delivery into the dashboard’s inbox belongs to nobody', () => {
    const identities = ['dashboard', 'registry'];
    expect(
      judgeUnattributed(identities, {
        stream: 'SECAI_EVENTS',
        name: 'p',
        durable: false,
        deliverSubject: '_INBOX_dashboard.x',
      }),
    ).toMatchObject({ allowed: false, kind: 'push_consumer' });
    expect(
      judgeUnattributed(identities, {
        stream: 'KV_secai_trust',
        name: 'w',
        durable: false,
        deliverSubject: '_INBOX_registry.x',
      }),
    ).toEqual({ allowed: true });
  });
});

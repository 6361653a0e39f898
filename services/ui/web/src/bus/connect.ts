import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nkeyAuthenticator, wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { loadWebTrustStore, setSchemaValidators } from '@secai/contracts/web';
import validators from 'virtual:secai-validators';
import { api, type BusCredentials } from '../api.js';
import { REPLAY_CAP, type LiveStore } from './live.js';

// The page on the bus: the read-only `dashboard` identity over the websocket listener, an
// ordered consumer over the events stream from (at most) the newest REPLAY_CAP entries, then live.

setSchemaValidators(validators);

const TYPE_HEADER = 'Secai-Type';
/** Envelopes being verified at once before the reader waits for the folds to catch up. */
const MAX_IN_FLIGHT = 256;

export interface BusHandle {
  close(): Promise<void>;
}

async function trustOf(creds: BusCredentials) {
  return loadWebTrustStore(creds.trustBundle, { now: new Date(), rootKeyid: creds.rootKeyid });
}

const RELOAD_TRIES = 10;
const RELOAD_PAUSE_MS = 300;

/**
 * The bundle once it shows the change the event announced (the KV bucket the UI service follows
 * may lag the event a little): a revoked keyid has its revocation, an issued one its certificate.
 */
async function trustReflecting(type: string, data: unknown) {
  const keyid = (data as { keyid?: string }).keyid;
  let trust = await trustOf(await api.bus());
  for (let i = 1; i < RELOAD_TRIES && keyid !== undefined; i++) {
    const shown =
      type === 'identity.revoked'
        ? trust.revocation(keyid) !== undefined
        : type === 'identity.issued'
          ? trust.lookup(keyid) !== undefined
          : true;
    if (shown) break;
    await new Promise((resolve) => setTimeout(resolve, RELOAD_PAUSE_MS));
    trust = await trustOf(await api.bus());
  }
  return trust;
}

export async function connectBus(store: LiveStore): Promise<BusHandle> {
  store.setPhase('connecting', 'asking the UI service for the dashboard credentials');
  const creds = await api.bus();
  store.setPhase('connecting', 'checking the trust bundle against the pinned root');
  store.setTrust(await trustOf(creds));
  // A certificate issued or revoked: take the new bundle before the next envelope is verified.
  store.onIdentityEvent = async (e) => {
    try {
      store.setTrust(await trustReflecting(e.event.type, e.event.data));
    } catch (err) {
      store.setPhase('error', `trust bundle reload failed: ${String(err)}`);
    }
  };

  store.setPhase('connecting', `connecting to ${creds.websocketUrl}`);
  const nc: NatsConnection = await wsconnect({
    servers: creds.websocketUrl,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(creds.seed)),
    inboxPrefix: creds.inboxPrefix,
    name: 'secai-dashboard',
    maxReconnectAttempts: -1,
  });
  let closing = false;
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const { state } = await jsm.streams.info(creds.stream);
    // An empty stream says first_seq 0: the first entry to come is still #1.
    const firstSeq = Math.max(state.first_seq, 1);
    const startSeq = Math.max(firstSeq, state.last_seq - REPLAY_CAP + 1);
    store.setReplayRange(firstSeq, startSeq, state.last_seq);
    store.setPhase(
      state.last_seq >= startSeq ? 'replaying' : 'live',
      state.last_seq >= startSeq ? `reading ${state.last_seq - startSeq + 1} stored entries` : '',
    );
    const consumer = await jetstream(nc, { checkAPI: false }).consumers.get(creds.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSeq,
    });
    const messages = await consumer.consume({ max_messages: 512 });
    const failed = (err: unknown) => {
      if (!closing) store.setPhase('error', `the event stream stopped: ${String(err)}`);
    };
    // Signatures are checked several at a time (WebCrypto works off the main thread); the
    // results are folded strictly in stream order by one chain of commits.
    let committed: Promise<void> = Promise.resolve();
    let pending = 0;
    const loop = (async () => {
      for await (const m of messages) {
        const typeHeader = m.headers?.get(TYPE_HEADER);
        const prepared = store.prepare({
          subject: m.subject,
          seq: m.seq,
          data: m.data,
          ...(typeHeader ? { typeHeader } : {}),
        });
        prepared.catch(() => undefined); // reported where it is committed
        pending += 1;
        committed = committed
          .then(() => prepared)
          .then((p) => store.commit(p))
          .finally(() => {
            pending -= 1;
          });
        committed.catch(failed);
        if (pending >= MAX_IN_FLIGHT) await committed;
      }
    })();
    loop.catch(failed);
    void nc.closed().then((err) => {
      if (!closing)
        store.setPhase('closed', err ? `connection closed: ${err.message}` : 'connection closed');
    });
    return {
      async close() {
        closing = true;
        messages.stop();
        await nc.close();
      },
    };
  } catch (err) {
    closing = true;
    await nc.close();
    throw err;
  }
}

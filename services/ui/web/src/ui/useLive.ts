import { useEffect, useMemo, useState } from 'preact/hooks';
import { connectBus, type BusHandle } from '../bus/connect.js';
import { LiveStore, type LiveSnapshot } from '../bus/live.js';
import { problemText } from './Auth.js';

/** One live store per logged-in shell: connects on mount, closes on unmount (logout). */
export function useLive(): LiveSnapshot {
  const store = useMemo(() => new LiveStore(), []);
  const [snapshot, setSnapshot] = useState<LiveSnapshot>(() => store.snapshot());
  useEffect(() => {
    const unsubscribe = store.subscribe(setSnapshot);
    let handle: BusHandle | null = null;
    let gone = false;
    connectBus(store)
      .then((h) => {
        if (gone) void h.close();
        else handle = h;
      })
      .catch((err: unknown) => store.setPhase('error', problemText(err)));
    return () => {
      gone = true;
      unsubscribe();
      void handle?.close();
    };
  }, [store]);
  return snapshot;
}

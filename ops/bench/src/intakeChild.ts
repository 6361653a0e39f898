// The service side of intake in a process of its own, so that its peak memory is its own and
// not the benchmark's (which generated the model in memory):
// `node intakeChild.js SOURCE QDIR copy|rename`. `rename` is an inbox drop (the service may consume
// the source: custody by rename when intake's rule holds), `copy` a user's `secai model import`.
import { peakRssKiB, snapshotArtifact } from '@secai/quarantine';

const [source, qdir, mode] = process.argv.slice(2);
if (!source || !qdir || (mode !== 'copy' && mode !== 'rename'))
  throw new Error('usage: intakeChild SOURCE QDIR copy|rename');
const phases: Record<string, number> = {};
const started = process.hrtime.bigint();
const snap = await snapshotArtifact(
  source,
  qdir,
  {},
  {
    consumeSource: mode === 'rename',
    // A directory reports a phase once per file: summed.
    onPhase: (phase, ms) => {
      phases[phase] = (phases[phase] ?? 0) + ms / 1000;
    },
  },
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(JSON.stringify({ snap, seconds, phases, maxRssKiB: peakRssKiB() }));

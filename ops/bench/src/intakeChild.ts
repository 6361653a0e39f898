// The service side of intake in a process of its own, so that its peak memory is its own and
// not the benchmark's (which generated the model in memory): `node intakeChild.js SOURCE QDIR`.
import { peakRssKiB, snapshotArtifact } from '@secai/quarantine';

const [source, qdir] = process.argv.slice(2);
if (!source || !qdir) throw new Error('usage: intakeChild SOURCE QDIR');
const started = process.hrtime.bigint();
const snap = await snapshotArtifact(source, qdir);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(JSON.stringify({ snap, seconds, maxRssKiB: peakRssKiB() }));

// Stage worker: provenance, run by `runStage` inside the sandbox (no network, so nothing but the
// pinned trust can vouch for a signature). Reads `{ path, kind, params }` on stdin, prints one
// JSON verdict on stdout. The bundle arrives as an extra read-only path. A thin shell:
// stages/provenance.ts checks the request and shapes the verdict, src/provenance verifies.
import { verifyModelSignature } from '../provenance/index.js';
import { provenanceRequestOf, provenanceStageVerdict } from '../stages/provenance.js';
import { workerOutput } from '../stages/verdict.js';
import { printVerdict, readRequest } from './io.js';

const checked = provenanceRequestOf(await readRequest<unknown>());
printVerdict(
  workerOutput(
    checked.ok
      ? provenanceStageVerdict(await verifyModelSignature(checked.request))
      : checked.verdict,
  ),
);

// Stage worker: hash pinning (stage 3) against the models lock. The digest is the one intake
// computed while copying (the artifact is read-only since), so no byte is read again here. A thin
// shell around `hashPinVerdict` (stages/hashPin.ts, pure).
import { hashPinVerdict, type HashPinInput } from '../stages/hashPin.js';
import { workerOutput } from '../stages/verdict.js';
import { printVerdict, readRequest } from './io.js';

const { params } = await readRequest<HashPinInput>();
printVerdict(
  workerOutput(
    hashPinVerdict({
      lockText: params.lockText,
      filename: params.filename,
      sha256: params.sha256,
      sourceUrl: params.sourceUrl,
    }),
  ),
);

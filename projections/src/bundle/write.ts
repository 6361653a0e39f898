import { writeAtomically } from '@secai/contracts';
import { BundleError } from './errors.js';
import {
  bundleEntryLine,
  bundleHeaderLine,
  type BundleHeader,
  type StoredBundleEntry,
} from './format.js';

const FLUSH_BYTES = 1024 * 1024;

/**
 * Writes a bundle: the header, then one line per entry (`bundleEntryLine`: any stored bytes fit,
 * the unembeddable ones base64-encoded). The entries must be exactly
 * `header.fromSeq..header.toSeq` in order; anything else throws `BUNDLE_MALFORMED` and leaves no
 * file behind. The file appears under `path` only once complete (written aside, then renamed).
 */
export async function writeBundle(
  path: string,
  header: BundleHeader,
  entries: Iterable<StoredBundleEntry> | AsyncIterable<StoredBundleEntry>,
  mode = 0o600,
): Promise<void> {
  const headerLine = bundleHeaderLine(header);
  await writeAtomically(
    path,
    async (handle) => {
      let batch: Buffer[] = [Buffer.from(headerLine)];
      let batched = batch[0]?.length ?? 0;
      let expected = header.fromSeq;
      for await (const entry of entries) {
        const { seq } = entry;
        if (seq !== expected || seq > header.toSeq) {
          throw new BundleError(
            'BUNDLE_MALFORMED',
            `entry seq ${seq} where the header expects ${expected}`,
          );
        }
        const line = bundleEntryLine(entry);
        batch.push(line);
        batched += line.length;
        expected += 1;
        if (batched >= FLUSH_BYTES) {
          await handle.write(Buffer.concat(batch));
          batch = [];
          batched = 0;
        }
      }
      if (expected !== header.toSeq + 1) {
        throw new BundleError(
          'BUNDLE_MALFORMED',
          `entries end at ${expected - 1}, the header says ${header.toSeq}`,
        );
      }
      await handle.write(Buffer.concat(batch));
    },
    mode,
  );
}

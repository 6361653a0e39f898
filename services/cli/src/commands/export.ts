import type { EventData } from '@secai/contracts';
import { BUNDLE_FORMAT, BUNDLE_VERSION, GENESIS_HEAD, writeBundle } from '@secai/projections';
import { readHistory, sendCommand, streamBounds } from '@secai/streams';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { verifiedEvents } from '../verified.js';
import { progress } from '../progress.js';

export interface ExportOptions {
  out: string;
  from?: number;
  to?: number;
  seal: boolean;
  json?: boolean;
}

type Seal = { seq: number; data: EventData<'audit.checkpoint.sealed'> };

/** Verified seals on `audit/chain`, in order (a refused seal anchors nothing). */
async function readSeals(ctx: CliContext): Promise<Seal[]> {
  const seals: Seal[] = [];
  for await (const { seq, event } of verifiedEvents(ctx, {
    filterSubject: 'secai.evt.audit.chain',
  })) {
    if (event.type === 'audit.checkpoint.sealed')
      seals.push({ seq, data: event.data as Seal['data'] });
  }
  return seals;
}

/**
 * `secai events export`: asks the recorder to seal the tail, then writes a self-contained JSON
 * Lines bundle (header with trust material, then one line per stored message: its seq, subject,
 * type header and stored bytes, verbatim or, for bytes a forger made unembeddable, base64).
 * A range that starts mid-stream is widened back to the nearest seal boundary, so the bundle's
 * chain start is vouched for by a signed seal inside it. Written aside and renamed (writeBundle).
 */
export async function exportCommand(
  ctx: CliContext,
  options: ExportOptions,
  out: (line: string) => void,
  warn: (line: string) => void,
): Promise<void> {
  let sealedTail = false;
  if (options.seal) {
    try {
      const reply = await sendCommand(ctx.nc, {
        command: 'incident-recorder.seal',
        signer: ctx.signer,
        trust: ctx.trust,
        request: { reason: 'export' },
        timeoutMs: 15_000,
      });
      sealedTail = reply.ok;
      if (!reply.ok) warn(`the recorder refused to seal: ${reply.code}: ${reply.message}`);
    } catch (err) {
      warn(
        `could not seal the tail (${(err as Error).message}); the last events will be exported unsealed`,
      );
    }
  }
  const bounds = await streamBounds(ctx.jsm, ctx.stream);
  if (bounds.messages === 0) throw new CliError('EXPORT_FAILED', 'the event stream is empty');
  const toSeq = Math.min(options.to ?? bounds.lastSeq, bounds.lastSeq);
  let fromSeq = Math.max(options.from ?? bounds.firstSeq, bounds.firstSeq);
  if (fromSeq > toSeq) throw new CliError('USAGE', `--from ${fromSeq} is after --to ${toSeq}`);

  let chainStart = { seq: 0, head: GENESIS_HEAD };
  if (fromSeq > 1) {
    const anchor = (await readSeals(ctx))
      .filter((s) => s.data.toSeq < fromSeq && s.seq <= toSeq)
      .pop();
    if (anchor) {
      chainStart = { seq: anchor.data.toSeq, head: anchor.data.head };
      fromSeq = anchor.data.toSeq + 1;
    } else {
      fromSeq = 1;
    }
    if (options.from !== undefined && fromSeq !== options.from)
      warn(`range widened to start at seq ${fromSeq}, after the seal that anchors it`);
  }

  const bar = progress('exporting', toSeq - fromSeq + 1, options.json);
  let count = 0;
  const entries = async function* () {
    for await (const e of readHistory(ctx.js, ctx.jsm, ctx.stream, { fromSeq, toSeq })) {
      count++;
      bar.tick();
      // The subject and type header go along, so the bundle is verified as consumers verify.
      yield { seq: e.seq, subject: e.subject, type: e.type, bytes: e.bytes };
    }
  };
  try {
    await writeBundle(
      options.out,
      {
        format: BUNDLE_FORMAT,
        version: BUNDLE_VERSION,
        exportedAt: new Date().toISOString(),
        stream: ctx.stream,
        fromSeq,
        toSeq,
        count: toSeq - fromSeq + 1,
        chainStart,
        trust: ctx.trust.bundle,
      },
      entries(),
    );
  } catch (err) {
    throw new CliError(
      'EXPORT_FAILED',
      `export to ${options.out} failed: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    bar.stop();
  }
  const summary = { out: options.out, fromSeq, toSeq, count, chainStart, sealedTail };
  if (options.json) out(JSON.stringify(summary));
  else
    out(
      `exported ${count} events (seq ${fromSeq}..${toSeq}) to ${options.out}${sealedTail ? ', tail sealed' : ', tail NOT sealed'}`,
    );
}

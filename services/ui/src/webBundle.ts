import { readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { PLACEHOLDER_PAGE, assetSegments, contentTypeOf } from './pageRules.js';

// The front end's build on disk (`web/dist`): its index.html, re-read when it changes (a rebuild
// while the service runs is served at once), and its assets, served only when the resolved file
// is a regular file inside `dist/assets` (a link out of it is not followed out).

const MAX_ASSET_BYTES = 16 * 1024 * 1024;

export interface Asset {
  bytes: Buffer;
  contentType: string;
}

export class WebBundle {
  readonly #dist: string;
  #index: { mtimeMs: number; html: string } | null = null;

  constructor(dist: string) {
    this.#dist = dist;
  }

  /** The page's HTML (without nonces), or the placeholder while no build exists. */
  async indexHtml(): Promise<{ html: string; built: boolean }> {
    const path = join(this.#dist, 'index.html');
    try {
      const info = await stat(path);
      if (!info.isFile()) return { html: PLACEHOLDER_PAGE, built: false };
      if (this.#index?.mtimeMs !== info.mtimeMs)
        this.#index = { mtimeMs: info.mtimeMs, html: await readFile(path, 'utf8') };
      return { html: this.#index.html, built: true };
    } catch {
      return { html: PLACEHOLDER_PAGE, built: false };
    }
  }

  /** The asset `/assets/<rest>` names, or null (not there, not a plain name, not a file). */
  async asset(rest: string): Promise<Asset | null> {
    const segments = assetSegments(rest);
    if (!segments) return null;
    const contentType = contentTypeOf(segments[segments.length - 1]!);
    if (!contentType) return null;
    try {
      const root = await realpath(join(this.#dist, 'assets'));
      const file = await realpath(join(root, ...segments));
      if (!file.startsWith(root + sep)) return null;
      const info = await stat(file);
      if (!info.isFile() || info.size > MAX_ASSET_BYTES) return null;
      return { bytes: await readFile(file), contentType };
    } catch {
      return null;
    }
  }
}

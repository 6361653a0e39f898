// The page and its assets (pure): the nonce goes into every tag that loads script or style, a
// request path maps to a file under the bundle's assets or to nothing, and which GETs are pages.

/** The page served until the front end's bundle is built: no script at all. */
export const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="referrer" content="no-referrer" />
    <title>SecAI appliance</title>
  </head>
  <body>
    <h1>SecAI appliance</h1>
    <p>The dashboard is not built on this appliance yet (npm run build writes services/ui/web/dist).</p>
  </body>
</html>
`;

/**
 * Adds `nonce="<nonce>"` to every `<script`, `<link` and `<style` tag of the page. A tag that
 * already names a nonce gets it replaced, so nothing in the file can pin one of its own.
 */
export function injectNonce(html: string, nonce: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(nonce)) throw new Error('a nonce is base64url');
  return html.replace(/<(script|link|style)\b([^>]*)>/gi, (_all, tag: string, attrs: string) => {
    const rest = attrs.replace(/\snonce\s*=\s*("[^"]*"|'[^']*'|[^\s>]*)/gi, '');
    return `<${tag} nonce="${nonce}"${rest}>`;
  });
}

const ASSET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$/;

/**
 * The file under the assets directory that `/assets/<rest>` names, as path segments, or null:
 * segments of plain names only (no `..`, no hidden files, no encoded separators, no NUL), at
 * most four deep.
 */
export function assetSegments(rest: string): string[] | null {
  const segments = rest.split('/');
  if (segments.length > 4) return null;
  const names: string[] = [];
  for (const segment of segments) {
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      return null;
    }
    // An encoded separator would make one segment two; `..` anywhere is refused outright.
    if (!ASSET_NAME.test(name) || name.includes('..')) return null;
    names.push(name);
  }
  return names;
}

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export function contentTypeOf(name: string): string | null {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? null : (CONTENT_TYPES[name.slice(dot).toLowerCase()] ?? null);
}

/**
 * Whether a GET is for the page (the front end routes it): not the API, not an asset, not
 * `/health`, and no file extension in its last segment.
 */
export function isPagePath(path: string): boolean {
  if (path === '/') return true;
  if (path.startsWith('/api/') || path === '/api' || path.startsWith('/assets/')) return false;
  if (path === '/health') return false;
  if (path.length > 512 || !/^(\/[A-Za-z0-9_~-]+)+\/?$/.test(path)) return false;
  return true;
}

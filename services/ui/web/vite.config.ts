import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

// The dashboard bundle (ARCHITECTURE: the UI service serves web/dist). Built at setup time by
// `npm run -w @secai/ui build:web` (= `vite build --config web/vite.config.ts`, run in services/ui).
// What the page's CSP needs from the output: no inline script or style anywhere (the UI service
// only adds a nonce to the tags Vite writes), nothing fetched from another origin, so no module
// preload polyfill (Vite inlines it as a script) and every asset emitted as a file under assets/.

const root = fileURLToPath(new URL('.', import.meta.url));

const VALIDATORS_ID = 'virtual:secai-validators';
const RESOLVED_VALIDATORS_ID = `\0${VALIDATORS_ID}`;

/**
 * `virtual:secai-validators`: the event schemas compiled by Ajv into plain functions at build time
 * (the page's CSP has no 'unsafe-eval', so Ajv cannot compile in the browser). The module's
 * default export maps each event type to its validate function.
 */
function secaiValidators(): Plugin {
  // Hook filters: the bundler calls these for the one module only, not for every file it loads.
  return {
    name: 'secai-validators',
    resolveId: {
      filter: { id: new RegExp(`^${VALIDATORS_ID}$`) },
      handler: () => RESOLVED_VALIDATORS_ID,
    },
    load: {
      filter: { id: new RegExp(`^\\0${VALIDATORS_ID}$`) },
      async handler() {
        // Runs in Node at build time: the compiled contracts (dist), built before the bundle.
        const { standaloneValidatorsSource } = await import('@secai/contracts/standalone');
        return standaloneValidatorsSource();
      },
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  plugins: [secaiValidators()],
  resolve: {
    // Workspace packages (@secai/*) compile from their TypeScript sources; everything else takes
    // its browser build.
    conditions: ['source', ...defaultClientConditions],
  },
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Anything small would otherwise be inlined as a data: URL (a script or a font inside CSS).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    sourcemap: false,
    target: 'es2023',
    reportCompressedSize: false,
    // One file on purpose (served from loopback, cached under /assets/); most of it is the
    // generated schema validators of the whole event catalogue (~0.9 MB).
    chunkSizeWarningLimit: 2048,
    // Compiling the schemas takes a few seconds in the validators plugin; that is expected.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
});

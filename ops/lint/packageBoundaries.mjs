// ESLint rule `secai/package-boundaries` (issue 9 §3): packages meet only at public entries.
// - No service imports another service (`@secai/<service>` inside `services/<name>/src`), the CLI
//   aside: it is the operator's front end over the services' public library entries.
// - No relative import reaches into another package's files (`../../cli/src/...`): a package is
//   used through its `exports`, so its internals can change without breaking a neighbour.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const serviceDirs = readdirSync(join(root, 'services'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const packageRoots = ['contracts', 'streams', 'projections', 'formats', 'sandbox', 'ops/bench']
  .concat(serviceDirs.map((s) => `services/${s}`))
  .map((p) => resolve(root, p));
/** `@secai/<name>` → service directory, read from each package.json. */
const servicePackages = new Map(
  serviceDirs.map((dir) => {
    const { name } = JSON.parse(readFileSync(join(root, 'services', dir, 'package.json'), 'utf8'));
    return [name, dir];
  }),
);
const FRONT_ENDS = new Set(['cli']);

function packageOf(file) {
  return packageRoots.find((r) => file === r || file.startsWith(r + sep)) ?? null;
}

function packageName(spec) {
  const m = /^(@[^/]+\/[^/]+)/.exec(spec);
  return m ? m[1] : null;
}

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'packages meet only at public entries; services never import services' },
    messages: {
      serviceImport:
        "services/{{self}} imports {{spec}}: a service never imports another service's package (ask it over the bus, or move the shared part to contracts/streams)",
      deepRelative:
        '{{spec}} reaches into another package ({{target}}): import it by its package name and public entry',
    },
    schema: [],
  },
  create(context) {
    const file = resolve(context.filename);
    const own = packageOf(file);
    const inSrc = /^services\/([^/]+)\/src\//.exec(relative(root, file).split(sep).join('/'));
    const self = inSrc ? inSrc[1] : null;

    function check(node) {
      const source = node.source;
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const spec = source.value;
      if (spec.startsWith('.')) {
        const target = packageOf(resolve(dirname(file), spec));
        if (target !== own)
          context.report({
            node: source,
            messageId: 'deepRelative',
            data: { spec, target: target ? relative(root, target) : 'outside any package' },
          });
        return;
      }
      if (self === null || FRONT_ENDS.has(self)) return;
      const target = servicePackages.get(packageName(spec));
      if (target !== undefined && target !== self)
        context.report({ node: source, messageId: 'serviceImport', data: { self, spec } });
    }

    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { 'package-boundaries': rule } };

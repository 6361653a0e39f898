import { resolve } from 'node:path';
import { RuleTester } from 'eslint';
import { describe, it } from 'vitest';
import plugin from '../packageBoundaries.mjs';

// RuleTester reports through the test framework's describe/it.
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const root = resolve(import.meta.dirname, '../../..');
const at = (path: string) => resolve(root, path);
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });

tester.run('secai/package-boundaries', plugin.rules['package-boundaries'], {
  valid: [
    { filename: at('services/registry/src/x.ts'), code: "import { a } from '@secai/contracts';" },
    { filename: at('services/registry/src/x.ts'), code: "import { a } from '@secai/streams';" },
    { filename: at('services/registry/src/x.ts'), code: "import { a } from './decider.js';" },
    { filename: at('services/registry/test/x.ts'), code: "import { a } from '../src/index.js';" },
    // The CLI is the operator's front end over the services' public entries.
    { filename: at('services/cli/src/x.ts'), code: "import { boot } from '@secai/appliance';" },
    // Tests may start another service through its public entry.
    { filename: at('services/cli/test/x.ts'), code: "import { a } from '@secai/registry';" },
    { filename: at('ops/bench/src/x.ts'), code: "import { a } from '@secai/quarantine';" },
    { filename: at('services/quarantine/src/a/b/c.ts'), code: "import { x } from '../../y.js';" },
  ],
  invalid: [
    {
      filename: at('services/quarantine/src/stages/sourcePolicy.ts'),
      code: "import { m } from '@secai/policy-engine/match';",
      errors: [{ messageId: 'serviceImport' }],
    },
    {
      filename: at('services/registry/src/x.ts'),
      code: "export { x } from '@secai/incident-recorder';",
      errors: [{ messageId: 'serviceImport' }],
    },
    {
      filename: at('services/registry/src/x.ts'),
      code: "const m = await import('@secai/quarantine');",
      errors: [{ messageId: 'serviceImport' }],
    },
    {
      filename: at('services/integrity-monitor/test/monitor.int.spec.ts'),
      code: "import { f } from '../../cli/src/commands/integrity.js';",
      errors: [{ messageId: 'deepRelative' }],
    },
    {
      filename: at('streams/src/x.ts'),
      code: "import { f } from '../../contracts/src/index.js';",
      errors: [{ messageId: 'deepRelative' }],
    },
  ],
});

// The build-time module of the Vite config's `secai-validators` plugin: every event type's Ajv
// standalone validate function (standaloneValidatorsSource() of @secai/contracts/standalone).
declare module 'virtual:secai-validators' {
  import type { SchemaValidators } from '@secai/contracts/web';
  const validators: SchemaValidators;
  export default validators;
}

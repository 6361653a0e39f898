import type { Rule } from 'eslint';
declare const plugin: { rules: { 'package-boundaries': Rule.RuleModule } };
export default plugin;

import { hashAdapter } from './hash.js';
import { listAdapter } from './list.js';
import { readAdapter } from './read.js';
import { searchAdapter } from './search.js';
import type { ToolAdapter } from './types.js';
import { writeAdapter } from './write.js';

export * from './types.js';
export { REDACTION_MARGIN } from './read.js';
export { SEARCH_MAX_DEPTH } from './search.js';

/** The tools this firewall can run (the original had none). */
export const FILESYSTEM_ADAPTERS: readonly ToolAdapter[] = [
  readAdapter,
  writeAdapter,
  listAdapter,
  hashAdapter,
  searchAdapter,
];

/** The name an OpenAI function may carry (`^[A-Za-z0-9_-]{1,64}$`): dots become underscores. */
export function openAiNameOf(tool: string): string {
  return tool.replace(/[.:]/g, '_');
}

/** Adapters by tool name and by their OpenAI function name. */
export class AdapterRegistry {
  readonly #byName = new Map<string, ToolAdapter>();
  readonly #byOpenAiName = new Map<string, ToolAdapter>();

  constructor(adapters: readonly ToolAdapter[]) {
    for (const a of adapters) {
      if (this.#byName.has(a.name)) throw new Error(`two adapters for ${a.name}`);
      this.#byName.set(a.name, a);
      this.#byOpenAiName.set(openAiNameOf(a.name), a);
    }
  }

  get(tool: string): ToolAdapter | undefined {
    return this.#byName.get(tool);
  }

  /** The tool an OpenAI function name means: an adapter's own or OpenAI name, else the name. */
  toolOfFunction(name: string): string {
    return this.#byName.get(name)?.name ?? this.#byOpenAiName.get(name)?.name ?? name;
  }

  list(): readonly ToolAdapter[] {
    return [...this.#byName.values()];
  }
}

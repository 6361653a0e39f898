import { McpPolicyError, mcpPolicyOf, type McpPolicy } from '@secai/contracts';
import type { LoadedPolicy } from '@secai/streams';

// The MCP document of the active policy (`policy.loaded` → `documents` → `mcp`), parsed once per
// policy digest. No active policy, no MCP document or an invalid one: null, and every call is
// refused (fail closed).

export type McpPolicyView =
  { ok: true; digest: string; policy: McpPolicy } | { ok: false; problem: string };

export class McpPolicyCache {
  #digest: string | null = null;
  #view: McpPolicyView = { ok: false, problem: 'no policy read yet' };

  constructor(private readonly current: () => Promise<LoadedPolicy | null>) {}

  async read(): Promise<McpPolicyView> {
    let loaded: LoadedPolicy | null;
    try {
      loaded = await this.current();
    } catch (err) {
      return {
        ok: false,
        problem: `the active policy could not be read: ${(err as Error).message}`,
      };
    }
    if (loaded === null) {
      this.#digest = null;
      return (this.#view = { ok: false, problem: 'no policy is active' });
    }
    if (loaded.digest === this.#digest) return this.#view;
    this.#digest = loaded.digest;
    try {
      const policy = mcpPolicyOf(loaded.documents);
      this.#view =
        policy === null
          ? { ok: false, problem: 'the active policy has no mcp document: no MCP server is known' }
          : { ok: true, digest: loaded.digest, policy };
    } catch (err) {
      this.#view = {
        ok: false,
        problem: err instanceof McpPolicyError ? err.message : 'the mcp document could not be read',
      };
    }
    return this.#view;
  }
}

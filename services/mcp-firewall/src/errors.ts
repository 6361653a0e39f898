import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { BaseError } from '@secai/contracts';
import { OUTPUT_TOO_LARGE_CODE } from './upstream/tooLarge.js';

// Every refusal has a stable code. Over MCP it is a JSON-RPC error whose `code` is a number of the
// server-error range and whose `data.code` is the name (with the rule id and decision id where a
// decision was made); over the HTTP API it is a problem document.

export type McpFirewallErrorCode =
  | 'POLICY_UNAVAILABLE'
  | 'POLICY_DENIED'
  | 'APPROVAL_REQUIRED'
  | 'TOOL_UNKNOWN'
  | 'TOOL_NOT_APPROVED'
  | 'TOOL_REFUSED'
  | 'RESOURCE_UNKNOWN'
  | 'PROMPT_UNKNOWN'
  | 'ARGUMENTS_INVALID'
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_FAILED'
  | 'OUTPUT_TOO_LARGE'
  | 'SESSION_UNKNOWN'
  | 'SESSION_CLOSED'
  | 'SERVER_UNKNOWN'
  | 'TOOL_CHANGED'
  | 'NOTHING_TO_APPROVE'
  | 'NOT_TAINTED';

/** JSON-RPC error codes (server-error range) of the refusals a client can get over MCP. */
export const JSON_RPC_CODES: Readonly<Record<McpFirewallErrorCode, number>> = {
  POLICY_UNAVAILABLE: -32001,
  POLICY_DENIED: -32002,
  APPROVAL_REQUIRED: -32003,
  TOOL_NOT_APPROVED: -32004,
  TOOL_REFUSED: -32005,
  TOOL_UNKNOWN: -32006,
  RATE_LIMITED: -32007,
  UPSTREAM_UNAVAILABLE: -32008,
  UPSTREAM_FAILED: -32009,
  ARGUMENTS_INVALID: -32010,
  OUTPUT_TOO_LARGE: OUTPUT_TOO_LARGE_CODE,
  RESOURCE_UNKNOWN: -32012,
  PROMPT_UNKNOWN: -32013,
  SESSION_UNKNOWN: -32014,
  SESSION_CLOSED: -32015,
  SERVER_UNKNOWN: -32016,
  TOOL_CHANGED: -32017,
  NOTHING_TO_APPROVE: -32018,
  NOT_TAINTED: -32019,
};

/** HTTP status of each code on the gateway's API routes. */
export const HTTP_STATUS: Readonly<Record<McpFirewallErrorCode, number>> = {
  POLICY_UNAVAILABLE: 503,
  POLICY_DENIED: 403,
  APPROVAL_REQUIRED: 403,
  TOOL_NOT_APPROVED: 403,
  TOOL_REFUSED: 409,
  TOOL_UNKNOWN: 404,
  RATE_LIMITED: 429,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_FAILED: 502,
  ARGUMENTS_INVALID: 400,
  OUTPUT_TOO_LARGE: 502,
  RESOURCE_UNKNOWN: 404,
  PROMPT_UNKNOWN: 404,
  SESSION_UNKNOWN: 404,
  SESSION_CLOSED: 404,
  SERVER_UNKNOWN: 404,
  TOOL_CHANGED: 409,
  NOTHING_TO_APPROVE: 409,
  NOT_TAINTED: 409,
};

/** What a refusal carries besides its message (JSON-RPC `data`, problem extensions). */
export interface RefusalDetail {
  ruleId?: string;
  decisionId?: string | null;
  retryAfterSeconds?: number;
  reasons?: string[];
}

export class McpFirewallError extends BaseError<McpFirewallErrorCode> {
  constructor(
    code: McpFirewallErrorCode,
    message: string,
    readonly detail: RefusalDetail = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  /** The JSON-RPC error a client receives. */
  toMcpError(): McpError {
    return new McpError(JSON_RPC_CODES[this.code], this.message, {
      code: this.code,
      ...this.detail,
    });
  }
}

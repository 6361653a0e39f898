// The pickle VM, simulated (quarantine.md §2.5): walks protocol 0–5 opcodes without executing
// anything, keeping just enough of the stack and memo to resolve the module and name behind
// GLOBAL / STACK_GLOBAL / INST, and classifies every import (classify.ts). Bounded and total:
// truncated or garbage input yields a verdict with findings, never an exception.
import { classifyPickleGlobal } from './classify.js';
import { OPCODES } from './opcodes.js';
import type {
  PickleFindingCode,
  PickleFinding,
  PickleGlobal,
  PickleScanOptions,
  PickleScanResult,
  PickleVerdict,
} from './types.js';

type Val =
  | { readonly k: 'mark' }
  | { readonly k: 'str'; readonly v: string }
  | { readonly k: 'global'; readonly g: PickleGlobal | undefined }
  | { readonly k: 'other' };

const MARK: Val = { k: 'mark' };
const OTHER: Val = { k: 'other' };
const MAX_NAME = 512;
const latin1 = new TextDecoder('latin1');
const utf8Lenient = new TextDecoder('utf-8', { fatal: false });

class Truncated extends Error {}
class Stop extends Error {
  constructor(
    readonly code: PickleFindingCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Scans one pickle stream starting at `options.offset` (default 0). Never throws. */
export function scanPickle(bytes: Uint8Array, options: PickleScanOptions = {}): PickleScanResult {
  const start = options.offset ?? 0;
  const maxOpcodes = options.maxOpcodes ?? 5_000_000;
  const maxStack = options.maxStack ?? 1_000_000;
  const maxMemo = options.maxMemo ?? 1_000_000;
  const maxLine = options.maxLine ?? 65_536;
  const maxFindings = options.maxFindings ?? 1000;

  const findings: PickleFinding[] = [];
  const globals: PickleGlobal[] = [];
  const calls: Record<string, number> = {};
  const stack: Val[] = [];
  const memo = new Map<number, Val>();
  let protocol = 0;
  let sawProto = false;
  let count = 0;
  let pos = start;
  let complete = false;
  let malformed = false;

  const note = (code: PickleFindingCode, offset: number, detail: string): void => {
    if (findings.length < maxFindings) findings.push({ code, offset, detail });
  };
  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new Truncated();
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++] as number;
  };
  const uint = (n: number): number => {
    need(n);
    let v = 0;
    for (let i = n - 1; i >= 0; i -= 1) v = v * 256 + (bytes[pos + i] as number);
    pos += n;
    return v;
  };
  const line = (): string => {
    const limit = Math.min(bytes.length, pos + maxLine);
    for (let i = pos; i < limit; i += 1) {
      if (bytes[i] === 0x0a) {
        const s = latin1.decode(bytes.subarray(pos, i));
        pos = i + 1;
        return s;
      }
    }
    if (limit === bytes.length) throw new Truncated();
    throw new Stop('limit_exceeded', `text line longer than ${maxLine} bytes`);
  };
  const take = (n: number): Uint8Array => {
    if (!Number.isSafeInteger(n) || n < 0) throw new Stop('malformed', 'negative or huge length');
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const push = (v: Val): void => {
    if (stack.length >= maxStack) throw new Stop('limit_exceeded', `stack deeper than ${maxStack}`);
    stack.push(v);
  };
  const pop = (at: number): Val => {
    const v = stack.pop();
    if (v === undefined) {
      malformed = true;
      note('malformed', at, 'stack underflow');
      return OTHER;
    }
    return v;
  };
  const popMark = (at: number): Val[] => {
    for (let i = stack.length - 1; i >= 0; i -= 1) {
      if (stack[i] === MARK) {
        const items = stack.splice(i);
        items.shift();
        return items;
      }
    }
    malformed = true;
    note('malformed', at, 'no MARK on the stack');
    return stack.splice(0);
  };
  const addGlobal = (
    module: string,
    name: string,
    via: PickleGlobal['via'],
    at: number,
  ): PickleGlobal => {
    const m = module.trim().slice(0, MAX_NAME);
    const n = name.trim().slice(0, MAX_NAME);
    const risk = classifyPickleGlobal(m, n);
    const g: PickleGlobal = { module: m, name: n, risk, via, offset: at };
    if (globals.length < maxFindings) globals.push(g);
    if (risk === 'dangerous') note('dangerous_import', at, `${via} ${m}.${n}`);
    else if (risk === 'unknown') note('unknown_import', at, `${via} ${m}.${n}`);
    return g;
  };
  const call = (opName: string, callee: Val, at: number): void => {
    calls[opName] = (calls[opName] ?? 0) + 1;
    if (callee.k === 'global' && callee.g !== undefined && callee.g.risk === 'dangerous') {
      note('call', at, `${opName} invokes ${callee.g.module}.${callee.g.name}`);
    }
  };

  try {
    for (;;) {
      if (count >= maxOpcodes) throw new Stop('limit_exceeded', `more than ${maxOpcodes} opcodes`);
      const at = pos;
      const code = u8();
      const o = OPCODES.get(code);
      if (o === undefined) {
        throw new Stop(
          'unknown_opcode',
          `byte 0x${code.toString(16).padStart(2, '0')} is not a pickle opcode`,
        );
      }
      count += 1;
      switch (o.name) {
        case 'PROTO': {
          const p = u8();
          if (p > 5) throw new Stop('unknown_opcode', `unsupported protocol ${p}`);
          if (!sawProto) protocol = p;
          sawProto = true;
          break;
        }
        case 'FRAME':
          uint(8);
          break;
        case 'STOP':
          if (stack.length !== 1) {
            malformed = true;
            note('malformed', at, `STOP with ${stack.length} values on the stack`);
          }
          complete = !malformed;
          pos = at + 1;
          return finish();
        case 'MARK':
          push(MARK);
          break;
        case 'POP':
          pop(at);
          break;
        case 'POP_MARK':
          popMark(at);
          break;
        case 'DUP': {
          const top = stack[stack.length - 1];
          if (top === undefined) pop(at);
          else push(top);
          break;
        }
        case 'FLOAT':
        case 'INT':
        case 'LONG':
          line();
          push(OTHER);
          break;
        case 'BININT':
        case 'EXT4':
          uint(4);
          if (o.name === 'EXT4') extension(at);
          else push(OTHER);
          break;
        case 'BININT1':
        case 'EXT1':
          u8();
          if (o.name === 'EXT1') extension(at);
          else push(OTHER);
          break;
        case 'BININT2':
        case 'EXT2':
          uint(2);
          if (o.name === 'EXT2') extension(at);
          else push(OTHER);
          break;
        case 'BINFLOAT':
          uint(8);
          push(OTHER);
          break;
        case 'NONE':
        case 'NEWTRUE':
        case 'NEWFALSE':
        case 'EMPTY_DICT':
        case 'EMPTY_LIST':
        case 'EMPTY_TUPLE':
        case 'EMPTY_SET':
        case 'NEXT_BUFFER':
          push(OTHER);
          break;
        case 'READONLY_BUFFER':
          break;
        case 'PERSID':
          line();
          calls.PERSID = (calls.PERSID ?? 0) + 1;
          push(OTHER);
          break;
        case 'BINPERSID':
          pop(at);
          calls.BINPERSID = (calls.BINPERSID ?? 0) + 1;
          push(OTHER);
          break;
        case 'STRING': {
          const raw = line();
          push({ k: 'str', v: unquote(raw).slice(0, MAX_NAME) });
          break;
        }
        case 'UNICODE':
          push({ k: 'str', v: line().slice(0, MAX_NAME) });
          break;
        case 'BINSTRING':
        case 'LONG4': {
          const n = signed32(uint(4));
          if (n < 0) throw new Stop('malformed', `negative length ${n}`);
          const data = take(n);
          push(
            o.name === 'BINSTRING'
              ? { k: 'str', v: latin1.decode(data.subarray(0, MAX_NAME)) }
              : OTHER,
          );
          break;
        }
        case 'SHORT_BINSTRING':
          push({ k: 'str', v: latin1.decode(take(u8()).subarray(0, MAX_NAME)) });
          break;
        case 'SHORT_BINUNICODE':
          push({
            k: 'str',
            v: utf8Lenient.decode(take(u8()).subarray(0, MAX_NAME * 4)).slice(0, MAX_NAME),
          });
          break;
        case 'BINUNICODE':
          push({
            k: 'str',
            v: utf8Lenient.decode(take(uint(4)).subarray(0, MAX_NAME * 4)).slice(0, MAX_NAME),
          });
          break;
        case 'BINUNICODE8':
          push({
            k: 'str',
            v: utf8Lenient.decode(take(uint(8)).subarray(0, MAX_NAME * 4)).slice(0, MAX_NAME),
          });
          break;
        case 'LONG1':
        case 'SHORT_BINBYTES':
          take(u8());
          push(OTHER);
          break;
        case 'BINBYTES':
          take(uint(4));
          push(OTHER);
          break;
        case 'BINBYTES8':
        case 'BYTEARRAY8':
          take(uint(8));
          push(OTHER);
          break;
        case 'GLOBAL': {
          const module = line();
          const name = line();
          push({ k: 'global', g: addGlobal(module, name, 'GLOBAL', at) });
          break;
        }
        case 'INST': {
          const module = line();
          const name = line();
          const g = addGlobal(module, name, 'INST', at);
          popMark(at);
          call('INST', { k: 'global', g }, at);
          push(OTHER);
          break;
        }
        case 'STACK_GLOBAL': {
          const name = pop(at);
          const module = pop(at);
          if (module.k === 'str' && name.k === 'str') {
            push({ k: 'global', g: addGlobal(module.v, name.v, 'STACK_GLOBAL', at) });
          } else {
            note('unresolved_stack_global', at, 'STACK_GLOBAL operands are not literal strings');
            push({ k: 'global', g: undefined });
          }
          break;
        }
        case 'REDUCE': {
          pop(at);
          call('REDUCE', pop(at), at);
          push(OTHER);
          break;
        }
        case 'BUILD':
          pop(at);
          calls.BUILD = (calls.BUILD ?? 0) + 1;
          if (stack.length === 0) pop(at);
          break;
        case 'NEWOBJ':
          pop(at);
          call('NEWOBJ', pop(at), at);
          push(OTHER);
          break;
        case 'NEWOBJ_EX':
          pop(at);
          pop(at);
          call('NEWOBJ_EX', pop(at), at);
          push(OTHER);
          break;
        case 'OBJ': {
          const items = popMark(at);
          call('OBJ', items[0] ?? OTHER, at);
          push(OTHER);
          break;
        }
        case 'APPEND':
          pop(at);
          if (stack.length === 0) pop(at);
          break;
        case 'SETITEM':
          pop(at);
          pop(at);
          if (stack.length === 0) pop(at);
          break;
        case 'APPENDS':
        case 'SETITEMS':
        case 'ADDITEMS':
          popMark(at);
          if (stack.length === 0) pop(at);
          break;
        case 'DICT':
        case 'LIST':
        case 'TUPLE':
        case 'FROZENSET':
          popMark(at);
          push(OTHER);
          break;
        case 'TUPLE1':
        case 'TUPLE2':
        case 'TUPLE3': {
          const n = o.name === 'TUPLE1' ? 1 : o.name === 'TUPLE2' ? 2 : 3;
          for (let i = 0; i < n; i += 1) pop(at);
          push(OTHER);
          break;
        }
        case 'GET':
          push(memo.get(Number.parseInt(line(), 10)) ?? OTHER);
          break;
        case 'BINGET':
          push(memo.get(u8()) ?? OTHER);
          break;
        case 'LONG_BINGET':
          push(memo.get(uint(4)) ?? OTHER);
          break;
        case 'PUT':
          memoize(Number.parseInt(line(), 10), at);
          break;
        case 'BINPUT':
          memoize(u8(), at);
          break;
        case 'LONG_BINPUT':
          memoize(uint(4), at);
          break;
        case 'MEMOIZE':
          memoize(memo.size, at);
          break;
        default:
          throw new Stop('unknown_opcode', `unhandled opcode ${o.name}`);
      }
    }
  } catch (error) {
    if (error instanceof Truncated) {
      note('truncated', pos, 'stream ends before STOP');
    } else if (error instanceof Stop) {
      note(error.code, pos - 1, error.detail);
    } else {
      note('malformed', pos, `scanner error: ${String(error)}`);
    }
    return finish();
  }

  function extension(at: number): void {
    note('extension_registry', at, 'EXT opcode imports through the copyreg extension registry');
    calls.EXT = (calls.EXT ?? 0) + 1;
    push({ k: 'global', g: undefined });
  }

  function memoize(index: number, at: number): void {
    const top = stack[stack.length - 1];
    if (top === undefined || top === MARK) {
      malformed = true;
      note('malformed', at, 'memoizing with an empty stack');
      return;
    }
    if (!Number.isSafeInteger(index)) return;
    if (memo.size >= maxMemo && !memo.has(index))
      throw new Stop('limit_exceeded', `memo larger than ${maxMemo}`);
    memo.set(index, top);
  }

  function finish(): PickleScanResult {
    if (!complete && !findings.some((f) => f.code === 'truncated' || f.code === 'unknown_opcode')) {
      note('no_stop', pos, 'stream did not end cleanly with STOP');
    }
    const dangerous = globals.some((g) => g.risk === 'dangerous');
    const suspicious =
      !complete ||
      malformed ||
      findings.some((f) => f.code !== 'call' && f.code !== 'dangerous_import');
    const verdict: PickleVerdict = dangerous ? 'malicious' : suspicious ? 'suspicious' : 'clean';
    return { protocol, opcodes: count, calls, globals, verdict, findings, end: pos, complete };
  }
}

function signed32(v: number): number {
  return v >= 0x80000000 ? v - 0x100000000 : v;
}

function unquote(raw: string): string {
  const q = raw[0];
  if ((q === "'" || q === '"') && raw.length >= 2 && raw[raw.length - 1] === q)
    return raw.slice(1, -1);
  return raw;
}

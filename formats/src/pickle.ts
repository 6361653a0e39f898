// A pickle opcode scanner of our own (quarantine.md §2.5): walks protocol 0–5 opcodes without
// executing anything, simulates just enough of the stack and memo to resolve the module and name
// behind GLOBAL / STACK_GLOBAL / INST, and classifies every import against a denylist and an
// allowlist of benign reconstructors. Bounded and total: truncated or garbage input yields a
// verdict with findings, never an exception.
import { inflateRawSync } from 'node:zlib';

export type PickleRisk = 'safe' | 'unknown' | 'dangerous';
export type PickleVerdict = 'clean' | 'suspicious' | 'malicious';

export interface PickleGlobal {
  readonly module: string;
  readonly name: string;
  readonly risk: PickleRisk;
  /** Opcode that imported it: GLOBAL, STACK_GLOBAL or INST. */
  readonly via: 'GLOBAL' | 'STACK_GLOBAL' | 'INST';
  readonly offset: number;
}

/**
 * Whether an import could name anything real. Python resolves a global by importing the module
 * (a file or package on sys.path) and looking the name up on it: a module or name holding
 * control, whitespace, non-ASCII or path-separator characters names nothing an attacker can rely
 * on. Random weight bytes form such "imports" by chance (seen on 1 GiB of F32 weights), so the
 * scans of data embedded in a model ignore them. Anything printable is kept as importable.
 */
export function isImportableGlobal(g: Pick<PickleGlobal, 'module' | 'name'>): boolean {
  const plausible = (text: string) =>
    text.length > 0 && /^[\x21-\x7e]+$/.test(text) && !/[/\\]/.test(text);
  return plausible(g.module) && plausible(g.name);
}

export type PickleFindingCode =
  | 'dangerous_import'
  | 'unknown_import'
  | 'unresolved_stack_global'
  | 'extension_registry'
  | 'call'
  | 'truncated'
  | 'unknown_opcode'
  | 'malformed'
  | 'no_stop'
  | 'limit_exceeded';

export interface PickleFinding {
  readonly code: PickleFindingCode;
  readonly offset: number;
  readonly detail: string;
}

export interface PickleScanResult {
  /** Protocol from the first PROTO opcode (0 when absent). */
  readonly protocol: number;
  /** Number of opcodes walked. */
  readonly opcodes: number;
  /** Opcode name → count, for the call-like opcodes (REDUCE, BUILD, OBJ, NEWOBJ, …). */
  readonly calls: Readonly<Record<string, number>>;
  readonly globals: readonly PickleGlobal[];
  readonly verdict: PickleVerdict;
  readonly findings: readonly PickleFinding[];
  /** Offset just past STOP, or where scanning ended. */
  readonly end: number;
  /** True when the stream ended with STOP and the simulated stack held exactly one value. */
  readonly complete: boolean;
}

export interface PickleScanOptions {
  /** Where the stream starts inside `bytes` (default 0). */
  readonly offset?: number;
  readonly maxOpcodes?: number;
  readonly maxStack?: number;
  readonly maxMemo?: number;
  /** Maximum length of a protocol-0 text line. */
  readonly maxLine?: number;
  readonly maxFindings?: number;
}

// --- classification ------------------------------------------------------------------------------

/** Modules whose every attribute is dangerous (matched as the module or a sub-module). */
const DANGEROUS_MODULES = [
  'os',
  'posix',
  'nt',
  'subprocess',
  'socket',
  'shutil',
  'sys',
  'runpy',
  'importlib',
  'pty',
  'ctypes',
  'webbrowser',
  'requests',
  'urllib',
  'urllib2',
  'urllib3',
  'http',
  'httplib',
  'httpx',
  'ftplib',
  'telnetlib',
  'smtplib',
  'asyncio',
  'multiprocessing',
  'pickle',
  '_pickle',
  'cPickle',
  'dill',
  'joblib',
  'marshal',
  'types',
  'code',
  'codeop',
  'pdb',
  'bdb',
  'timeit',
  'platform',
  'signal',
  'commands',
  'popen2',
  'pip',
  'setuptools',
  'distutils',
  'venv',
  'site',
  'tempfile',
  'glob',
  'pathlib',
  'io',
  '_io',
  'fileinput',
  'zipimport',
  'pkgutil',
  'operator',
  '_operator',
  'functools',
  'linecache',
  'numpy.testing',
  'torch.hub',
  'torch.jit',
  'torch.ops',
  'torch.classes',
  'torch.serialization',
];

/** Individual builtins that execute code, import, touch files or reach attributes. */
const DANGEROUS_BUILTINS = new Set([
  'eval',
  'exec',
  'execfile',
  'compile',
  '__import__',
  'getattr',
  'setattr',
  'delattr',
  'open',
  'file',
  'input',
  'raw_input',
  'breakpoint',
  'globals',
  'locals',
  'vars',
  'apply',
  'reload',
  'exit',
  'quit',
  'help',
  'memoryview',
  'type',
  'object',
  'super',
  'classmethod',
  'staticmethod',
  'property',
]);

const BUILTIN_MODULES = new Set(['builtins', '__builtin__', '__builtins__']);

const SAFE_BUILTINS = new Set([
  'set',
  'frozenset',
  'bytearray',
  'bytes',
  'slice',
  'complex',
  'range',
  'dict',
  'list',
  'tuple',
  'int',
  'float',
  'bool',
  'str',
]);

const SAFE_GLOBALS = new Set([
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.Counter',
  'collections.deque',
  'copy_reg._reconstructor',
  'copyreg._reconstructor',
  '_codecs.encode',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch.Size',
  'torch.device',
  'torch.dtype',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  'torch._tensor._rebuild_from_type_v2',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
]);

const TORCH_STORAGE =
  /^(?:Float|Half|BFloat16|Double|Long|Int|Short|Char|Byte|Bool|ComplexFloat|ComplexDouble|QUInt8|QInt8|QInt32|QUInt4x2|QUInt2x4|Untyped)Storage$/;
const TORCH_DTYPE =
  /^(?:float(?:16|32|64)|bfloat16|half|double|int(?:8|16|32|64)|uint(?:8|16|32|64)|bool|long|short|complex(?:32|64|128)|float8_e4m3fn|float8_e5m2|qint8|quint8|qint32)$/;
const NUMPY_SCALAR_TYPES = /^(?:u?int(?:8|16|32|64)|float(?:16|32|64)|complex(?:64|128)|bool_?)$/;

function moduleMatches(module: string, prefix: string): boolean {
  return module === prefix || module.startsWith(`${prefix}.`);
}

/** Classifies one imported `module.name`. */
export function classifyPickleGlobal(module: string, name: string): PickleRisk {
  // A dotted name can reach attributes of attributes (STACK_GLOBAL resolves it with getattr).
  const topName = name.split('.')[0] ?? name;
  if (BUILTIN_MODULES.has(module)) {
    if (DANGEROUS_BUILTINS.has(topName)) return 'dangerous';
    if (SAFE_BUILTINS.has(name)) return 'safe';
    return 'unknown';
  }
  for (const m of DANGEROUS_MODULES) if (moduleMatches(module, m)) return 'dangerous';
  if (name.includes('.') || name.startsWith('__')) return 'unknown';
  if (SAFE_GLOBALS.has(`${module}.${name}`)) return 'safe';
  if (module === 'torch' && (TORCH_STORAGE.test(name) || TORCH_DTYPE.test(name))) return 'safe';
  if (module === 'numpy' && NUMPY_SCALAR_TYPES.test(name)) return 'safe';
  return 'unknown';
}

// --- opcode table --------------------------------------------------------------------------------

type Arg =
  | 'none'
  | 'u1'
  | 'u2'
  | 'i4'
  | 'u4'
  | 'u8'
  | 'f8'
  | 'line'
  | 'lines2'
  | 'bytes1'
  | 'bytes4'
  | 'bytes8'
  | 'ibytes4';

interface Op {
  readonly name: string;
  readonly arg: Arg;
  readonly proto: number;
}

const OPS = new Map<number, Op>();
function op(code: string | number, name: string, arg: Arg, proto: number): void {
  OPS.set(typeof code === 'string' ? code.charCodeAt(0) : code, { name, arg, proto });
}
// Protocol 0 and 1.
op('(', 'MARK', 'none', 0);
op('.', 'STOP', 'none', 0);
op('0', 'POP', 'none', 0);
op('1', 'POP_MARK', 'none', 1);
op('2', 'DUP', 'none', 0);
op('F', 'FLOAT', 'line', 0);
op('I', 'INT', 'line', 0);
op('J', 'BININT', 'i4', 1);
op('K', 'BININT1', 'u1', 1);
op('L', 'LONG', 'line', 0);
op('M', 'BININT2', 'u2', 1);
op('N', 'NONE', 'none', 0);
op('P', 'PERSID', 'line', 0);
op('Q', 'BINPERSID', 'none', 1);
op('R', 'REDUCE', 'none', 0);
op('S', 'STRING', 'line', 0);
op('T', 'BINSTRING', 'ibytes4', 1);
op('U', 'SHORT_BINSTRING', 'bytes1', 1);
op('V', 'UNICODE', 'line', 0);
op('X', 'BINUNICODE', 'bytes4', 1);
op('a', 'APPEND', 'none', 0);
op('b', 'BUILD', 'none', 0);
op('c', 'GLOBAL', 'lines2', 0);
op('d', 'DICT', 'none', 0);
op('}', 'EMPTY_DICT', 'none', 1);
op('e', 'APPENDS', 'none', 1);
op('g', 'GET', 'line', 0);
op('h', 'BINGET', 'u1', 1);
op('i', 'INST', 'lines2', 0);
op('j', 'LONG_BINGET', 'u4', 1);
op('l', 'LIST', 'none', 0);
op(']', 'EMPTY_LIST', 'none', 1);
op('o', 'OBJ', 'none', 1);
op('p', 'PUT', 'line', 0);
op('q', 'BINPUT', 'u1', 1);
op('r', 'LONG_BINPUT', 'u4', 1);
op('s', 'SETITEM', 'none', 0);
op('t', 'TUPLE', 'none', 0);
op(')', 'EMPTY_TUPLE', 'none', 1);
op('u', 'SETITEMS', 'none', 1);
op('G', 'BINFLOAT', 'f8', 1);
// Protocol 2.
op(0x80, 'PROTO', 'u1', 2);
op(0x81, 'NEWOBJ', 'none', 2);
op(0x82, 'EXT1', 'u1', 2);
op(0x83, 'EXT2', 'u2', 2);
op(0x84, 'EXT4', 'i4', 2);
op(0x85, 'TUPLE1', 'none', 2);
op(0x86, 'TUPLE2', 'none', 2);
op(0x87, 'TUPLE3', 'none', 2);
op(0x88, 'NEWTRUE', 'none', 2);
op(0x89, 'NEWFALSE', 'none', 2);
op(0x8a, 'LONG1', 'bytes1', 2);
op(0x8b, 'LONG4', 'ibytes4', 2);
// Protocol 3.
op('B', 'BINBYTES', 'bytes4', 3);
op('C', 'SHORT_BINBYTES', 'bytes1', 3);
// Protocol 4.
op(0x8c, 'SHORT_BINUNICODE', 'bytes1', 4);
op(0x8d, 'BINUNICODE8', 'bytes8', 4);
op(0x8e, 'BINBYTES8', 'bytes8', 4);
op(0x8f, 'EMPTY_SET', 'none', 4);
op(0x90, 'ADDITEMS', 'none', 4);
op(0x91, 'FROZENSET', 'none', 4);
op(0x92, 'NEWOBJ_EX', 'none', 4);
op(0x93, 'STACK_GLOBAL', 'none', 4);
op(0x94, 'MEMOIZE', 'none', 4);
op(0x95, 'FRAME', 'u8', 4);
// Protocol 5.
op(0x96, 'BYTEARRAY8', 'bytes8', 5);
op(0x97, 'NEXT_BUFFER', 'none', 5);
op(0x98, 'READONLY_BUFFER', 'none', 5);

/** Opcode byte → name, for documentation and fixtures. */
export const PICKLE_OPCODES: ReadonlyMap<number, string> = new Map(
  [...OPS].map(([k, v]) => [k, v.name]),
);

// --- simulation --------------------------------------------------------------------------------

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
      const o = OPS.get(code);
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

// --- embedded pickle discovery -------------------------------------------------------------------

export interface EmbeddedPickle {
  /** Where the pickle stream begins in the scanned bytes. */
  readonly offset: number;
  /** 'proto': a PROTO-led stream found in the raw bytes; 'zip-entry': a `.pkl` member of an embedded zip. */
  readonly kind: 'proto' | 'zip-entry';
  /** Offset of the zip local header (zip entries only). */
  readonly zipOffset?: number;
  readonly entryName?: string;
  /** Set when a zip entry could not be scanned (compressed size unknown, inflate failed…). */
  readonly unscanned?: string;
  readonly scan?: PickleScanResult;
}

export interface EmbeddedPickleOptions {
  /** Stop after this many hits (default 256). */
  readonly maxResults?: number;
  /** Opcode budget per candidate stream (default 1,000,000). */
  readonly maxOpcodesPerCandidate?: number;
  /** Largest inflated `.pkl` entry we scan (default 64 MiB). */
  readonly maxInflatedBytes?: number;
  /**
   * Work budget over all candidates (default 20,000,000 opcodes and 256 MiB inflated). When it
   * runs out, a final entry with `unscanned: 'scan budget exhausted'` marks where scanning
   * stopped: input engineered to exhaust the scanner is itself a finding.
   */
  readonly maxTotalOpcodes?: number;
  readonly maxTotalInflatedBytes?: number;
}

interface Budget {
  ops: number;
  inflate: number;
}

/**
 * Locates pickle streams inside arbitrary data: PROTO (0x80, protocol 2..5) followed by a
 * stack-consistent opcode sequence that ends in STOP, and `.pkl` members of embedded zip archives
 * (PK\x03\x04 local headers). Bounded; never throws.
 */
export function findEmbeddedPickles(
  bytes: Uint8Array,
  options: EmbeddedPickleOptions = {},
): EmbeddedPickle[] {
  const maxResults = options.maxResults ?? 256;
  const maxOps = options.maxOpcodesPerCandidate ?? 1_000_000;
  const maxInflated = options.maxInflatedBytes ?? 64 * 1024 * 1024;
  const budget: Budget = {
    ops: options.maxTotalOpcodes ?? 20_000_000,
    inflate: options.maxTotalInflatedBytes ?? 256 * 1024 * 1024,
  };
  const out: EmbeddedPickle[] = [];
  try {
    let i = 0;
    while (i + 1 < bytes.length && out.length < maxResults) {
      if (budget.ops <= 0) {
        out.push({ offset: i, kind: 'proto', unscanned: 'scan budget exhausted' });
        break;
      }
      const b = bytes[i];
      if (b === 0x80) {
        const p = bytes[i + 1] as number;
        if (p >= 2 && p <= 5) {
          const scan = scanPickle(bytes, {
            offset: i,
            maxOpcodes: Math.min(maxOps, budget.ops),
            maxFindings: 100,
          });
          budget.ops -= scan.opcodes;
          if (scan.complete && scan.opcodes >= 3) {
            out.push({ offset: i, kind: 'proto', scan });
            i = scan.end;
            continue;
          }
        }
      } else if (
        b === 0x50 &&
        bytes[i + 1] === 0x4b &&
        bytes[i + 2] === 0x03 &&
        bytes[i + 3] === 0x04
      ) {
        const entry = zipEntry(bytes, i, maxOps, maxInflated, budget);
        if (entry !== undefined) out.push(entry);
      }
      i += 1;
    }
  } catch {
    // Defensive: return what was found so far.
  }
  return out;
}

function zipEntry(
  bytes: Uint8Array,
  at: number,
  maxOps: number,
  maxInflated: number,
  budget: Budget,
): EmbeddedPickle | undefined {
  if (at + 30 > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, 30);
  const flags = view.getUint16(6, true);
  const method = view.getUint16(8, true);
  const compressed = view.getUint32(18, true);
  const nameLen = view.getUint16(26, true);
  const extraLen = view.getUint16(28, true);
  if (nameLen === 0 || at + 30 + nameLen > bytes.length) return undefined;
  const nameBytes = bytes.subarray(at + 30, at + 30 + nameLen);
  if (nameBytes.some((c) => c < 0x20 || c === 0x7f)) return undefined;
  const entryName = utf8Lenient.decode(nameBytes);
  if (!/\.(?:pkl|pickle)$/i.test(entryName)) return undefined;
  const dataAt = at + 30 + nameLen + extraLen;
  const base = { offset: dataAt, kind: 'zip-entry' as const, zipOffset: at, entryName };
  if ((flags & 0x8) !== 0 && compressed === 0)
    return { ...base, unscanned: 'size in data descriptor' };
  if (dataAt + compressed > bytes.length)
    return { ...base, unscanned: 'entry extends past the scanned bytes' };
  const raw = bytes.subarray(dataAt, dataAt + compressed);
  const scanBudgeted = (data: Uint8Array): PickleScanResult => {
    const scan = scanPickle(data, { maxOpcodes: Math.max(1, Math.min(maxOps, budget.ops)) });
    budget.ops -= scan.opcodes;
    return scan;
  };
  if (method === 0) return { ...base, scan: scanBudgeted(raw) };
  if (method === 8) {
    if (budget.inflate <= 0) return { ...base, unscanned: 'inflate budget exhausted' };
    try {
      const inflated = inflateRawSync(raw, {
        maxOutputLength: Math.max(1, Math.min(maxInflated, budget.inflate)),
      });
      budget.inflate -= inflated.length;
      return {
        ...base,
        scan: scanBudgeted(new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.length)),
      };
    } catch (error) {
      return { ...base, unscanned: `inflate failed: ${String((error as Error).message)}` };
    }
  }
  return { ...base, unscanned: `compression method ${method}` };
}

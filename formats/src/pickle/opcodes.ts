// The pickle opcode table, protocols 0–5 (CPython's Lib/pickletools.py): byte, name, argument
// encoding and the protocol that introduced it. The VM (vm.ts) dispatches on the name; a byte not
// in this table ends a scan as `unknown_opcode`.

/**
 * How an opcode's argument is encoded after its byte: none; an unsigned 1/2/4/8-byte or signed
 * 4-byte little-endian integer; an 8-byte float; one or two newline-terminated text lines; or
 * bytes preceded by a 1-, 4- (unsigned or signed) or 8-byte length.
 */
export type PickleArg =
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

export interface PickleOpcode {
  readonly name: string;
  readonly arg: PickleArg;
  readonly proto: number;
}

const TABLE: readonly (readonly [
  code: string | number,
  name: string,
  arg: PickleArg,
  proto: number,
])[] = [
  // Protocol 0 and 1.
  ['(', 'MARK', 'none', 0],
  ['.', 'STOP', 'none', 0],
  ['0', 'POP', 'none', 0],
  ['1', 'POP_MARK', 'none', 1],
  ['2', 'DUP', 'none', 0],
  ['F', 'FLOAT', 'line', 0],
  ['I', 'INT', 'line', 0],
  ['J', 'BININT', 'i4', 1],
  ['K', 'BININT1', 'u1', 1],
  ['L', 'LONG', 'line', 0],
  ['M', 'BININT2', 'u2', 1],
  ['N', 'NONE', 'none', 0],
  ['P', 'PERSID', 'line', 0],
  ['Q', 'BINPERSID', 'none', 1],
  ['R', 'REDUCE', 'none', 0],
  ['S', 'STRING', 'line', 0],
  ['T', 'BINSTRING', 'ibytes4', 1],
  ['U', 'SHORT_BINSTRING', 'bytes1', 1],
  ['V', 'UNICODE', 'line', 0],
  ['X', 'BINUNICODE', 'bytes4', 1],
  ['a', 'APPEND', 'none', 0],
  ['b', 'BUILD', 'none', 0],
  ['c', 'GLOBAL', 'lines2', 0],
  ['d', 'DICT', 'none', 0],
  ['}', 'EMPTY_DICT', 'none', 1],
  ['e', 'APPENDS', 'none', 1],
  ['g', 'GET', 'line', 0],
  ['h', 'BINGET', 'u1', 1],
  ['i', 'INST', 'lines2', 0],
  ['j', 'LONG_BINGET', 'u4', 1],
  ['l', 'LIST', 'none', 0],
  [']', 'EMPTY_LIST', 'none', 1],
  ['o', 'OBJ', 'none', 1],
  ['p', 'PUT', 'line', 0],
  ['q', 'BINPUT', 'u1', 1],
  ['r', 'LONG_BINPUT', 'u4', 1],
  ['s', 'SETITEM', 'none', 0],
  ['t', 'TUPLE', 'none', 0],
  [')', 'EMPTY_TUPLE', 'none', 1],
  ['u', 'SETITEMS', 'none', 1],
  ['G', 'BINFLOAT', 'f8', 1],
  // Protocol 2.
  [0x80, 'PROTO', 'u1', 2],
  [0x81, 'NEWOBJ', 'none', 2],
  [0x82, 'EXT1', 'u1', 2],
  [0x83, 'EXT2', 'u2', 2],
  [0x84, 'EXT4', 'i4', 2],
  [0x85, 'TUPLE1', 'none', 2],
  [0x86, 'TUPLE2', 'none', 2],
  [0x87, 'TUPLE3', 'none', 2],
  [0x88, 'NEWTRUE', 'none', 2],
  [0x89, 'NEWFALSE', 'none', 2],
  [0x8a, 'LONG1', 'bytes1', 2],
  [0x8b, 'LONG4', 'ibytes4', 2],
  // Protocol 3.
  ['B', 'BINBYTES', 'bytes4', 3],
  ['C', 'SHORT_BINBYTES', 'bytes1', 3],
  // Protocol 4.
  [0x8c, 'SHORT_BINUNICODE', 'bytes1', 4],
  [0x8d, 'BINUNICODE8', 'bytes8', 4],
  [0x8e, 'BINBYTES8', 'bytes8', 4],
  [0x8f, 'EMPTY_SET', 'none', 4],
  [0x90, 'ADDITEMS', 'none', 4],
  [0x91, 'FROZENSET', 'none', 4],
  [0x92, 'NEWOBJ_EX', 'none', 4],
  [0x93, 'STACK_GLOBAL', 'none', 4],
  [0x94, 'MEMOIZE', 'none', 4],
  [0x95, 'FRAME', 'u8', 4],
  // Protocol 5.
  [0x96, 'BYTEARRAY8', 'bytes8', 5],
  [0x97, 'NEXT_BUFFER', 'none', 5],
  [0x98, 'READONLY_BUFFER', 'none', 5],
];

/** Opcode byte → its entry. */
export const OPCODES: ReadonlyMap<number, PickleOpcode> = new Map(
  TABLE.map(([code, name, arg, proto]) => [
    typeof code === 'string' ? code.charCodeAt(0) : code,
    { name, arg, proto },
  ]),
);

/** Opcode byte → name, for documentation and fixtures. */
export const PICKLE_OPCODES: ReadonlyMap<number, string> = new Map(
  [...OPCODES].map(([k, v]) => [k, v.name]),
);

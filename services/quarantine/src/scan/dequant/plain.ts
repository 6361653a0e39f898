// Unquantised float tensors: one value per "block".
import { bf16ToFloat, halfToFloat } from './half.js';
import type { DequantType } from './types.js';

export const F32: DequantType = {
  blockSize: 1,
  typeSize: 4,
  decode: (b, at, emit) => emit(b.readFloatLE(at)),
};
export const F16: DequantType = {
  blockSize: 1,
  typeSize: 2,
  decode: (b, at, emit) => emit(halfToFloat(b.readUInt16LE(at))),
};
export const BF16: DequantType = {
  blockSize: 1,
  typeSize: 2,
  decode: (b, at, emit) => emit(bf16ToFloat(b.readUInt16LE(at))),
};
export const F64: DequantType = {
  blockSize: 1,
  typeSize: 8,
  decode: (b, at, emit) => emit(b.readDoubleLE(at)),
};

// Dequantisation of every tensor type the weight statistics read (see table.ts).
export type { BlockCodes, BlockQuantType, DecodeBlock, DequantType, ReadScale } from './types.js';
export { bf16ToFloat, halfToFloat } from './half.js';
export { q3kScale, q4kScaleMin } from './kQuants.js';
export { KVALUES_IQ4NL, iq4xsScale } from './iq4.js';
export { KVALUES_MXFP4 } from './fp4.js';
export {
  DEQUANT_TYPES,
  PLAIN_FLOAT_TYPES,
  isBlockQuantType,
  isDequantType,
  type BlockQuantTypeName,
  type DequantTypeName,
} from './table.js';

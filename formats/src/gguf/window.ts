// A bounded, buffered little-endian reader over a ByteSource. It reads at explicit offsets through a
// window of 1 MiB (never the whole file), refuses to move past the end of the file or past the
// header budget, and turns every such attempt into a GgufError (a rejection), while errors of the
// source itself propagate unchanged.
import type { ByteSource } from '../source.js';
import type { GgufRejection } from './types.js';

export class GgufError extends Error {
  constructor(
    readonly reason: GgufRejection,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'GgufError';
  }
}

const WINDOW = 1 << 20;

export class GgufWindow {
  /** Absolute position of the next read. */
  pos = 0;
  readonly size: number;
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  private bufLen = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly headerLimit: number,
  ) {
    this.size = source.size;
  }

  private checkRange(n: number): void {
    const end = this.pos + n;
    if (end > this.size) {
      throw new GgufError(
        'truncated',
        `needs ${n} byte(s) at offset ${this.pos} but the file has ${this.size}`,
      );
    }
    if (end > this.headerLimit) {
      throw new GgufError('header_too_large', `header exceeds ${this.headerLimit} bytes`);
    }
  }

  /** True when n bytes at pos are already buffered (synchronous fast path). */
  has(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.bufLen;
  }

  /** Makes n bytes at pos available in the window (n ≤ max string size). */
  async ensure(n: number): Promise<void> {
    this.checkRange(n);
    if (this.has(n)) return;
    const want = Math.min(Math.max(WINDOW, n), this.size - this.pos);
    const chunk = await this.source.read(this.pos, want);
    if (chunk.length < want) {
      this.bufLen = 0;
      throw new GgufError(
        'file_changed',
        `file ended at ${this.pos + chunk.length} while being read`,
      );
    }
    this.buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.bufStart = this.pos;
    this.bufLen = chunk.length;
  }

  private at(): number {
    return this.pos - this.bufStart;
  }

  // Synchronous readers: callers must have called ensure()/has() for the width first.
  u8(): number {
    const v = this.buf.readUInt8(this.at());
    this.pos += 1;
    return v;
  }
  i8(): number {
    const v = this.buf.readInt8(this.at());
    this.pos += 1;
    return v;
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.at());
    this.pos += 2;
    return v;
  }
  i16(): number {
    const v = this.buf.readInt16LE(this.at());
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.at());
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32LE(this.at());
    this.pos += 4;
    return v;
  }
  f32(): number {
    const v = this.buf.readFloatLE(this.at());
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.at());
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.buf.readBigInt64LE(this.at());
    this.pos += 8;
    return v;
  }
  f64(): number {
    const v = this.buf.readDoubleLE(this.at());
    this.pos += 8;
    return v;
  }

  /** A view of the next n buffered bytes (valid until the next ensure). */
  view(n: number): Buffer {
    const start = this.at();
    this.pos += n;
    return this.buf.subarray(start, start + n);
  }

  async u32a(): Promise<number> {
    if (!this.has(4)) await this.ensure(4);
    return this.u32();
  }
  async u64a(): Promise<bigint> {
    if (!this.has(8)) await this.ensure(8);
    return this.u64();
  }

  /** Reads n bytes (n already bounded by the caller) as a copy. */
  async bytes(n: number): Promise<Buffer> {
    if (!this.has(n)) await this.ensure(n);
    return Buffer.from(this.view(n));
  }

  /** Moves past n bytes without reading them, bounds-checked against the file and header budget. */
  skip(n: bigint | number): void {
    const big = BigInt(n);
    const remaining = BigInt(this.size - this.pos);
    if (big > remaining) {
      throw new GgufError(
        'truncated',
        `needs ${big} byte(s) at offset ${this.pos} but the file has ${this.size}`,
      );
    }
    this.checkRange(Number(big));
    this.pos += Number(big);
  }
}

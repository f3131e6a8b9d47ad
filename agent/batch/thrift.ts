/**
 * Just enough of the Thrift compact protocol to read a Parquet footer (FileMetaData) and its offset
 * indexes, and to write them back changed only where the caller changed them: every value is kept
 * with its wire type.
 */

/** A Thrift compact-protocol value, kept with its wire type so that it is written back unchanged. */
export type TValue = number | bigint | boolean | Uint8Array | TStruct | TList;
export interface TField {
  id: number;
  type: number;
  value: TValue;
}
export interface TStruct {
  fields: TField[];
}
export interface TList {
  elemType: number;
  items: TValue[];
}

const T_BOOL_TRUE = 1,
  T_BOOL_FALSE = 2,
  T_I8 = 3,
  T_I16 = 4,
  T_I32 = 5,
  T_DOUBLE = 7,
  T_BINARY = 8,
  T_LIST = 9,
  T_SET = 10;
export const T_I64 = 6,
  T_STRUCT = 12;

/** Field `id` of a struct. */
export function tfield(s: TStruct, id: number): TField | undefined {
  return s.fields.find((f) => f.id === id);
}

export class ThriftReader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}
  /** Bytes read so far. */
  get offset(): number {
    return this.pos;
  }
  private byte(): number {
    if (this.pos >= this.b.length) throw new Error('truncated Parquet footer');
    return this.b[this.pos++]!;
  }
  private varint(): bigint {
    let r = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const x = this.byte();
      r |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return r;
    }
    throw new Error('bad varint in Parquet footer');
  }
  private zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }
  private bytes(len: number): Uint8Array {
    if (this.pos + len > this.b.length) throw new Error('truncated Parquet footer');
    const out = this.b.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  value(type: number): TValue {
    switch (type) {
      case T_BOOL_TRUE:
        return true;
      case T_BOOL_FALSE:
        return false;
      case T_I8:
        return this.byte();
      case T_I16:
      case T_I32:
        return Number(this.zigzag());
      case T_I64:
        return this.zigzag();
      case T_DOUBLE:
        return this.bytes(8);
      case T_BINARY:
        return this.bytes(Number(this.varint()));
      case T_LIST:
      case T_SET:
        return this.list();
      case T_STRUCT:
        return this.struct();
      default:
        throw new Error(`unsupported Thrift type ${type} in Parquet footer`);
    }
  }
  private list(): TList {
    const h = this.byte();
    const elemType = h & 15;
    const size = h >> 4 === 15 ? Number(this.varint()) : h >> 4;
    const items: TValue[] = [];
    // Booleans inside a collection are one byte each (kept as the raw byte).
    for (let i = 0; i < size; i++) items.push(elemType === T_BOOL_TRUE || elemType === T_BOOL_FALSE ? this.byte() : this.value(elemType));
    return { elemType, items };
  }
  struct(): TStruct {
    const fields: TField[] = [];
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return { fields };
      const type = h & 15;
      const id = h >> 4 ? last + (h >> 4) : Number(this.zigzag());
      last = id;
      fields.push({ id, type, value: type === T_BOOL_TRUE ? true : type === T_BOOL_FALSE ? false : this.value(type) });
    }
  }
}

class ThriftWriter {
  private out: number[] = [];
  private varint(v: bigint): void {
    let n = v;
    while (n >= 0x80n) {
      this.out.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.out.push(Number(n));
  }
  private zigzag(v: bigint): void {
    this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }
  private raw(b: Uint8Array): void {
    for (const x of b) this.out.push(x);
  }
  value(type: number, v: TValue): void {
    switch (type) {
      case T_I8:
        this.out.push((v as number) & 0xff);
        break;
      case T_I16:
      case T_I32:
        this.zigzag(BigInt(v as number));
        break;
      case T_I64:
        this.zigzag(v as bigint);
        break;
      case T_DOUBLE:
        this.raw(v as Uint8Array);
        break;
      case T_BINARY:
        this.varint(BigInt((v as Uint8Array).length));
        this.raw(v as Uint8Array);
        break;
      case T_LIST:
      case T_SET:
        this.list(v as TList);
        break;
      case T_STRUCT:
        this.struct(v as TStruct);
        break;
      default:
        throw new Error(`unsupported Thrift type ${type}`);
    }
  }
  private list(l: TList): void {
    if (l.items.length < 15) this.out.push((l.items.length << 4) | l.elemType);
    else {
      this.out.push(0xf0 | l.elemType);
      this.varint(BigInt(l.items.length));
    }
    for (const item of l.items) {
      if (l.elemType === T_BOOL_TRUE || l.elemType === T_BOOL_FALSE) this.out.push(item as number);
      else this.value(l.elemType, item);
    }
  }
  struct(s: TStruct): void {
    let last = 0;
    for (const f of s.fields) {
      const type = f.type === T_BOOL_TRUE || f.type === T_BOOL_FALSE ? (f.value ? T_BOOL_TRUE : T_BOOL_FALSE) : f.type;
      const d = f.id - last;
      if (d > 0 && d <= 15) this.out.push((d << 4) | type);
      else {
        this.out.push(type);
        this.zigzag(BigInt(f.id));
      }
      last = f.id;
      if (type !== T_BOOL_TRUE && type !== T_BOOL_FALSE) this.value(type, f.value);
    }
    this.out.push(0);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A struct in the compact protocol. */
export function writeStruct(s: TStruct): Uint8Array {
  const w = new ThriftWriter();
  w.struct(s);
  return w.bytes();
}

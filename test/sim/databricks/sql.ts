/**
 * A tokenizer and small helpers for the Databricks SQL subset the emulator accepts (README.md).
 * Only what the agent sends is parsed; everything else is rejected loudly with Databricks-like text.
 */

export type TokKind = 'ident' | 'qident' | 'string' | 'number' | 'punct' | 'op';
export interface Token {
  kind: TokKind;
  /** identifier text (unquoted), string contents (unescaped), or the raw punctuation/number */
  text: string;
}

export class SqlError extends Error {
  readonly sqlState: string;
  constructor(message: string, sqlState = '42000') {
    super(message);
    this.name = 'SqlError';
    this.sqlState = sqlState;
  }
}

export function parseError(detail: string): SqlError {
  return new SqlError(`[PARSE_SYNTAX_ERROR] Syntax error: ${detail}. SQLSTATE: 42601`, '42601');
}

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw parseError('unterminated comment');
      i = end + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      // Databricks: both quote styles are string literals; backslash escapes, doubled quote too.
      let j = i + 1;
      let s = '';
      for (;;) {
        if (j >= sql.length) throw parseError('unterminated string literal');
        const d = sql[j]!;
        if (d === '\\' && j + 1 < sql.length) {
          s += sql[j + 1];
          j += 2;
          continue;
        }
        if (d === c) {
          if (sql[j + 1] === c) {
            s += c;
            j += 2;
            continue;
          }
          break;
        }
        s += d;
        j++;
      }
      out.push({ kind: 'string', text: s });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const end = sql.indexOf('`', i + 1);
      if (end < 0) throw parseError('unterminated quoted identifier');
      out.push({ kind: 'qident', text: sql.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i));
    if (id) {
      out.push({ kind: 'ident', text: id[0] });
      i += id[0].length;
      continue;
    }
    const num = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?[LDF]?/.exec(sql.slice(i));
    if (num) {
      out.push({ kind: 'number', text: num[0] });
      i += num[0].length;
      continue;
    }
    const op = /^(<=>|<>|!=|<=|>=|=>|==|\|\||::|[=<>+\-*/%])/.exec(sql.slice(i));
    if (op) {
      out.push({ kind: 'op', text: op[0] });
      i += op[0].length;
      continue;
    }
    if ('(),.;:[]'.includes(c)) {
      out.push({ kind: 'punct', text: c });
      i++;
      continue;
    }
    throw parseError(`unexpected character '${c}'`);
  }
  while (out.length > 0 && out[out.length - 1]!.text === ';' && out[out.length - 1]!.kind === 'punct') out.pop();
  return out;
}

/** A cursor over tokens with keyword helpers (keywords compare case-insensitively). */
export class Cursor {
  pos = 0;
  constructor(readonly toks: Token[]) {}
  peek(offset = 0): Token | undefined {
    return this.toks[this.pos + offset];
  }
  done(): boolean {
    return this.pos >= this.toks.length;
  }
  isKw(kw: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.kind === 'ident' && t.text.toUpperCase() === kw;
  }
  acceptKw(...kws: string[]): boolean {
    if (!kws.every((k, n) => this.isKw(k, n))) return false;
    this.pos += kws.length;
    return true;
  }
  expectKw(...kws: string[]): void {
    if (!this.acceptKw(...kws)) throw parseError(`expected ${kws.join(' ')} near ${this.near()}`);
  }
  isPunct(p: string): boolean {
    const t = this.peek();
    return t !== undefined && (t.kind === 'punct' || t.kind === 'op') && t.text === p;
  }
  acceptPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.pos++;
    return true;
  }
  expectPunct(p: string): void {
    if (!this.acceptPunct(p)) throw parseError(`expected '${p}' near ${this.near()}`);
  }
  string(): string {
    const t = this.peek();
    if (!t || t.kind !== 'string') throw parseError(`expected a string literal near ${this.near()}`);
    this.pos++;
    return t.text;
  }
  ident(): string {
    const t = this.peek();
    if (!t || (t.kind !== 'ident' && t.kind !== 'qident')) throw parseError(`expected an identifier near ${this.near()}`);
    this.pos++;
    return t.text;
  }
  /** a dotted name: `a`, `a.b`, `` `a`.`b`.c `` */
  name(): string[] {
    const parts = [this.ident()];
    while (this.isPunct('.')) {
      this.pos++;
      parts.push(this.ident());
    }
    return parts;
  }
  /** tokens up to (not including) the first top-level keyword in `stops`, or the end */
  until(stops: string[]): Token[] {
    const start = this.pos;
    let depth = 0;
    while (!this.done()) {
      const t = this.peek()!;
      if (t.kind === 'punct' && t.text === '(') depth++;
      else if (t.kind === 'punct' && t.text === ')') {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && t.kind === 'ident' && stops.includes(t.text.toUpperCase())) break;
      this.pos++;
    }
    return this.toks.slice(start, this.pos);
  }
  /** the tokens inside a balanced parenthesis group; the cursor must be on '(' */
  group(): Token[] {
    this.expectPunct('(');
    const start = this.pos;
    let depth = 0;
    while (!this.done()) {
      const t = this.peek()!;
      if (t.kind === 'punct' && t.text === '(') depth++;
      if (t.kind === 'punct' && t.text === ')') {
        if (depth === 0) break;
        depth--;
      }
      this.pos++;
    }
    const inner = this.toks.slice(start, this.pos);
    this.expectPunct(')');
    return inner;
  }
  near(): string {
    const t = this.peek();
    return t === undefined ? 'end of input' : `'${t.text}'`;
  }
  expectEnd(): void {
    if (!this.done()) throw parseError(`unexpected ${this.near()}`);
  }
}

/** Split a token list on top-level commas. */
export function splitCommas(toks: Token[]): Token[][] {
  const parts: Token[][] = [];
  let cur: Token[] = [];
  let depth = 0;
  for (const t of toks) {
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') depth--;
    if (depth === 0 && t.kind === 'punct' && t.text === ',') {
      parts.push(cur);
      cur = [];
      continue;
    }
    cur.push(t);
  }
  if (cur.length > 0) parts.push(cur);
  return parts;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
export function quoteString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Re-emit tokens as DuckDB SQL (backquoted identifiers become double-quoted). */
export function emit(toks: Token[]): string {
  let s = '';
  for (const t of toks) {
    const text = t.kind === 'qident' ? quoteIdent(t.text) : t.kind === 'string' ? quoteString(t.text) : t.text;
    const glue = s === '' || t.text === '.' || t.text === ')' || t.text === ',' || s.endsWith('.') || s.endsWith('(') ? '' : ' ';
    s += glue + text;
  }
  return s;
}

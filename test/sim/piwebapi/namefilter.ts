/**
 * PI name filters (piwebapi-fidelity.md §1): `*`, `?`, `[abc]`, `[!abc]`, `\` escape; matched
 * case-insensitively; no wildcard means an exact (case-insensitive) match.
 */
export function nameFilterToRegExp(filter: string): RegExp {
  let re = '^';
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]!;
    if (c === '\\' && i + 1 < filter.length) {
      re += escapeRe(filter[++i]!);
    } else if (c === '*') {
      re += '.*';
    } else if (c === '?') {
      re += '.';
    } else if (c === '[') {
      const close = filter.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = filter.slice(i + 1, close);
      let neg = false;
      if (body.startsWith('!')) {
        neg = true;
        body = body.slice(1);
      }
      re += '[' + (neg ? '^' : '') + body.replace(/[\\\]^]/g, (m) => '\\' + m) + ']';
      i = close;
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp(re + '$', 'is');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

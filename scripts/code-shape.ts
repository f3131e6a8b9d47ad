/**
 * The code's shape, as issue 20 asks it to stay: functions of at most 80 lines and files of at most
 * 400 in agent/. Prints every function and file over the limits (one line each), or nothing.
 * `node --import tsx scripts/code-shape.ts [--max-function 80] [--max-file 400] [dir]`; exit 1 when
 * something is over. test/code-shape.test.ts runs it on agent/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface Finding {
  file: string;
  line: number;
  what: string;
  lines: number;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function nameOf(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(sf);
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(sf);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(sf);
  return '(anonymous)';
}

/** Functions longer than `maxLines` lines in one file (nested functions are measured on their own). */
export function longFunctions(file: string, maxLines: number): Finding[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Finding[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > maxLines) out.push({ file, line: start + 1, what: `function ${nameOf(node, sf)}`, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

export function codeShape(dir: string, maxFunction = 80, maxFile = 400): Finding[] {
  const out: Finding[] = [];
  for (const file of walk(dir).sort()) {
    const lines = readFileSync(file, 'utf8').split('\n').length - 1;
    if (lines > maxFile) out.push({ file, line: 1, what: 'file', lines });
    out.push(...longFunctions(file, maxFunction));
  }
  return out;
}

function main(argv: string[]): number {
  const opt = (name: string, fallback: number): number => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const dir = argv.find((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--')) ?? 'agent';
  const findings = codeShape(dir, opt('--max-function', 80), opt('--max-file', 400));
  for (const f of findings) process.stdout.write(`${f.file}:${f.line}: ${f.what}: ${f.lines} lines\n`);
  return findings.length === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) process.exitCode = main(process.argv.slice(2));

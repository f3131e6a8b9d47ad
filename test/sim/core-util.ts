/** Shared helpers for the simulator core tests (core-*.test.ts). */
import type { Test } from 'tap';
import { startSimulator, type RunningSim, type SimOptions } from './piwebapi/server.js';

export async function sim(t: Test, opts: SimOptions = {}): Promise<RunningSim> {
  const s = await startSimulator(opts);
  t.teardown(() => s.close());
  return s;
}

export interface Got {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function get(s: RunningSim, path: string, init: RequestInit = {}): Promise<Got> {
  const r = await fetch(s.url + path, init);
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

export async function post(s: RunningSim, path: string, body: unknown, headers: Record<string, string> = { 'X-Requested-With': 'test' }): Promise<Got> {
  return get(s, path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
}

/** Control API helper: `/sim/...` sits beside `/piwebapi`. */
export async function control(s: RunningSim, method: string, path: string, body?: unknown): Promise<Got> {
  const base = s.url.replace(/\/piwebapi$/, '');
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const r = await fetch(base + path, init);
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

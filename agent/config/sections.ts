/**
 * How a source or a sink declares its part of the config file, next to its code
 * (`sources/<name>/config.ts`, `sinks/<kind>/config.ts`), and how the one list of each
 * (`sources/sections.ts`, `sinks/sections.ts`) becomes the spec (spec.ts) and the typed config
 * (types.ts). A section names its code only through `load`, a lazy import: reading and checking a
 * config file loads no source or sink.
 */
import type { Field, ObjectSpec } from './fields.js';

/**
 * A source's section. `C` is what it adds to the typed config (`{ timeseries?: TimeseriesConfig }`),
 * one field per key; `S` is what `load` resolves to (its `Source`).
 */
export interface SourceSection<C extends object, S> {
  /** The name in status, logs and `reset --source`. */
  readonly name: string;
  /** `reset --tag` applies (per-tag progress). */
  readonly resetsTags: boolean;
  /** Its top-level keys in the config file, in the order the file documents them. */
  readonly fields: { readonly [K in keyof C]-?: Field };
  readonly load: () => Promise<S>;
  /** Carries `C` for the typed config; never set. */
  readonly typed?: C;
}

/** A sink's section as its kind writes it: the `sink` variant of its `type`, typed `C`; `load` resolves to its kind (`K`). */
export interface SinkSectionDef<C extends { type: string }, K> {
  readonly type: C['type'];
  readonly spec: ObjectSpec;
  /** How often the agent writes its `pi_agent_status` heartbeat row, milliseconds. */
  readonly heartbeatIntervalMs: (sink: C) => number;
  readonly load: () => Promise<K>;
}

/**
 * A sink's section as sinks/sections.ts lists it (sinkSection makes it from its definition): its
 * heartbeatIntervalMs takes the configured `sink` whatever its kind, so that sinks/index.ts asks the
 * configured kind's section without naming the kind; a `sink` of another type is refused.
 */
export interface SinkSection<C extends { type: string }, K> extends Omit<SinkSectionDef<C, K>, 'heartbeatIntervalMs'> {
  readonly heartbeatIntervalMs: (sink: { type: string }) => number;
  /** Carries `C` for the typed config; never set. */
  readonly typed?: C;
}

/** `sourceSection<{ af?: AfConfig }>()({ ... })`: the config type is given, the loaded type inferred. */
export const sourceSection =
  <C extends object>() =>
  <S>(section: SourceSection<C, S>): SourceSection<C, S> =>
    section;

/** `sinkSection<DirectorySinkConfig>()({ ... })`: the config type is given, the loaded type inferred. */
export const sinkSection =
  <C extends { type: string }>() =>
  <K>(def: SinkSectionDef<C, K>): SinkSection<C, K> => {
    const isOwn = (sink: { type: string }): sink is C => sink.type === def.type;
    return {
      ...def,
      heartbeatIntervalMs: (sink) => {
        if (!isOwn(sink)) throw new Error(`sink.type ${sink.type} is not ${def.type}`);
        return def.heartbeatIntervalMs(sink);
      },
    };
  };

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** Everything a list of source sections adds to the typed config. */
export type SourcesConfigOf<L extends readonly unknown[]> = UnionToIntersection<
  L[number] extends infer E ? (E extends SourceSection<infer C, unknown> ? C : never) : never
>;

/** The union of the `sink` configs of a list of sink sections. */
export type SinkConfigOf<L extends readonly unknown[]> = L[number] extends infer E ? (E extends SinkSection<infer C, unknown> ? C : never) : never;

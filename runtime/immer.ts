/**
 * Transitions written as immer recipes: the recipe changes a draft of the state
 * and returns the effects as data. Typed arrays are not drafted: replace them, never write
 * into them in place (immer would not see the change, and a rollback would not undo it).
 */
import { current, isDraft, produce, type Draft } from 'immer';
import type { ActorContext, ActorKind, Effect, Envelope } from './actor';

/** A recipe: changes `draft`, returns the effects (or nothing). */
export type Recipe<S, B = unknown> = (draft: Draft<S>, message: Envelope<B>, ctx: ActorContext) => readonly Effect[] | void;

/** Turns an immer recipe into a pure transition. */
export function withImmer<S, B = unknown>(recipe: Recipe<S, B>): ActorKind<S>['transition'] {
  return (state, message, ctx) => {
    let effects: readonly Effect[] = [];
    const next = produce(state, (draft) => {
      effects = undraft(recipe(draft, message as Envelope<B>, ctx) ?? []) as readonly Effect[];
    });
    return [next, effects];
  };
}

/** Replaces drafts inside effects (a body holding part of the state) by their current values: drafts die with the recipe. */
function undraft(value: unknown): unknown {
  return hasDraft(value) ? copyUndrafted(value) : value;
}

function hasDraft(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (isDraft(value)) return true;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return false;
  if (Array.isArray(value)) return value.some(hasDraft);
  if (value instanceof Map) return [...value.values()].some(hasDraft);
  if (value instanceof Set) return [...value].some(hasDraft);
  for (const k in value) if (hasDraft((value as Record<string, unknown>)[k])) return true;
  return false;
}

function copyUndrafted(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isDraft(value)) return current(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (Array.isArray(value)) return value.map(copyUndrafted);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, copyUndrafted(v)]));
  if (value instanceof Set) return new Set([...value].map(copyUndrafted));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = copyUndrafted((value as Record<string, unknown>)[k]);
  return out;
}

/** A `send` effect. */
export function sendTo(to: string, type: string, body?: unknown, delayS?: number): Effect {
  return delayS === undefined ? { kind: 'send', to, type, body } : { kind: 'send', to, type, body, delayS };
}

/** A `log` effect: a decision or a random draw that matters, recorded in the event log. */
export function logEvent(type: string, data?: unknown): Effect {
  return { kind: 'log', type, data };
}

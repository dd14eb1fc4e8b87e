import { z } from 'zod';
import { normalizeDirection, normalizeObject, type OperatingTuple } from './vocab.js';

/**
 * Answer validation (paper §3.3: the VLM must use the assigned phase vocabulary in 2–4 sentences).
 * A single-frame answer passes when:
 *   1. it is a JSON object {phase, description} (code fences tolerated) — or, from a server without JSON
 *      mode, plain prose that does not start with '{' (taken as the description);
 *   2. `phase`, when present, equals the assigned phase;
 *   3. the description contains the assigned phase word (whole word, case-insensitive);
 *   4. it has 2–4 sentences and at most `maxChars` characters;
 *   5. it asserts no other phase of the taxonomy: none of "<other> phase|stage", "phase|stage is <other>",
 *      "(currently|now) (in the) <other>" occurs. Other phase words used as plain verbs ("holding the
 *      bowl") are allowed: the anchor forbids claiming another phase, not the English word.
 */
export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

const SingleAnswer = z.object({ phase: z.string().optional(), description: z.string() });
const TupleAnswer = z.object({ object: z.string(), direction: z.string() });

function stripFences(content: string): string {
  const t = content.trim();
  const m = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(t);
  return m ? m[1].trim() : t;
}

function parseJson(content: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(stripFences(content)) };
  } catch {
    return { ok: false, reason: 'the answer is not valid JSON' };
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const word = (w: string) => new RegExp(`(^|[^a-z-])${escapeRe(w.toLowerCase())}($|[^a-z-])`, 'i');

export function countSentences(text: string): number {
  return text
    .trim()
    .split(/(?<=[.!?])\s+/)
    .filter((s) => /[a-z]/i.test(s)).length;
}

export function assertedOtherPhase(text: string, phase: string, phases: readonly string[]): string | null {
  for (const other of phases) {
    if (other.toLowerCase() === phase.toLowerCase()) continue;
    const o = escapeRe(other.toLowerCase());
    const patterns = [
      new RegExp(`\\b${o}\\s+(phase|stage)\\b`, 'i'),
      new RegExp(`\\b(phase|stage)\\s*(is|:|=|of)?\\s*(the\\s+)?["'“]?${o}\\b`, 'i'),
      new RegExp(`\\b(currently|now)\\s+(in\\s+(the\\s+)?)?${o}\\b`, 'i'),
    ];
    if (patterns.some((p) => p.test(text))) return other;
  }
  return null;
}

export interface SingleFrameRules {
  minSentences: number;
  maxSentences: number;
  maxChars: number;
}
export const DEFAULT_SINGLE_RULES: SingleFrameRules = { minSentences: 2, maxSentences: 4, maxChars: 900 };

export function validateDescription(content: string, phase: string, phases: readonly string[], rules: SingleFrameRules = DEFAULT_SINGLE_RULES): Validation<string> {
  const body = stripFences(content);
  let description: string;
  let claimed: string | undefined;
  if (body.startsWith('{') || body.startsWith('[')) {
    const parsed = parseJson(body);
    if (!parsed.ok) return parsed;
    const shaped = SingleAnswer.safeParse(parsed.value);
    if (!shaped.success) return { ok: false, reason: 'the JSON must be an object with a string "description" (and "phase")' };
    description = shaped.data.description.trim();
    claimed = shaped.data.phase?.trim();
  } else description = body;
  if (claimed !== undefined && claimed.toLowerCase() !== phase.toLowerCase()) return { ok: false, reason: `the "phase" field says "${claimed}" instead of "${phase}"` };
  if (!word(phase).test(description)) return { ok: false, reason: `the description does not contain the word "${phase}"` };
  const n = countSentences(description);
  if (n < rules.minSentences || n > rules.maxSentences) return { ok: false, reason: `the description has ${n} sentences instead of ${rules.minSentences} to ${rules.maxSentences}` };
  if (description.length > rules.maxChars) return { ok: false, reason: `the description is ${description.length} characters long (at most ${rules.maxChars})` };
  const other = assertedOtherPhase(description, phase, phases);
  if (other) return { ok: false, reason: `the description asserts the phase "${other}" instead of "${phase}"` };
  return { ok: true, value: description };
}

export function validateTuple(content: string): Validation<OperatingTuple> {
  const parsed = parseJson(content);
  if (!parsed.ok) return parsed;
  const shaped = TupleAnswer.safeParse(parsed.value);
  if (!shaped.success) return { ok: false, reason: 'the JSON must be an object with string fields "object" and "direction"' };
  const object = normalizeObject(shaped.data.object);
  if (!object) return { ok: false, reason: `"${shaped.data.object}" is not one of the allowed objects` };
  const direction = normalizeDirection(shaped.data.direction);
  if (!direction) return { ok: false, reason: `"${shaped.data.direction}" is not one of the allowed directions` };
  return { ok: true, value: { object, direction } };
}

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.js';

/**
 * Prompt templates live as text files in resources/prompts/ (one per prompt kind, `{{name}}`
 * placeholders). A template's version is `<file>@<sha256[0:12]>` of its bytes; it is recorded with every
 * annotation and is part of the cache key.
 */
export const PROMPT_FILES = {
  single: 'single-frame.txt',
  singleStrict: 'single-frame-strict.txt',
  multi: 'multi-frame.txt',
  multiStrict: 'multi-frame-strict.txt',
} as const;
export type PromptKind = keyof typeof PROMPT_FILES;

export interface PromptTemplate {
  kind: PromptKind;
  text: string;
  version: string;
}

export type PromptSet = Record<PromptKind, PromptTemplate>;

/** resources/prompts: an explicit dir, $VLA_AD_PROMPTS_DIR, or the nearest resources/prompts above this file or the cwd. */
export function findPromptsDir(explicit?: string): string {
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  else {
    if (process.env.VLA_AD_PROMPTS_DIR) candidates.push(process.env.VLA_AD_PROMPTS_DIR);
    for (const start of [path.dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
      let dir = start;
      for (let i = 0; i < 8; i++) {
        candidates.push(path.join(dir, 'resources', 'prompts'));
        const up = path.dirname(dir);
        if (up === dir) break;
        dir = up;
      }
    }
  }
  const found = candidates.find((c) => existsSync(path.join(c, PROMPT_FILES.single)));
  if (!found) throw new LabError('NOT_FOUND', `prompt templates not found (looked in ${candidates.slice(0, 3).join(', ')}, …)`, { field: 'promptsDir', candidates });
  return found;
}

export function loadPrompts(dir?: string): PromptSet {
  const root = findPromptsDir(dir);
  const entries = Object.entries(PROMPT_FILES).map(([kind, file]) => {
    const full = path.join(root, file);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (err) {
      throw new LabError('NOT_FOUND', `prompt template ${full} is missing`, { file: full }, { cause: err });
    }
    const version = `${file.replace(/\.txt$/, '')}@${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
    return [kind, { kind: kind as PromptKind, text, version }] as const;
  });
  return Object.fromEntries(entries) as PromptSet;
}

/** Fill `{{name}}` placeholders; a placeholder without a value is a bug in the caller. */
export function renderPrompt(template: PromptTemplate, values: Record<string, string | number>): string {
  return template.text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new LabError('INTERNAL', `prompt ${template.kind}: no value for {{${name}}}`, { template: template.kind, placeholder: name });
    return String(values[name]);
  });
}

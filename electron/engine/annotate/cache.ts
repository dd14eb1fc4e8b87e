import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * Content-addressed answer cache on disk: key = SHA-256 over (model, prompt version, the rendered prompt
 * text, the image shape and the SHA-256 of every image's pixel bytes as sent, in order; hashing pixels
 * rather than PNG bytes means a cache hit never pays for PNG encoding). One JSON file per answer at
 * `<dir>/<key[0:2]>/<key>.json`, written atomically, so a crash never leaves a half answer and a re-run
 * (or a resumed job) pays nothing for what is already there. A corrupt entry is a miss.
 */
export const CachedAnswerSchema = z.object({
  key: z.string(),
  model: z.string(),
  promptVersion: z.string(),
  content: z.string(),
  usage: z.object({ promptTokens: z.number(), completionTokens: z.number() }),
  createdAt: z.string(),
});
export type CachedAnswer = z.infer<typeof CachedAnswerSchema>;

export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

export function cacheKey(parts: { model: string; promptVersion: string; prompt: string; images: readonly Uint8Array[]; imageShape?: string }): string {
  const h = createHash('sha256');
  h.update(`model\0${parts.model}\0version\0${parts.promptVersion}\0prompt\0${parts.prompt}\0images\0${parts.images.length}\0${parts.imageShape ?? ''}\0`);
  for (const img of parts.images) h.update(sha256(img) + '\0');
  return h.digest('hex');
}

export class AnswerCache {
  hits = 0;
  misses = 0;
  writes = 0;

  constructor(readonly dir: string) {}

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<CachedAnswer | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file(key), 'utf8');
    } catch {
      this.misses++;
      return null;
    }
    try {
      const parsed = CachedAnswerSchema.safeParse(JSON.parse(text));
      if (parsed.success && parsed.data.key === key) {
        this.hits++;
        return parsed.data;
      }
    } catch {
      // fall through: a corrupt entry is a miss and gets overwritten
    }
    this.misses++;
    return null;
  }

  async put(answer: CachedAnswer): Promise<void> {
    await writeFileAtomic(this.file(answer.key), JSON.stringify(answer) + '\n');
    this.writes++;
  }
}

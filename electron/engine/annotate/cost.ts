import type { ChatUsage } from './client.js';

/**
 * Cost ledger and dry-run estimate. Prices are USD per million tokens, input and output. The table holds
 * indicative list prices of Alibaba Cloud Model Studio (international) for the Qwen VL models and 0 for
 * local servers; they change, so check the provider's price page and pass your own `prices` to the
 * annotator. A model not in the table is costed as unknown (tokens are still counted).
 */
export interface Price {
  inputPerMTok: number;
  outputPerMTok: number;
}

export const PRICE_TABLE: Record<string, Price> = {
  'qwen2.5-vl-72b-instruct': { inputPerMTok: 2.8, outputPerMTok: 8.4 },
  'qwen2.5-vl-32b-instruct': { inputPerMTok: 1.4, outputPerMTok: 4.2 },
  'qwen2.5-vl-7b-instruct': { inputPerMTok: 0.35, outputPerMTok: 1.05 },
  'qwen2.5-vl-3b-instruct': { inputPerMTok: 0.21, outputPerMTok: 0.63 },
  'qwen-vl-plus': { inputPerMTok: 0.21, outputPerMTok: 0.63 },
  'qwen-vl-max': { inputPerMTok: 0.8, outputPerMTok: 3.2 },
  local: { inputPerMTok: 0, outputPerMTok: 0 },
};

/** Price of a model: exact name, else the longest table key that prefixes it, else undefined. */
export function priceFor(model: string, table: Record<string, Price> = PRICE_TABLE): Price | undefined {
  const m = model.toLowerCase();
  if (table[m]) return table[m];
  const key = Object.keys(table)
    .filter((k) => m.startsWith(k))
    .sort((a, b) => b.length - a.length)[0];
  return key ? table[key] : undefined;
}

export const usdOf = (usage: ChatUsage, price: Price | undefined): number | null =>
  price ? (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1e6 : null;

/** Qwen2.5-VL image tokens: one per 28×28 pixel block (14-px patches merged 2×2), at least 4, plus 2 markers. */
export function imageTokens(height: number, width: number): number {
  return Math.max(4, Math.ceil(height / 28) * Math.ceil(width / 28)) + 2;
}

/** A rough text token count (≈3.5 characters per token for English prompts). */
export const textTokens = (text: string) => Math.ceil(text.length / 3.5);

export interface LedgerSnapshot {
  model: string;
  price: Price | null;
  /** HTTP calls that returned an answer (including validation retries). */
  paidCalls: number;
  /** Answers served from the cache (cost nothing now). */
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  /** Calls whose server reported no `usage` (their tokens are missing from the totals). */
  callsWithoutUsage: number;
  usd: number | null;
  /** What the cached answers cost when they were first paid. */
  usdSavedByCache: number | null;
}

export class CostLedger {
  paidCalls = 0;
  cachedCalls = 0;
  promptTokens = 0;
  completionTokens = 0;
  callsWithoutUsage = 0;
  private savedPrompt = 0;
  private savedCompletion = 0;

  constructor(
    readonly model: string,
    readonly price: Price | undefined,
  ) {}

  addPaid(usage: ChatUsage, reported = true): void {
    this.paidCalls++;
    this.promptTokens += usage.promptTokens;
    this.completionTokens += usage.completionTokens;
    if (!reported) this.callsWithoutUsage++;
  }

  addCached(usage: ChatUsage): void {
    this.cachedCalls++;
    this.savedPrompt += usage.promptTokens;
    this.savedCompletion += usage.completionTokens;
  }

  snapshot(): LedgerSnapshot {
    return {
      model: this.model,
      price: this.price ?? null,
      paidCalls: this.paidCalls,
      cachedCalls: this.cachedCalls,
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      callsWithoutUsage: this.callsWithoutUsage,
      usd: usdOf({ promptTokens: this.promptTokens, completionTokens: this.completionTokens }, this.price),
      usdSavedByCache: usdOf({ promptTokens: this.savedPrompt, completionTokens: this.savedCompletion }, this.price),
    };
  }
}

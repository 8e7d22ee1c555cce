/**
 * Scoring the sink's output (paper-notes §4.2). Two scorers per task type:
 * - `paper`: `evaluate.py` exactly (letter in the first/last 5 characters, option-text substring; gold as a
 *   substring of the output, optionally of its last k tokens);
 * - `strict` (default): parse the final answer properly — one option letter, or the last number for numeric
 *   gold answers — and call the item unparsable when there is none.
 * An unparsable item is scored wrong AND counted, so a degenerate model shows up in the counts.
 */
import type { Choice, TaskItem } from './task';

export interface ItemScore {
  /** What the scorer read from the output; null when nothing could be parsed. */
  parsed: string | null;
  correct: boolean;
}

export interface ScoringOptions {
  type: 'multiple_choice' | 'exact_match';
  scoring: 'strict' | 'paper';
  lastTokens?: number | undefined;
}

/** `multiple_choice_answer_parsing`: returns the letter, or "Z" (always wrong) when nothing matches. */
export function parsePaperChoice(output: string, choices: readonly Choice[]): string {
  const head = output.slice(0, 5);
  for (const c of choices) if (head.includes(c.letter)) return c.letter;
  const tail = output.slice(-5);
  for (const c of choices) if (tail.includes(c.letter)) return c.letter;
  const lower = output.toLowerCase();
  for (const c of choices) if (lower.includes(c.text.toLowerCase())) return c.letter;
  return 'Z';
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Strict letter parsing: a leading option letter ("B", "B.", "(B)", "B: text"), else the last
 * "answer is B" / "answer: B", else the only option whose full text occurs in the output. Otherwise null.
 */
export function parseStrictChoice(output: string, choices: readonly Choice[]): string | null {
  const letters = new Set(choices.map((c) => c.letter));
  const text = output.trim();
  const lead = /^\(?([A-Z])\)?(?=$|[\s.:),])/.exec(text);
  // "I think …" / "A common …" start with a word, not an option letter: that misreading is the paper
  // parser's documented quirk (data README), which the strict scorer must not repeat.
  const leadIsWord = /^[AI]\s+[a-z]/.test(text);
  if (lead && !leadIsWord && letters.has(lead[1]!)) return lead[1]!;
  let stated: string | null = null;
  for (const m of text.matchAll(/\b[Aa]nswer(?:\s+is)?\s*:?\s*\(?([A-Z])\)?(?=$|[\s.:),])/g)) {
    if (letters.has(m[1]!)) stated = m[1]!;
  }
  if (stated !== null) return stated;
  const lower = text.toLowerCase();
  const mentioned = choices.filter((c) => c.text.trim() !== '' && new RegExp(`(^|\\W)${escapeRegExp(c.text.trim().toLowerCase())}($|\\W)`).test(lower));
  return mentioned.length === 1 ? mentioned[0]!.letter : null;
}

const NUMBER = /-?\d+(?:,\d{3})*(?:\.\d+)?/g;

function asNumber(text: string): number | null {
  const cleaned = text.replace(/,/g, '').trim();
  if (!/^-?\d+(?:\.\d+)?$/.test(cleaned)) return null;
  return Number(cleaned);
}

const STATED_NUMBER = /\b[Aa]nswer(?:\s+is)?\s*:?\s*\$?(-?\d+(?:,\d{3})*(?:\.\d+)?)/g;
const YES_NO = /\b(yes|no)\b/i;

/**
 * Strict exact match.
 * - numeric gold: the last "answer is N" if stated, else the last number in the output;
 * - Yes/No gold: the first "yes" or "no" word in the output;
 * - other text gold: whole-word, case-insensitive occurrence.
 */
export function scoreStrictExact(output: string, gold: string): ItemScore {
  const goldNumber = asNumber(gold);
  if (goldNumber !== null) {
    const stated = [...output.matchAll(STATED_NUMBER)].map((m) => m[1]!);
    const numbers = stated.length > 0 ? stated : [...output.matchAll(NUMBER)].map((m) => m[0]);
    const last = numbers[numbers.length - 1];
    if (last === undefined) return { parsed: null, correct: false };
    const value = asNumber(last);
    return { parsed: last, correct: value !== null && value === goldNumber };
  }
  if (output.trim() === '') return { parsed: null, correct: false };
  if (/^(yes|no)$/i.test(gold.trim())) {
    const word = YES_NO.exec(output)?.[1];
    return word === undefined ? { parsed: null, correct: false } : { parsed: word, correct: word.toLowerCase() === gold.trim().toLowerCase() };
  }
  const found = new RegExp(`(^|\\W)${escapeRegExp(gold.toLowerCase())}($|\\W)`).test(output.toLowerCase());
  return { parsed: output.trim(), correct: found };
}

/** Paper exact match: gold is a substring of the output (of its last k space-separated tokens if set). */
export function scorePaperExact(output: string, gold: string, lastTokens?: number): ItemScore {
  const kept = lastTokens === undefined ? output : output.split(' ').slice(-lastTokens).join(' ');
  if (output.trim() === '') return { parsed: null, correct: false };
  return { parsed: kept, correct: kept.includes(gold) };
}

export function scoreItem(output: string, item: TaskItem, options: ScoringOptions): ItemScore {
  if (options.type === 'multiple_choice') {
    const choices = item.choices ?? [];
    if (options.scoring === 'paper') {
      const letter = parsePaperChoice(output, choices);
      return letter === 'Z' ? { parsed: null, correct: false } : { parsed: letter, correct: letter === item.answer };
    }
    const letter = parseStrictChoice(output, choices);
    return { parsed: letter, correct: letter !== null && letter === item.answer };
  }
  return options.scoring === 'paper' ? scorePaperExact(output, item.answer, options.lastTokens) : scoreStrictExact(output, item.answer);
}

/**
 * Task items: the paper's `{dev, test}` JSON (`data/eval/*.json`) and JSONL with question/choices/answer,
 * normalised to one shape. Pure: the activity reads the bytes, this parses them.
 */
import { z } from 'zod';
import { formatPath } from './config';

export interface Choice {
  letter: string;
  text: string;
}

export interface TaskItem {
  id: string;
  question: string;
  /** Present for multiple choice. */
  choices?: Choice[];
  /** Gold: an option letter (multiple choice) or the answer string (exact match). */
  answer: string;
}

export type Split = 'dev' | 'test';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** "missing" when the field is absent, else `otherwise`. */
const missingOr = (field: string, otherwise: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? `missing: every item needs "${field}"` : otherwise;

const RawItemSchema = z.looseObject(
  {
    id: z.union([z.string(), z.number()], { error: 'expected a string or a number' }).optional(),
    question: z.string({ error: missingOr('question', 'expected the question as a string') }).min(1, 'question is empty'),
    choices: z
      .union([z.record(z.string(), z.string()), z.array(z.string()).min(2)], {
        error: 'expected a list of at least 2 option texts or an object of option texts by letter {"A": …, "B": …}',
      })
      .optional(),
    answer: z.union([z.string().min(1, 'answer is empty'), z.number()], {
      error: missingOr('answer', 'expected the gold answer as a string (an option letter for multiple choice) or a number'),
    }),
    split: z.enum(['dev', 'test']).optional(),
  },
  { error: 'expected an item: a JSON object with "question" and "answer" (and "choices" for multiple choice)' },
);
type RawItem = z.infer<typeof RawItemSchema>;

/** "A. 16" / "A) 16" / "A: 16" → "16" when the prefix is the expected letter. */
function stripLetterPrefix(text: string, letter: string): string {
  const m = /^([A-Z])\s*[.):]\s*/.exec(text);
  return m && m[1] === letter ? text.slice(m[0].length) : text;
}

export class TaskDataError extends Error {
  override readonly name = 'TaskDataError';
}

function normalise(raw: RawItem, where: string, type: 'multiple_choice' | 'exact_match', index: number): TaskItem {
  const answer = String(raw.answer).trim();
  const id = raw.id === undefined ? String(index) : String(raw.id);
  if (type === 'exact_match') return { id, question: raw.question, answer };
  if (raw.choices === undefined) throw new TaskDataError(`${where}: multiple-choice item has no "choices"`);
  const choices: Choice[] = Array.isArray(raw.choices)
    ? raw.choices.map((text, i) => {
        const letter = LETTERS[i];
        if (letter === undefined) throw new TaskDataError(`${where}: more than 26 choices`);
        return { letter, text: stripLetterPrefix(text, letter) };
      })
    : Object.entries(raw.choices).map(([letter, text]) => ({ letter, text }));
  for (const c of choices) {
    if (!/^[A-Z]$/.test(c.letter)) throw new TaskDataError(`${where}.choices: option key "${c.letter}" is not a capital letter A-Z`);
  }
  if (!choices.some((c) => c.letter === answer)) {
    throw new TaskDataError(`${where}.answer: "${answer}" is not one of the option letters ${choices.map((c) => c.letter).join(', ')}`);
  }
  return { id, question: raw.question, choices, answer };
}

function parseItem(value: unknown, where: string, type: 'multiple_choice' | 'exact_match', index: number): { item: TaskItem; split?: Split } {
  const result = RawItemSchema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new TaskDataError(`${where}${first && first.path.length > 0 ? `.${formatPath(first.path)}` : ''}: ${first?.message ?? 'invalid item'}`);
  }
  const item = normalise(result.data, where, type, index);
  return result.data.split === undefined ? { item } : { item, split: result.data.split };
}

export interface TaskData {
  dev: TaskItem[];
  test: TaskItem[];
}

export interface ParseTaskOptions {
  format: 'paper-json' | 'jsonl';
  type: 'multiple_choice' | 'exact_match';
  devFraction: number;
}

/** Parses a whole task file. Throws `TaskDataError` naming the item and field. */
export function parseTaskText(text: string, options: ParseTaskOptions): TaskData {
  if (options.format === 'paper-json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new TaskDataError(`not valid JSON: ${(e as Error).message.replace(/\s+/g, ' ')}`);
    }
    const shape = z.looseObject({ dev: z.array(z.unknown()), test: z.array(z.unknown()) }).safeParse(doc);
    if (!shape.success) {
      const key = shape.error.issues[0]?.path[0];
      const what = typeof key === 'string' ? `"${key}" is ${doc !== null && typeof doc === 'object' && key in doc ? 'not an array' : 'missing'}; ` : '';
      throw new TaskDataError(`${what}expected a JSON object with "dev" and "test" arrays (the paper's data/eval format)`);
    }
    const dev = shape.data.dev.map((v, i) => parseItem(v, `dev[${i}]`, options.type, i).item);
    const test = shape.data.test.map((v, i) => parseItem(v, `test[${i}]`, options.type, i).item);
    return { dev, test };
  }
  const dev: TaskItem[] = [];
  const test: TaskItem[] = [];
  const unsplit: TaskItem[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new TaskDataError(`line ${i + 1}: not valid JSON: ${(e as Error).message}`);
    }
    const { item, split } = parseItem(value, `line ${i + 1}`, options.type, i);
    (split === 'dev' ? dev : split === 'test' ? test : unsplit).push(item);
  });
  const cut = Math.round(unsplit.length * options.devFraction);
  dev.push(...unsplit.slice(0, cut));
  test.push(...unsplit.slice(cut));
  return { dev, test };
}

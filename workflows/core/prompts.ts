/**
 * The paper's prompts (paper-notes §3 and §4.2, official `evaluate.py`). Every node receives the full
 * question; sources get FIRST_INSTRUCTION, all others (intermediate and sink, identical in the code, §10.10)
 * get LATER_INSTRUCTION and their predecessors' outputs in increasing node index, numbered from 1.
 */
import type { TaskItem } from './task';

export const FIRST_INSTRUCTION = 'Please answer the following question.';
export const LATER_INSTRUCTION =
  'Please answer the following question with the help of previous responses, feel free to ignore wrong or unhelpful responses.';

export interface TaskPromptOptions {
  type: 'multiple_choice' | 'exact_match';
  /** Multiple-choice instruction line (the paper's text by default). */
  instruction: string;
  promptSuffix: string;
}

/** The task prompt of one item (§4.2). */
export function taskPrompt(item: TaskItem, options: TaskPromptOptions): string {
  if (options.type === 'exact_match') return item.question + options.promptSuffix;
  const lines = (item.choices ?? []).map((c) => `${c.letter}: ${c.text}\n`).join('');
  const head = options.instruction === '' ? '' : `${options.instruction}\n`;
  return `${head}Question: ${item.question}${options.promptSuffix}\n${lines}The answer is`;
}

/** The prompt of one node given its predecessors' outputs (already in increasing node index). */
export function nodePrompt(task: string, predecessorOutputs: readonly string[]): string {
  if (predecessorOutputs.length === 0) return `${FIRST_INSTRUCTION}\nQuestion: ${task}`;
  const previous = predecessorOutputs.map((out, k) => `Previous response ${k + 1}: ${out}\n`).join('');
  return `${LATER_INSTRUCTION}\n${previous}Question: ${task}`;
}

/** Post-processing of a node's output before it is forwarded or scored (§3.1: strip, newlines → spaces). */
export function cleanOutput(text: string, newlineToSpace: boolean): string {
  const trimmed = text.trim();
  return newlineToSpace ? trimmed.replace(/\n/g, ' ') : trimmed;
}

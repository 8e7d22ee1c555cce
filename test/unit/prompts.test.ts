import assert from 'node:assert/strict';
import { FIRST_INSTRUCTION, LATER_INSTRUCTION, cleanOutput, nodePrompt, taskPrompt } from '../../workflows/core/prompts';
import type { TaskItem } from '../../workflows/core/task';

const PAPER_MC_INSTRUCTION = 'Please choose an option that best answers the question.';

describe('core/prompts', () => {
  it('the instructions are the official code\'s exact strings (§3.1)', () => {
    assert.equal(FIRST_INSTRUCTION, 'Please answer the following question.');
    assert.equal(
      LATER_INSTRUCTION,
      'Please answer the following question with the help of previous responses, feel free to ignore wrong or unhelpful responses.',
    );
  });

  describe('nodePrompt', () => {
    it('a source node: FIRST_INSTRUCTION + "\\nQuestion: " + task', () => {
      assert.equal(nodePrompt('What is 2+2?', []), 'Please answer the following question.\nQuestion: What is 2+2?');
    });

    it('any other node: LATER_INSTRUCTION, "Previous response k: …\\n" numbered from 1, then the question', () => {
      assert.equal(
        nodePrompt('What is 2+2?', ['It is 4.', 'Maybe 5.']),
        'Please answer the following question with the help of previous responses, feel free to ignore wrong or unhelpful responses.\n' +
          'Previous response 1: It is 4.\n' +
          'Previous response 2: Maybe 5.\n' +
          'Question: What is 2+2?',
      );
      assert.equal(
        nodePrompt('Q', ['only one']),
        'Please answer the following question with the help of previous responses, feel free to ignore wrong or unhelpful responses.\nPrevious response 1: only one\nQuestion: Q',
      );
    });
  });

  describe('taskPrompt', () => {
    const mc: TaskItem = {
      id: '0',
      question: 'How many legs does a spider have?',
      choices: [
        { letter: 'A', text: '6' },
        { letter: 'B', text: '8' },
        { letter: 'C', text: '10' },
      ],
      answer: 'B',
    };

    it('multiple choice: the paper\'s prompt, "The answer is" with no trailing space or newline', () => {
      assert.equal(
        taskPrompt(mc, { type: 'multiple_choice', instruction: PAPER_MC_INSTRUCTION, promptSuffix: '' }),
        'Please choose an option that best answers the question.\nQuestion: How many legs does a spider have?\nA: 6\nB: 8\nC: 10\nThe answer is',
      );
    });

    it('multiple choice: an empty instruction drops the line; a suffix follows the question', () => {
      assert.equal(
        taskPrompt(mc, { type: 'multiple_choice', instruction: '', promptSuffix: ' (think first)' }),
        'Question: How many legs does a spider have? (think first)\nA: 6\nB: 8\nC: 10\nThe answer is',
      );
    });

    it('exact match: the question plus the suffix (gsm8k)', () => {
      const gsm: TaskItem = { id: '1', question: 'Janet has 3 apples and buys 2. How many?', answer: '5' };
      assert.equal(
        taskPrompt(gsm, { type: 'exact_match', instruction: PAPER_MC_INSTRUCTION, promptSuffix: " Please end your response with 'The answer is'." }),
        "Janet has 3 apples and buys 2. How many? Please end your response with 'The answer is'.",
      );
      assert.equal(taskPrompt(gsm, { type: 'exact_match', instruction: PAPER_MC_INSTRUCTION, promptSuffix: '' }), gsm.question);
    });

    it('the full node prompt of a source node on a multiple-choice item (prompt nesting as in §3.1)', () => {
      const prompt = nodePrompt(taskPrompt(mc, { type: 'multiple_choice', instruction: PAPER_MC_INSTRUCTION, promptSuffix: '' }), []);
      assert.equal(
        prompt,
        'Please answer the following question.\nQuestion: Please choose an option that best answers the question.\nQuestion: How many legs does a spider have?\nA: 6\nB: 8\nC: 10\nThe answer is',
      );
    });
  });

  describe('cleanOutput', () => {
    it('strips, then replaces every newline by a space', () => {
      assert.equal(cleanOutput('  \nB: 8\nbecause spiders\n\nare arachnids \n', true), 'B: 8 because spiders  are arachnids');
      assert.equal(cleanOutput('  \nB: 8\nok \n', false), 'B: 8\nok');
    });
  });
});

import assert from 'node:assert/strict';
import { parsePaperChoice, parseStrictChoice, scoreItem, scorePaperExact, scoreStrictExact } from '../../workflows/core/scoring';
import type { Choice, TaskItem } from '../../workflows/core/task';

const FOUR: Choice[] = [
  { letter: 'A', text: '12' },
  { letter: 'B', text: 'Sixteen' },
  { letter: 'C', text: '20' },
  { letter: 'D', text: '24' },
];
const TEN: Choice[] = 'ABCDEFGHIJ'.split('').map((letter, i) => ({ letter, text: `option ${i}` }));

describe('core/scoring', () => {
  describe('parsePaperChoice (evaluate.py multiple_choice_answer_parsing, §4.2)', () => {
    it('1. the first option letter (in option order) found in the first 5 characters', () => {
      assert.equal(parsePaperChoice(' B: Sixteen, because 12 + 4', FOUR), 'B');
      assert.equal(parsePaperChoice('(C) surely not A or D', FOUR), 'C');
      // Option order, not position: "DA" has both, A is checked first.
      assert.equal(parsePaperChoice('DA is my pick', FOUR), 'A');
    });

    it('2. otherwise a letter in the last 5 characters', () => {
      assert.equal(parsePaperChoice('my final choice: D', FOUR), 'D');
      assert.equal(parsePaperChoice('I am confident the answer is B', FOUR), 'B');
    });

    it('3. otherwise the first option whose text is a case-insensitive substring', () => {
      assert.equal(parsePaperChoice('there are sixteen apples in total', FOUR), 'B');
      assert.equal(parsePaperChoice('there are 20 apples in all', FOUR), 'C');
    });

    it('exactly 5 characters at each end', () => {
      assert.equal(parsePaperChoice('wel B is right, I say', FOUR), 'B', 'B is the 5th character');
      assert.equal(parsePaperChoice('well B is right, I say', FOUR), 'Z', 'B is the 6th character');
      assert.equal(parsePaperChoice('my pick is D, ok', FOUR), 'D', 'D is the 5th character from the end');
      assert.equal(parsePaperChoice('my pick is D, okay', FOUR), 'Z', 'D is the 7th character from the end');
    });

    it('4. otherwise "Z" (always wrong)', () => {
      assert.equal(parsePaperChoice('no idea, sorry', FOUR), 'Z');
      assert.equal(parsePaperChoice('', FOUR), 'Z');
    });

    it('documented quirks: "I think" is option I with 10 options; "Answer: B" reads as A', () => {
      assert.equal(parsePaperChoice('I think the answer is B', TEN), 'I');
      assert.equal(parsePaperChoice('I think the answer is B', FOUR), 'B', 'with 4 options "I" is no option: the tail gives B');
      assert.equal(parsePaperChoice('Answer: B', FOUR), 'A');
    });
  });

  describe('parseStrictChoice', () => {
    const cases: [string, string | null][] = [
      [' B', 'B'],
      ['B', 'B'],
      ['(C)', 'C'],
      ['C)', 'C'],
      ['B: 16', 'B'],
      ['D. 24 apples', 'D'],
      ['A, since 3 × 4 = 12', 'A'],
      ['The answer is D.', 'D'],
      ['answer: A', 'A'],
      ['Answer: B', 'B'],
      ['The correct answer is (C) because ...', 'C'],
      ['First I thought the answer is A, but the answer is C.', 'C'],
      ['It must be sixteen apples.', 'B'],
      ['there are 20 of them', 'C'],
      ['Either 12 or 20.', null],
      ['120 apples', null],
      ['no idea', null],
      ['', null],
      ['E', null],
      ['Answer: maybe', null],
    ];
    for (const [output, expected] of cases) {
      it(`${JSON.stringify(output)} → ${String(expected)}`, () => {
        assert.equal(parseStrictChoice(output, FOUR), expected);
      });
    }

    it('does not repeat the paper quirk: a leading "I"/"A" word is not an option letter', () => {
      assert.equal(parseStrictChoice('I think the answer is B', TEN), 'B');
      assert.equal(parseStrictChoice('I believe it is option 3', TEN), 'D');
      assert.equal(parseStrictChoice('A good guess is option 2', TEN), 'C');
      assert.equal(parseStrictChoice('I', TEN), 'I');
      assert.equal(parseStrictChoice('I. option 8', TEN), 'I');
      assert.equal(parseStrictChoice('(A) because', TEN), 'A');
      assert.equal(parseStrictChoice('B because of option 1', TEN), 'B');
    });
  });

  describe('scorePaperExact (gold is a substring)', () => {
    it('the lenient quirk: "15" matches "150", "No" matches "Node"', () => {
      assert.deepEqual(scorePaperExact('The answer is 150.', '15'), { parsed: 'The answer is 150.', correct: true });
      assert.equal(scorePaperExact('Node 3 is not reachable', 'No').correct, true);
      assert.equal(scorePaperExact('The answer is 16.', '15').correct, false);
    });

    it('lastTokens = 5 keeps only the last 5 space-separated tokens (gsm8k)', () => {
      const output = 'The answer is 18 not 15 as some say';
      assert.deepEqual(scorePaperExact(output, '18', 5), { parsed: 'not 15 as some say', correct: false });
      assert.equal(scorePaperExact(output, '18').correct, true);
      assert.equal(scorePaperExact('so we get 36,000 dollars in total. The answer is 36,000', '36,000', 5).correct, true);
      assert.equal(scorePaperExact('The answer is 36000', '36,000', 5).correct, false, 'paper: commas are literal');
    });

    it('an empty output is unparsable', () => {
      assert.deepEqual(scorePaperExact('', '5'), { parsed: null, correct: false });
      assert.deepEqual(scorePaperExact('   ', '5', 5), { parsed: null, correct: false });
    });
  });

  describe('scoreStrictExact', () => {
    it('numeric gold: the LAST number in the output decides when no answer is stated', () => {
      assert.deepEqual(scoreStrictExact('16 - 3 - 4 = 9 eggs, 9 × 2 = 18 dollars', '18'), { parsed: '18', correct: true });
      assert.deepEqual(scoreStrictExact('I got 15 then 150', '15'), { parsed: '150', correct: false });
    });

    it('numeric gold: a stated "answer is N" wins over later numbers', () => {
      assert.deepEqual(scoreStrictExact('The answer is 18, not 17', '18'), { parsed: '18', correct: true });
      assert.deepEqual(scoreStrictExact('answer: 5. Then 6 and 7', '5'), { parsed: '5', correct: true });
      assert.deepEqual(scoreStrictExact('First the answer is 3; on reflection the answer is $4.', '4'), { parsed: '4', correct: true });
    });

    it('Yes/No gold: the first yes/no word decides', () => {
      assert.deepEqual(scoreStrictExact('Yes, there is no path back', 'No'), { parsed: 'Yes', correct: false });
      assert.deepEqual(scoreStrictExact('No. Node 3 is isolated', 'No'), { parsed: 'No', correct: true });
      assert.deepEqual(scoreStrictExact('Nodes 1 and 2 are linked', 'No'), { parsed: null, correct: false });
    });

    it('thousands commas on either side', () => {
      assert.equal(scoreStrictExact('He earns 36,000 a year.', '36,000').correct, true);
      assert.equal(scoreStrictExact('He earns 36000 a year.', '36,000').correct, true);
      assert.equal(scoreStrictExact('He earns 36,000 a year.', '36000').correct, true);
      assert.equal(scoreStrictExact('He earns 1,234,567.', '1234567').correct, true);
    });

    it('negative and decimal numbers', () => {
      assert.deepEqual(scoreStrictExact('The temperature is -7 degrees', '-7'), { parsed: '-7', correct: true });
      assert.equal(scoreStrictExact('The temperature is -7 degrees', '7').correct, false);
      assert.equal(scoreStrictExact('It costs $3.50.', '3.5').correct, true);
      assert.equal(scoreStrictExact('It costs $3.50.', '3').correct, false);
    });

    it('no number ⇒ unparsable', () => {
      assert.deepEqual(scoreStrictExact('I do not know', '5'), { parsed: null, correct: false });
    });

    it('Yes/No gold: whole word, case-insensitive ("No" does not match "Node")', () => {
      assert.equal(scoreStrictExact('Node 3 is connected to node 8', 'No').correct, false);
      assert.equal(scoreStrictExact('No, there is no path.', 'No').correct, true);
      assert.equal(scoreStrictExact('yes.', 'Yes').correct, true);
      assert.equal(scoreStrictExact('Yesterday I walked', 'Yes').correct, false);
      assert.deepEqual(scoreStrictExact('  ', 'Yes'), { parsed: null, correct: false });
    });
  });

  describe('scoreItem', () => {
    const mc: TaskItem = { id: '1', question: 'q', choices: FOUR, answer: 'B' };
    const em: TaskItem = { id: '2', question: 'q', answer: '15' };

    it('multiple choice, paper: "Z" becomes parsed null and wrong', () => {
      assert.deepEqual(scoreItem('B', mc, { type: 'multiple_choice', scoring: 'paper' }), { parsed: 'B', correct: true });
      assert.deepEqual(scoreItem('C', mc, { type: 'multiple_choice', scoring: 'paper' }), { parsed: 'C', correct: false });
      assert.deepEqual(scoreItem('no idea', mc, { type: 'multiple_choice', scoring: 'paper' }), { parsed: null, correct: false });
    });

    it('multiple choice, strict', () => {
      assert.deepEqual(scoreItem('The answer is B.', mc, { type: 'multiple_choice', scoring: 'strict' }), { parsed: 'B', correct: true });
      assert.deepEqual(scoreItem('Either 12 or 20', mc, { type: 'multiple_choice', scoring: 'strict' }), { parsed: null, correct: false });
    });

    it('exact match dispatches to the paper or the strict scorer', () => {
      assert.equal(scoreItem('150', em, { type: 'exact_match', scoring: 'paper' }).correct, true);
      assert.equal(scoreItem('150', em, { type: 'exact_match', scoring: 'strict' }).correct, false);
      assert.equal(scoreItem('15 is it, said the last five tokens here', em, { type: 'exact_match', scoring: 'paper', lastTokens: 5 }).correct, false);
    });
  });
});

/**
 * `voteBaseline` (Prediction Merge, core/baselines.ts): the per-item majority of the single models' answers,
 * read from their transcripts in the blob store — no model calls. Its own transcript (every ballot and the
 * verdict per item) goes to the blob store; only counts and the key go back to the workflow.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { majorityVote, type Ballot } from '../workflows/core/baselines';
import { FailureType } from '../workflows/core/errors';
import type { BlobStore } from './blob-store';
import type { Transcript } from './evaluate';

export interface VoteInput {
  study: string;
  split: 'dev' | 'test';
  /** Transcript keys of the single-model evaluations on `split`, in pool order. */
  transcripts: string[];
  /** Model indices, best on dev first: who wins a tie. */
  preference: number[];
}

export interface VoteResult {
  score: number;
  total: number;
  correct: number;
  /** Items on which no model gave a parsable answer. */
  unparsable: number;
  transcriptKey: string;
}

/** The vote's transcript document. */
export interface VoteTranscript {
  version: 1;
  kind: 'vote';
  study: string;
  split: 'dev' | 'test';
  /** The single models' transcripts the ballots come from, in pool order. */
  sources: { model: string; transcript: string }[];
  items: { id: string; gold: string; ballots: (string | null)[]; parsed: string | null; correct: boolean; votes: number }[];
}

function mismatch(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.InvalidTaskData, message: `vote baseline: ${message}`, nonRetryable: true });
}

export function createBaselineActivities(deps: { blobs: BlobStore }) {
  return {
    voteBaseline: async (input: VoteInput): Promise<VoteResult> => {
      const sources = (await Promise.all(input.transcripts.map((key) => deps.blobs.getJson(key)))) as Transcript[];
      const first = sources[0];
      if (first === undefined) throw mismatch('no single-model transcripts to vote over');
      sources.forEach((t, m) => {
        if (t.items.length !== first.items.length || t.items.some((item, i) => item.id !== first.items[i]!.id)) {
          throw mismatch(`transcript ${input.transcripts[m]} holds other items than ${input.transcripts[0]}`);
        }
      });
      const items = first.items.map((item, i) => {
        const ballots: Ballot[] = sources.map((t) => ({ parsed: t.items[i]!.parsed, correct: t.items[i]!.correct }));
        const verdict = majorityVote(ballots, input.preference);
        return { id: item.id, gold: item.gold, ballots: ballots.map((b) => b.parsed), ...verdict };
      });
      const transcript: VoteTranscript = {
        version: 1,
        kind: 'vote',
        study: input.study,
        split: input.split,
        sources: sources.map((t, m) => ({ model: t.assignment[0] ?? `#${m}`, transcript: input.transcripts[m]! })),
        items,
      };
      const correct = items.filter((x) => x.correct).length;
      return {
        score: correct / items.length,
        total: items.length,
        correct,
        unparsable: items.filter((x) => x.parsed === null).length,
        transcriptKey: await deps.blobs.putJson(transcript),
      };
    },
  };
}

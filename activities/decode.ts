/**
 * `decodeGraphs`: G-Decode every graph particle of one iteration (core/dag.ts). An activity so that the
 * decoded DAGs are recorded in the history for audit; the decode itself is pure and seeded.
 */
import { decodeGraph, type DecodedGraph, type Matrix } from '../workflows/core/dag';
import { deriveRng } from '../workflows/core/rng';

export interface DecodeGraphsInput {
  matrices: Matrix[];
  /** 0 = greedy (released code); > 0 = top-p sampling with a stream per (seed, iteration, particle). */
  topP: number;
  seed: number;
  iteration: number;
}

export function createDecodeActivities() {
  return {
    decodeGraphs: (input: DecodeGraphsInput): Promise<DecodedGraph[]> =>
      Promise.resolve(
        input.matrices.map((matrix, particle) =>
          decodeGraph(matrix, input.topP, input.topP > 0 ? deriveRng(input.seed, 'decode', input.iteration, particle) : undefined),
        ),
      ),
  };
}

/**
 * G-Decode: from a continuous adjacency matrix to a DAG of models (paper-notes §2, official
 * `graph_decode.py`), and the topological order the models run in (§2.3).
 *
 * A[i][j] is the strength of an edge i → j (row = source). The decoded graph is an in-tree rooted at the
 * sink: every node except the sink has exactly one outgoing edge, so all N nodes are used and the result is
 * acyclic by construction.
 *
 * Differences from the official code, all deliberate (paper-notes "Our decisions" 2):
 * - the input is never mutated (the code zeroes `A[u, R]` through a numpy view, §10.3);
 * - top-p sampling draws from our seeded PRNG; `topP = 0` is the released code's greedy decode and draws
 *   nothing;
 * - the masked softmax subtracts the maximum before `exp` (the same probabilities, no overflow), and the
 *   degenerate cases the code leaves unguarded (a row sum of exactly 0, every candidate masked) have a
 *   defined answer instead of NaN: see `maskedSoftmax`.
 */
import type { Rng } from './rng';

/** Adjacency matrix as rows; JSON-plain. */
export type Matrix = number[][];

export interface DecodedGraph {
  /** Number of nodes (slots). */
  n: number;
  /** Edges [from, to]: the output of `from` is fed to `to`. */
  edges: [number, number][];
  /** The node whose output is the system's answer. */
  sink: number;
  /** Topological order (§2.3); the sink is last. */
  order: number[];
}

/**
 * The code's "softmax": q_i = exp(x_i), entries with exp(x_i) == 1 (x_i == 0, "no edge") get probability 0,
 * then renormalise. `mask[i] = true` additionally excludes entry i. Returns all zeros if nothing is left.
 * +Infinity scores (e.g. 1/0) share the mass equally instead of producing NaN.
 */
export function maskedSoftmax(scores: readonly number[], mask?: readonly boolean[]): number[] {
  const live = scores.map((x, i) => !(mask?.[i] ?? false) && !Number.isNaN(x) && Math.exp(x) !== 1);
  const infinite = scores.map((x, i) => live[i]! && x === Infinity);
  if (infinite.some(Boolean)) {
    const count = infinite.filter(Boolean).length;
    return infinite.map((inf) => (inf ? 1 / count : 0));
  }
  let max = -Infinity;
  scores.forEach((x, i) => {
    if (live[i]! && x > max) max = x;
  });
  if (max === -Infinity) return scores.map(() => 0);
  const q = scores.map((x, i) => (live[i]! ? Math.exp(x - max) : 0));
  const total = q.reduce((a, b) => a + b, 0);
  return q.map((v) => v / total);
}

/**
 * Top-p selection (`top_p_sampling_selection`): sort (probability, index) descending with ties toward the
 * larger index, keep the shortest prefix whose cumulative probability exceeds `topP`, re-apply the masked
 * softmax to the kept probabilities (exp of probabilities, as the code does, §10.2) and sample one.
 * `topP = 0` keeps one entry: a deterministic argmax that consumes no randomness.
 */
export function topPSelect(probabilities: readonly number[], topP: number, rng: Rng | undefined): number {
  const ranked = probabilities
    .map((p, index) => ({ p, index }))
    .sort((a, b) => (b.p !== a.p ? b.p - a.p : b.index - a.index));
  const nucleus: { p: number; index: number }[] = [];
  let cumulative = 0;
  for (const entry of ranked) {
    nucleus.push(entry);
    cumulative += entry.p;
    if (cumulative > topP) break;
  }
  const first = nucleus[0];
  if (first === undefined) throw new RangeError('topPSelect needs at least one candidate');
  if (nucleus.length === 1) return first.index;
  if (rng === undefined) throw new Error('top-p decoding with topP > 0 needs a seeded Rng');
  const weights = maskedSoftmax(nucleus.map((e) => e.p));
  let u = rng.next();
  for (let k = 0; k < nucleus.length; k++) {
    u -= weights[k]!;
    if (u < 0) return nucleus[k]!.index;
  }
  return nucleus[nucleus.length - 1]!.index;
}

function checkSquare(a: Matrix): number {
  const n = a.length;
  if (n === 0) throw new RangeError('adjacency matrix is empty');
  a.forEach((row, i) => {
    if (row.length !== n) throw new RangeError(`adjacency matrix row ${i} has ${row.length} entries, expected ${n}`);
    if (row[i] !== 0) throw new RangeError(`adjacency matrix diagonal must be 0 (A[${i}][${i}] = ${row[i]})`);
  });
  return n;
}

/**
 * G-Decode (`graph_decode(A, top_p_threshold)`).
 * 1. sink k = select(softmax(1 / d_i)) with d_i the row sums ("out-degrees");
 * 2. while nodes remain: u = select(softmax(d_u)) over the remaining nodes, then its single successor
 *    v = select(softmax(A[u][v])) over the placed nodes; add u → v.
 * If every remaining candidate is masked (all exactly 0), the code would produce NaN; we then take the
 * candidates as equally likely (greedy: the largest index, by the tie rule).
 */
export function decodeGraph(a: Matrix, topP: number, rng?: Rng): DecodedGraph {
  const n = checkSquare(a);
  const rowSums = a.map((row) => row.reduce((s, x) => s + x, 0));
  const select = (scores: number[], excluded: boolean[]): number => {
    let probabilities = maskedSoftmax(scores, excluded);
    if (probabilities.every((p) => p === 0)) {
      const open = excluded.filter((e) => !e).length;
      probabilities = excluded.map((e) => (e ? 0 : 1 / open));
    }
    return topPSelect(probabilities, topP, rng);
  };

  const placed = new Array<boolean>(n).fill(false);
  const sink = select(rowSums.map((d) => 1 / d), placed);
  placed[sink] = true;
  const edges: [number, number][] = [];
  for (let step = 1; step < n; step++) {
    const u = select(rowSums, placed);
    const row = a[u]!;
    const successor = select(row, placed.map((p) => !p));
    edges.push([u, successor]);
    placed[u] = true;
  }
  return { n, edges, sink, order: topologicalOrder(n, edges) };
}

/**
 * Kahn-style order as `topological_sort`: repeatedly scan nodes 0..N−1 in index order and append any
 * unplaced node whose in-degree is 0, decrementing its successors' in-degrees at once (so a node freed during
 * a scan can be appended later in the same scan).
 */
export function topologicalOrder(n: number, edges: readonly (readonly [number, number])[]): number[] {
  const inDegree = new Array<number>(n).fill(0);
  const successors: number[][] = Array.from({ length: n }, () => []);
  for (const [from, to] of edges) {
    if (from < 0 || from >= n || to < 0 || to >= n) throw new RangeError(`edge ${from}→${to} outside 0..${n - 1}`);
    inDegree[to]!++;
    successors[from]!.push(to);
  }
  const order: number[] = [];
  const done = new Array<boolean>(n).fill(false);
  while (order.length < n) {
    let progressed = false;
    for (let node = 0; node < n; node++) {
      if (done[node] || inDegree[node] !== 0) continue;
      order.push(node);
      done[node] = true;
      progressed = true;
      for (const s of successors[node]!) inDegree[s]!--;
    }
    if (!progressed) throw new RangeError('graph has a cycle; no topological order');
  }
  return order;
}

/** Predecessors of every node in increasing node index (the order of "Previous response k", §10.11). */
export function predecessors(graph: Pick<DecodedGraph, 'n' | 'edges'>): number[][] {
  const preds: number[][] = Array.from({ length: graph.n }, () => []);
  for (const [from, to] of graph.edges) preds[to]!.push(from);
  for (const list of preds) list.sort((x, y) => x - y);
  return preds;
}

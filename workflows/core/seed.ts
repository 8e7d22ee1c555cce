/**
 * Seeding the graph swarm with a known graph (the `seed` update): a user's adjacency matrix — or a list of
 * edges between model ids, made a 0/1 matrix — becomes particle k's position at the next iteration, with
 * zero velocity; the particle's personal best and history stay (the seed must earn its place). By default it
 * replaces the particle whose latest utility is the lowest (first of equal minima). Pure.
 */
import { z } from 'zod';
import type { Matrix } from './dag';
import type { GraphSwarm } from './swarm';

export const SeedRequestSchema = z
  .strictObject({
    /** N×N adjacency weights in [0, 1] (row = source, column = target), diagonal 0 — as the PSO positions. */
    matrix: z.array(z.array(z.number().min(0).max(1))).optional(),
    /** Or edges between model ids: weight 1 on each edge, 0 elsewhere. */
    edges: z.array(z.tuple([z.string(), z.string()])).optional(),
    /** The particle to replace (default: the one with the lowest latest utility). */
    particle: z.int().min(0).optional(),
  })
  .refine((r) => (r.matrix === undefined) !== (r.edges === undefined), { message: 'give exactly one of "matrix" or "edges"' });
export type SeedRequest = z.input<typeof SeedRequestSchema>;

/** A validated seed: the matrix to inject and the particle it replaces. */
export interface GraphSeed {
  matrix: Matrix;
  particle: number;
}

export type SeedOutcome = { ok: true; seed: GraphSeed } | { ok: false; problems: { path: string; message: string }[] };

/** The particle a seed replaces by default: the lowest latest utility, first of equal minima. */
export function weakestParticle(swarm: GraphSwarm): number {
  let weakest = 0;
  swarm.particles.forEach((p, k) => {
    const latest = p.history[p.history.length - 1] ?? -Infinity;
    const current = swarm.particles[weakest]!.history[swarm.particles[weakest]!.history.length - 1] ?? -Infinity;
    if (latest < current) weakest = k;
  });
  return weakest;
}

/** Checks `input` against the pool (`modelIds`, in config order) and the swarm. */
export function parseSeed(input: unknown, modelIds: readonly string[], swarm: GraphSwarm): SeedOutcome {
  const parsed = SeedRequestSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message })) };
  const { matrix, edges, particle } = parsed.data;
  const n = modelIds.length;
  const problems: { path: string; message: string }[] = [];
  if (particle !== undefined && particle >= swarm.particles.length) problems.push({ path: 'particle', message: `there are ${swarm.particles.length} graph particles (0..${swarm.particles.length - 1})` });
  let seeded: Matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  if (matrix !== undefined) {
    if (matrix.length !== n || matrix.some((row) => row.length !== n)) problems.push({ path: 'matrix', message: `must be ${n}×${n} (one row and column per model)` });
    else if (matrix.some((row, i) => row[i] !== 0)) problems.push({ path: 'matrix', message: 'the diagonal must be 0 (no self-loops)' });
    else seeded = matrix.map((row) => row.slice());
  }
  (edges ?? []).forEach(([from, to], i) => {
    const a = modelIds.indexOf(from);
    const b = modelIds.indexOf(to);
    if (a < 0 || b < 0) problems.push({ path: `edges.${i}`, message: `unknown model id "${a < 0 ? from : to}" (models: ${modelIds.join(', ')})` });
    else if (a === b) problems.push({ path: `edges.${i}`, message: 'no self-loops' });
    else seeded[a]![b] = 1;
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, seed: { matrix: seeded, particle: particle ?? weakestParticle(swarm) } };
}

/** The swarm with every seed injected (x ← seed, v ← 0), in order. */
export function injectSeeds(swarm: GraphSwarm, seeds: readonly GraphSeed[]): GraphSwarm {
  const particles = swarm.particles.slice();
  for (const { matrix, particle } of seeds) {
    const p = particles[particle]!;
    particles[particle] = { ...p, position: matrix.map((row) => row.slice()), velocity: matrix.map((row) => row.map(() => 0)) };
  }
  return { ...swarm, particles };
}

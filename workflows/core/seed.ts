/**
 * Seeding a swarm with a known point (the `seed` update). Pure.
 *
 * - A graph: a user's adjacency matrix — or a list of edges between model ids, made a 0/1 matrix — becomes
 *   graph particle k's position at the next iteration, with zero velocity. By default it replaces the particle
 *   whose latest utility is the lowest (first of equal minima).
 * - An adapter: a LoRA adapter file becomes model particle i's position (x_i ← the adapter, v_i ← 0) and the
 *   model's current version, so the next role step evaluates systems with it and that iteration's weight step
 *   moves it from there. The workflow imports and publishes the file first (activities); here it is validated
 *   against the pool and injected into the weight state.
 *
 * Either way the particle's personal best and history stay: the seed must earn its place.
 */
import { z } from 'zod';
import type { ModelSpec } from './config';
import type { Matrix } from './dag';
import type { ModelVersion, WeightState } from './state';
import type { GraphSwarm } from './swarm';
import { particleOfModel } from './weight-swarm';

export const SeedRequestSchema = z
  .strictObject({
    /** N×N adjacency weights in [0, 1] (row = source, column = target), diagonal 0 — as the PSO positions. */
    matrix: z.array(z.array(z.number().min(0).max(1))).optional(),
    /** Or edges between model ids: weight 1 on each edge, 0 elsewhere. */
    edges: z.array(z.tuple([z.string(), z.string()])).optional(),
    /** The graph particle to replace (default: the one with the lowest latest utility). Graphs only. */
    particle: z.int().min(0).optional(),
    /** Or an adapter for the model with this id (one with an `adapter` in the config): its particle takes it. */
    model: z.string().min(1).optional(),
    /** The adapter, in the model's format (a GGUF file or a PEFT directory), as the weights worker reads it:
     * absolute, or relative to its data root (HS_DATA_ROOT) like the config's adapter paths. */
    adapter: z.string().min(1).optional(),
    /** sha256 the adapter's weights file must have (GGUF file / adapter_model.safetensors). */
    adapterSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256 (64 characters)').optional(),
  })
  .superRefine((r, ctx) => {
    const given = [r.matrix, r.edges, r.adapter].filter((x) => x !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of "matrix" or "edges" (a graph) or "adapter" (with "model")' });
    if (r.adapter !== undefined && r.model === undefined) ctx.addIssue({ code: 'custom', path: ['model'], message: 'an "adapter" seed needs "model": the id of the model whose particle takes it' });
    if (r.adapter === undefined && r.model !== undefined) ctx.addIssue({ code: 'custom', path: ['model'], message: '"model" goes only with "adapter"' });
    if (r.adapter === undefined && r.adapterSha256 !== undefined) ctx.addIssue({ code: 'custom', path: ['adapterSha256'], message: '"adapterSha256" goes only with "adapter"' });
    if (r.adapter !== undefined && r.particle !== undefined) ctx.addIssue({ code: 'custom', path: ['particle'], message: '"particle" is for graph seeds; an adapter seed replaces the particle of its "model"' });
  });
export type SeedRequest = z.input<typeof SeedRequestSchema>;

/** A validated graph seed: the matrix to inject and the graph particle it replaces. */
export interface GraphSeed {
  kind: 'graph';
  matrix: Matrix;
  particle: number;
}

/** A validated adapter seed, before its file is imported: the model (pool index) and where the file is. */
export interface AdapterSeedRequest {
  kind: 'adapter';
  model: number;
  path: string;
  /** The pinned sha256, if the request gave one. */
  sha256?: string;
}

/** An adapter seed ready to inject: the imported, published version and its zero velocity (blob keys). */
export interface AdapterSeed {
  model: number;
  version: ModelVersion;
  velocity: string;
}

export interface SeedProblem {
  path: string;
  message: string;
}

export type SeedOutcome = { ok: true; seed: GraphSeed | AdapterSeedRequest } | { ok: false; problems: SeedProblem[] };

/** What a seed is checked against: the pool (config order), the graph swarm and the weight state. */
export interface SeedTarget {
  models: readonly Pick<ModelSpec, 'id' | 'adapter'>[];
  swarm: GraphSwarm;
  /** Absent: the study has no weight step, hence no model particles. */
  weights?: WeightState | undefined;
}

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

function graphSeed(matrix: Matrix | undefined, edges: readonly [string, string][] | undefined, particle: number | undefined, target: SeedTarget): GraphSeed | SeedProblem[] {
  const { swarm } = target;
  const modelIds = target.models.map((m) => m.id);
  const n = modelIds.length;
  const problems: SeedProblem[] = [];
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
  return problems.length > 0 ? problems : { kind: 'graph', matrix: seeded, particle: particle ?? weakestParticle(swarm) };
}

function adapterSeed(id: string, file: string, sha256: string | undefined, target: SeedTarget): AdapterSeedRequest | SeedProblem[] {
  const model = target.models.findIndex((m) => m.id === id);
  const withAdapter = target.models.filter((m) => m.adapter !== undefined).map((m) => m.id);
  const particles = withAdapter.length === 0 ? 'no model has one' : `models with one: ${withAdapter.join(', ')}`;
  const problem = (message: string): SeedProblem[] => [{ path: 'model', message }];
  if (model < 0) return problem(`unknown model id "${id}" (models: ${target.models.map((m) => m.id).join(', ')})`);
  if (target.models[model]!.adapter === undefined) return problem(`model "${id}" has no adapter in the config, so it is no model particle (${particles})`);
  if (target.weights === undefined) return problem('the study has no weight step (weightStep.enabled is false), so there are no model particles to seed');
  if (particleOfModel(target.weights.swarms, model) === undefined) return problem(`model "${id}" is not a particle of any weight swarm`);
  return { kind: 'adapter', model, path: file, ...(sha256 === undefined ? {} : { sha256 }) };
}

/** Checks `input` against the pool, the graph swarm and (for adapters) the weight state. */
export function parseSeed(input: unknown, target: SeedTarget): SeedOutcome {
  const parsed = SeedRequestSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message })) };
  const { matrix, edges, particle, model, adapter, adapterSha256 } = parsed.data;
  const seed = adapter !== undefined && model !== undefined ? adapterSeed(model, adapter, adapterSha256, target) : graphSeed(matrix, edges, particle, target);
  return Array.isArray(seed) ? { ok: false, problems: seed } : { ok: true, seed };
}

/** The graph swarm with every seed injected (x ← seed, v ← 0), in order. */
export function injectSeeds(swarm: GraphSwarm, seeds: readonly Pick<GraphSeed, 'matrix' | 'particle'>[]): GraphSwarm {
  const particles = swarm.particles.slice();
  for (const { matrix, particle } of seeds) {
    const p = particles[particle]!;
    particles[particle] = { ...p, position: matrix.map((row) => row.slice()), velocity: matrix.map((row) => row.map(() => 0)) };
  }
  return { ...swarm, particles };
}

/**
 * The weight state with every adapter seed injected, in order: the model's current version ← the seed's,
 * its particle's x ← the version's weights, v ← the zero velocity; personal best, history and the swarm's
 * g / g_w stay. `retired`: the versions no longer current, to unload — the ones the seeds replaced and
 * earlier seeds of a model superseded by later ones.
 */
export function injectAdapterSeeds(weights: WeightState, seeds: readonly AdapterSeed[]): { weights: WeightState; retired: { model: number; served: string }[] } {
  const versions = weights.versions.slice();
  const swarms = weights.swarms.map((s) => ({ ...s, particles: s.particles.slice() }));
  const replaced: { model: number; served: string }[] = [];
  for (const { model, version, velocity } of seeds) {
    const at = particleOfModel(swarms, model);
    if (at === undefined) throw new RangeError(`injectAdapterSeeds: model #${model} is not a particle of any weight swarm`);
    const particles = swarms[at.swarm]!.particles;
    particles[at.particle] = { ...particles[at.particle]!, position: version.key, velocity };
    const previous = versions[model];
    if (previous) replaced.push({ model, served: previous.served });
    versions[model] = version;
  }
  const retired = replaced.filter((r, i) => versions[r.model]?.served !== r.served && replaced.findIndex((o) => o.model === r.model && o.served === r.served) === i);
  return { weights: { ...weights, swarms, versions }, retired };
}

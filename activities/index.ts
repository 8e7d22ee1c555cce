/**
 * All activities, built from injected dependencies (design.md §4: factories over interfaces).
 * Workflows reference them only through `import type` of this module.
 */
import { createBaselineActivities } from './baselines';
import { createDecodeActivities } from './decode';
import { createEvaluationActivities } from './evaluate';
import { createTaskActivities } from './task';
import { createWeightActivities, type WeightDeps } from './weights';

export type ActivityDeps = Parameters<typeof createEvaluationActivities>[0] & WeightDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createTaskActivities(deps),
    ...createDecodeActivities(),
    ...createEvaluationActivities(deps),
    ...createBaselineActivities(deps),
    ...createWeightActivities(deps),
  };
}

/**
 * The host application's own workflows, on its own task queue. `tunePool` runs a Heterogeneous Swarms study as
 * a child workflow on `hs` (served by the plugin) and keeps what the host needs from the report.
 * Workflow code: import our names from `workflows/core/names` (pure), not from the plugin's entry point.
 */
import { executeChild } from '@temporalio/workflow';
import { ORCHESTRATOR_TASK_QUEUE, studyWorkflowId } from '../../workflows/core/names';
import type { swarmSearch } from '../../workflows/search.workflow';

export interface TuningSummary {
  study: string;
  bestDevScore: number;
  testScore: number;
  /** The best system's DAG: edges between model ids; the sink answers. */
  edges: [string, string][];
  sink: string;
  calls: number;
}

export async function tunePool(config: { study: string }): Promise<TuningSummary> {
  const report = await executeChild<typeof swarmSearch>('swarmSearch', {
    taskQueue: ORCHESTRATOR_TASK_QUEUE,
    workflowId: studyWorkflowId(config.study),
    args: [config],
  });
  const { devScore, testScore, edges, sink } = report.best;
  return { study: report.study, bestDevScore: devScore, testScore, edges, sink, calls: report.counters.calls };
}

/** Workflow types registered on the `hs` task queue. Every export here is a workflow type: durable names. */
export { swarmSearch } from './search.workflow';
export { roleStep } from './role-step.workflow';
export { weightStep } from './weight-step.workflow';
export { baselines } from './baselines.workflow';

/**
 * Replay safety (design.md §6 item 4): every recorded history in test/fixtures/histories/ (made by
 * `npm run histories` from real runs) must replay against the current workflow code without a determinism
 * error. A fixture that stops replaying means the change would break studies already running: guard it with
 * `patched()` (see test/replay/README.md).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import * as workflowTypes from '../../workflows';
import { workflowBundle } from '../helpers/temporal';

const HISTORIES_DIR = path.resolve(__dirname, '../fixtures/histories');
/** Every workflow type the `hs` queue registers (each export of workflows/index.ts). */
const WORKFLOW_TYPES = Object.keys(workflowTypes);

interface JsonEvent {
  eventType: string;
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } };
  startChildWorkflowExecutionInitiatedEventAttributes?: { workflowId?: string };
  [key: string]: unknown;
}
interface JsonHistory {
  events: JsonEvent[];
}
interface Fixture {
  name: string;
  workflowType: string;
  history: JsonHistory;
}

function loadFixtures(): Fixture[] {
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8')) as JsonHistory;
      const workflowType = history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
      return { name: path.basename(f, '.json'), workflowType, history };
    });
}

/** Replays `fixtures` on one replay worker; returns the failures as "name: error" lines. */
async function replayFailures(fixtures: Fixture[]): Promise<string[]> {
  const failures: string[] = [];
  const results = Worker.runReplayHistories(
    { workflowBundle: await workflowBundle(), replayName: 'hs-replay-test' },
    fixtures.map((f) => ({ workflowId: f.name, history: f.history })),
  );
  let seen = 0;
  for await (const result of results) {
    seen++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.name}: ${result.error.message}`);
  }
  assert.equal(seen, fixtures.length, 'one replay result per history');
  return failures;
}

describe('replay: recorded histories replay on the current workflow code', function () {
  this.timeout(180_000);
  const fixtures = loadFixtures();

  it('has a recorded history of every workflow type, including paused/resumed and continued-as-new studies', () => {
    const types = new Set(fixtures.map((f) => f.workflowType));
    for (const t of WORKFLOW_TYPES) assert.ok(types.has(t), `no history of ${t} in ${HISTORIES_DIR}`);
    const has = (eventType: string) => fixtures.some((f) => f.history.events.some((e) => e.eventType === eventType));
    assert.ok(has('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED'), 'a paused/resumed study');
    assert.ok(has('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW'), 'a run that continued-as-new');
    assert.ok(fixtures.some((f) => f.workflowType === 'swarmSearch' && f.history.events.some((e) => e.eventType === 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED' && e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId?.includes('/weight-'))), 'a joint study (weight step)');
    assert.ok(fixtures.some((f) => f.workflowType === 'swarmSearch' && f.history.events.some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId?.endsWith('/baselines'))), 'a study with baselines');
    assert.ok(fixtures.some((f) => f.workflowType === 'swarmSearch' && f.history.events.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED') && f.history.events.some((e) => JSON.stringify(e).includes('"initialVelocity"'))), 'a study seeded with an adapter (update + activities)');
  });

  it('replays every history without a determinism error', async () => {
    const failures = await replayFailures(fixtures);
    assert.deepEqual(failures, [], `histories that no longer replay:\n${failures.join('\n')}`);
  });

  it('negative control: a history whose child workflow id was changed does not replay', async () => {
    const original = fixtures.find((f) => f.name === 'swarmSearch-role-only');
    assert.ok(original, 'fixture swarmSearch-role-only');
    const history = structuredClone(original.history);
    const child = history.events.find((e) => e.eventType === 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED');
    assert.ok(child?.startChildWorkflowExecutionInitiatedEventAttributes);
    child.startChildWorkflowExecutionInitiatedEventAttributes.workflowId = 'hs/tampered/role-0';
    const failures = await replayFailures([{ ...original, name: 'tampered', history }]);
    assert.equal(failures.length, 1);
    assert.match(failures[0]!, /^tampered: DeterminismViolationError: .*Child workflow id/);
  });
});

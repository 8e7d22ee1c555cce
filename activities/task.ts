/**
 * `loadTask`: read and validate the task file once at the start of a study and fingerprint it. Only the
 * hash and the split sizes enter the history; evaluation activities re-read the file and check the hash.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { TaskSpec } from '../workflows/core/config';
import { FailureType } from '../workflows/core/errors';
import type { TaskLoader } from './task-loader';

export interface TaskFingerprint {
  sha256: string;
  dev: number;
  test: number;
}

export function createTaskActivities(deps: { tasks: TaskLoader }) {
  return {
    loadTask: async (spec: TaskSpec): Promise<TaskFingerprint> => {
      const { sha256, data } = await deps.tasks.load(spec);
      if (data.dev.length === 0) {
        throw ApplicationFailure.nonRetryable(`task ${spec.path}: the dev split is empty`, FailureType.InvalidTaskData);
      }
      return { sha256, dev: data.dev.length, test: data.test.length };
    },
  };
}

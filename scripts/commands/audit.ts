/**
 * `hs audit <study>`: the study's evaluation ledger joined with its workflow executions (every run of the
 * continue-as-new chain and every iteration child) into one JSONL or CSV trail. `hs transcript <key>`: one
 * evaluation's full message-passing transcript, human-readable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { createFsBlobStore } from '../../activities/blob-store';
import type { Transcript } from '../../activities/evaluate';
import { createFsLedger, type Ledger } from '../../activities/ledger';
import { readEnv } from '../../workers/env';
import type { LedgerEntry } from '../../workflows/core/ledger';
import { baselinesWorkflowId, roleStepWorkflowId, studyWorkflowId, weightStepWorkflowId } from '../../workflows/core/names';
import { withClient } from '../client';

/** One workflow execution (run) of a study, from the server's visibility store. */
export interface AuditExecution {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  historyLength: number;
}

/** A ledger entry with the workflow execution that ran it (null fields when the server no longer has it). */
export type AuditRow = LedgerEntry & { workflowId: string; runId: string | null; workflowStatus: string | null };

export interface AuditTrail {
  rows: AuditRow[];
  executions: AuditExecution[];
}

/** The workflow that requested an evaluation, by its label (design.md §2 ids). */
export function workflowIdOf(entry: Pick<LedgerEntry, 'study' | 'step' | 'iteration'>): string {
  if (entry.step === 'baseline') return baselinesWorkflowId(entry.study);
  if (entry.step === 'role') return roleStepWorkflowId(entry.study, entry.iteration);
  if (entry.step === 'weight') return weightStepWorkflowId(entry.study, entry.iteration);
  return studyWorkflowId(entry.study);
}

const quoted = (s: string): string => JSON.stringify(s);

/** Every execution (all runs) of the study workflow and its children, oldest first. */
export async function studyExecutions(client: Client, study: string): Promise<AuditExecution[]> {
  const id = studyWorkflowId(study);
  const query = `WorkflowId = ${quoted(id)} OR WorkflowId STARTS_WITH ${quoted(`${id}/`)}`;
  const executions: AuditExecution[] = [];
  for await (const info of client.workflow.list({ query })) {
    executions.push({
      workflowId: info.workflowId,
      runId: info.runId,
      type: info.type,
      status: info.status.name,
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString() ?? null,
      historyLength: info.historyLength,
    });
  }
  return executions.sort((a, b) => a.startTime.localeCompare(b.startTime) || a.workflowId.localeCompare(b.workflowId));
}

/**
 * The run an entry belongs to: among the runs of its workflow id, the one open when the entry was recorded
 * (a study re-run under the same name has several); else the latest run.
 */
function runOf(entry: LedgerEntry, runs: readonly AuditExecution[]): AuditExecution | undefined {
  const at = entry.recordedAt;
  const open = runs.filter((r) => r.startTime <= at && (r.closeTime === null || at <= r.closeTime));
  return open[open.length - 1] ?? runs[runs.length - 1];
}

/** The audit trail of `study`: ledger entries in trail order, each joined to its workflow execution. */
export async function buildAuditTrail(client: Client, ledger: Ledger, study: string): Promise<AuditTrail> {
  const [entries, executions] = await Promise.all([ledger.list(study), studyExecutions(client, study)]);
  const byId = new Map<string, AuditExecution[]>();
  for (const e of executions) byId.set(e.workflowId, [...(byId.get(e.workflowId) ?? []), e]);
  const rows = entries.map((entry): AuditRow => {
    const workflowId = workflowIdOf(entry);
    const run = runOf(entry, byId.get(workflowId) ?? []);
    return { ...entry, workflowId, runId: run?.runId ?? null, workflowStatus: run?.status ?? null };
  });
  return { rows, executions };
}

const CSV_COLUMNS = [
  'study', 'iteration', 'step', 'particle', 'split', 'failure', 'score', 'correct', 'total', 'unparsable', 'errors',
  'calls', 'cacheHits', 'promptTokens', 'completionTokens', 'latencyMs', 'assignment', 'edges', 'sink', 'models',
  'workflowId', 'runId', 'workflowStatus', 'transcriptKey', 'taskSha256', 'key', 'recordedAt',
] as const;

const csvCell = (value: string | number | null): string => {
  const s = value === null ? '' : String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The trail as CSV (RFC 4180): nested fields flattened (`usage.*` as columns, lists space-separated). */
export function auditCsv(rows: readonly AuditRow[]): string {
  const lines = rows.map((r) => {
    const flat: Record<(typeof CSV_COLUMNS)[number], string | number | null> = {
      ...r,
      ...r.usage,
      failure: r.failure === null ? null : r.failure.type,
      assignment: r.assignment.join(' '),
      edges: r.edges.map(([from, to]) => `${from}>${to}`).join(' '),
      models: r.models.map((m) => `${m.id}=${m.served}${m.adapterSha256 === null ? '' : `@${m.adapterSha256}`}`).join(' '),
    };
    return CSV_COLUMNS.map((c) => csvCell(flat[c])).join(',');
  });
  return `${[CSV_COLUMNS.join(','), ...lines].join('\n')}\n`;
}

export function auditJsonl(rows: readonly AuditRow[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

const indent = (text: string, prefix = '    '): string => text.split('\n').map((l) => `${prefix}${l}`).join('\n');

/** A transcript, human-readable: per item, every node in order with its model, prompt and output; the verdict. */
export function transcriptText(t: Transcript): string {
  const l = t.label;
  const slots = t.assignment.map((m, slot) => `${slot}:${m}`).join(' ');
  const out = [
    `study ${l.study}, iteration ${l.iteration}, ${l.step} step${l.particle === undefined ? '' : `, particle ${l.particle}`}, ${t.split} split (task sha256 ${t.taskSha256.slice(0, 12)}…)`,
    `graph: slots ${slots}; edges ${t.graph.edges.map(([f, to]) => `${f}→${to}`).join(', ') || 'none'}; sink ${t.graph.sink}`,
    `score ${t.items.filter((i) => i.correct).length}/${t.items.length}`,
  ];
  t.items.forEach((item, i) => {
    out.push('', `── item ${i + 1}/${t.items.length}: ${item.id} — ${item.correct ? 'correct' : 'wrong'} (answer ${item.parsed ?? 'unparsable'}, gold ${item.gold})`);
    if (item.error) out.push(`  error ${item.error.type}: ${item.error.message}`);
    for (const node of item.nodes) {
      out.push(`  node ${node.node} [${node.model}]${node.cached ? ' (cached)' : ''}`, '   prompt:', indent(node.prompt), '   output:', indent(node.output));
    }
  });
  return `${out.join('\n')}\n`;
}

async function audit(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, format: { type: 'string' } } });
  const study = positionals[0];
  const format = values.format ?? (values.out?.endsWith('.csv') === true ? 'csv' : 'jsonl');
  if (study === undefined || (format !== 'jsonl' && format !== 'csv')) {
    console.error('usage: hs audit <study> [--out FILE] [--format jsonl|csv]');
    return 2;
  }
  const env = readEnv();
  const ledger = createFsLedger(path.join(env.home, 'ledger'));
  const trail = await withClient(env, (client) => buildAuditTrail(client, ledger, study));
  if (trail.rows.length === 0 && trail.executions.length === 0) {
    console.error(`no ledger entries or workflow executions for study "${study}" (ledger ${path.join(env.home, 'ledger')})`);
    return 1;
  }
  const text = format === 'csv' ? auditCsv(trail.rows) : auditJsonl(trail.rows);
  if (values.out === undefined) {
    process.stdout.write(text);
  } else {
    fs.writeFileSync(values.out, text);
    const unjoined = trail.rows.filter((r) => r.runId === null).length;
    console.error(`${values.out}: ${trail.rows.length} evaluations of "${study}" over ${trail.executions.length} workflow runs${unjoined > 0 ? ` (${unjoined} without a known run)` : ''}`);
  }
  return 0;
}

async function transcript(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  const key = positionals[0];
  if (key === undefined) {
    console.error('usage: hs transcript <sha256:key> [--json]');
    return 2;
  }
  const blobs = createFsBlobStore(path.join(readEnv().home, 'blobs'));
  const doc = (await blobs.getJson(key)) as Partial<Transcript>;
  if (doc.version !== 1 || !Array.isArray(doc.items)) {
    console.error(`blob ${key} is not an evaluation transcript`);
    return 1;
  }
  process.stdout.write(values.json ? `${JSON.stringify(doc, null, 2)}\n` : transcriptText(doc as Transcript));
  return 0;
}

export async function auditCommand(command: 'audit' | 'transcript', argv: string[]): Promise<number> {
  return command === 'audit' ? await audit(argv) : await transcript(argv);
}

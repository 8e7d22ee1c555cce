/**
 * Worker telemetry, installed once per process before any connection: Prometheus metrics (the Temporal SDK's
 * runtime metrics and ours, all on one `/metrics` endpoint) and structured JSON logs (one object per line on
 * stderr, with the activity/workflow context and our study/iteration/particle fields).
 *
 *   HS_METRICS_ADDRESS=0.0.0.0:9464   serve Prometheus metrics at http://<address>/metrics (off when unset)
 *   HS_LOG_FORMAT=json|text           default text
 *   HS_LOG_LEVEL=TRACE|DEBUG|INFO|WARN|ERROR   default INFO
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogEntry, type LogLevel } from '@temporalio/worker';
import { z } from 'zod';

const TelemetryEnvSchema = z.object({
  HS_METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'must be HOST:PORT, e.g. 0.0.0.0:9464')
    .optional(),
  HS_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  HS_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
});
export type TelemetrySettings = z.infer<typeof TelemetryEnvSchema>;

export function readTelemetryEnv(env: NodeJS.ProcessEnv = process.env): TelemetrySettings {
  const parsed = TelemetryEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`Invalid environment:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  return parsed.data;
}

/** A JSON-safe copy of log metadata: errors as {name, message, stack}, bigints as strings. */
function plain(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
  if (typeof value === 'bigint') return value.toString();
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, depth + 1)]));
}

/** One log entry as one JSON line: time, level, message, then the metadata's fields. */
export function jsonLogLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return JSON.stringify({ time, level: entry.level, message: entry.message, ...(plain(entry.meta ?? {}) as object) });
}

/** Installs the SDK runtime with our logger and (optionally) the Prometheus exporter. Call once, first. */
export function installTelemetry(settings: TelemetrySettings): void {
  const level: LogLevel = settings.HS_LOG_LEVEL;
  const logger =
    settings.HS_LOG_FORMAT === 'json' ? new DefaultLogger(level, (entry) => void process.stderr.write(`${jsonLogLine(entry)}\n`)) : new DefaultLogger(level);
  Runtime.install({
    logger,
    telemetryOptions: {
      // The SDK core's own logs go through the same logger (so they are JSON too).
      logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
      ...(settings.HS_METRICS_ADDRESS === undefined ? {} : { metrics: { prometheus: { bindAddress: settings.HS_METRICS_ADDRESS } } }),
    },
  });
}

/**
 * What --server-status and the metrics count of every response, in the shape
 * workers report it to the master and the master adds up: responses by method
 * and status class, and a histogram of their durations. Plain arrays of
 * numbers, cumulative since the worker started, so a sum over workers (and
 * over workers that have left) is an element-wise sum.
 */

/** Methods counted under their own name; every other method is counted as OTHER (a label set that cannot grow). */
export const METRIC_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'OTHER'] as const;
/** Status classes 1xx..5xx. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Upper bounds of the duration buckets, seconds (Prometheus' client defaults); one more bucket for +Inf. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface RequestCounts {
  /** Responses at [methodIndex * 5 + statusClassIndex] (METRIC_METHODS x STATUS_CLASSES). */
  readonly responses: number[];
  /** Requests per duration bucket, not cumulative: [i] for DURATION_BUCKETS[i], the last for longer ones. */
  readonly durations: number[];
  /** Sum of the durations, seconds. */
  durationSum: number;
}

export function emptyCounts(): RequestCounts {
  return {
    responses: new Array<number>(METRIC_METHODS.length * STATUS_CLASSES.length).fill(0),
    durations: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
    durationSum: 0,
  };
}

/** Adds `from` into `into` (element-wise). */
export function addCounts(into: RequestCounts, from: RequestCounts | undefined): RequestCounts {
  if (!from) return into;
  for (let i = 0; i < into.responses.length; i++) into.responses[i]! += from.responses[i] ?? 0;
  for (let i = 0; i < into.durations.length; i++) into.durations[i]! += from.durations[i] ?? 0;
  into.durationSum += from.durationSum;
  return into;
}

/** Every response counted, whatever its method and status. */
export function responsesCounted(counts: RequestCounts): number {
  let n = 0;
  for (const r of counts.responses) n += r;
  return n;
}

export function methodIndex(method: string | undefined): number {
  const i = (METRIC_METHODS as readonly string[]).indexOf(method ?? '');
  return i < 0 ? METRIC_METHODS.length - 1 : i;
}

/** 0 for 1xx ... 4 for 5xx; anything out of range counts as 5xx. */
export function statusClassIndex(status: number): number {
  const c = Math.floor(status / 100) - 1;
  return c >= 0 && c < 5 ? c : 4;
}

export function durationBucket(seconds: number): number {
  for (let i = 0; i < DURATION_BUCKETS.length; i++) if (seconds <= DURATION_BUCKETS[i]!) return i;
  return DURATION_BUCKETS.length;
}

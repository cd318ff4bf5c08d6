// SPDX-License-Identifier: Apache-2.0
// Type definitions for shmstats (Node.js): prom-client's API over a shmstats
// shared-memory segment. Constructors and labels() throw on bad input (set-up);
// inc/dec/set/observe never throw and make no system call.

export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

/** Where a series lives: 'shared' (one series for every process, the default) or
 *  'process' (this process's own, summed by readers; folded into the shared series
 *  when the process exits, gauges dropped). */
export type Scope = 'shared' | 'process';

/** The library's exponential buckets: Prometheus native histograms' schema. */
export interface ExponentialBuckets {
  kind: 'exponential';
  min: number;
  max: number;
  /** -4..8: 2^schema buckets per power of two. */
  schema: number;
  /** |v| <= zeroThreshold counts in the zero bucket; 0: the smallest normal double. */
  zeroThreshold: number;
}

export interface MetricConfiguration<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** Segment name; default $SHMSTATS_SEGMENT or "shmstats". */
  segment?: string;
  scope?: Scope;
  unit?: string;
  /** Accepted for prom-client compatibility and ignored: the segment is the registry. */
  registers?: unknown[];
  aggregator?: string;
}

export interface MetricValue<T extends string> {
  labels: LabelValues<T>;
  value: number | { sum: number; count: number; buckets: number[] };
}

export interface MetricObject<T extends string> {
  name: string;
  help: string;
  type: string;
  values: MetricValue<T>[];
  aggregator: string;
}

declare abstract class Metric<T extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: T[];
  /** Forgets a child in this process; the series stays in the segment. */
  remove(...values: Array<string | number>): void;
  remove(labels: LabelValues<T>): void;
  /** Atomically zeroes every series of this name in the segment (all processes). */
  reset(): void;
  /** The values of the series this process has used. */
  get(): Promise<MetricObject<T>>;
}

export interface CounterChild {
  /** Adds n (default 1); negative, NaN and infinite amounts are ignored. */
  inc(n?: number): void;
}

export class Counter<T extends string = string> extends Metric<T> {
  constructor(config: MetricConfiguration<T>);
  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  labels(...values: Array<string | number>): CounterChild;
  labels(labels: LabelValues<T>): CounterChild;
}

export interface GaugeChild {
  set(value: number): void;
  inc(n?: number): void;
  dec(n?: number): void;
  setToCurrentTime(): void;
  /** Returns end(): sets the gauge to the seconds elapsed and returns them. */
  startTimer(): () => number;
}

export class Gauge<T extends string = string> extends Metric<T> {
  constructor(config: MetricConfiguration<T>);
  set(value: number): void;
  set(labels: LabelValues<T>, value: number): void;
  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  dec(value?: number): void;
  dec(labels: LabelValues<T>, value?: number): void;
  setToCurrentTime(labels?: LabelValues<T>): void;
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number;
  labels(...values: Array<string | number>): GaugeChild;
  labels(labels: LabelValues<T>): GaugeChild;
}

export interface HistogramChild {
  /** Counts v in its bucket and adds it to the sum; NaN is ignored. */
  observe(value: number): void;
  /** Returns end(): observes the seconds elapsed and returns them. */
  startTimer(): () => number;
}

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  /** Upper bounds (default prom-client's), or exponential({...}). */
  buckets?: readonly number[] | ExponentialBuckets;
}

export class Histogram<T extends string = string> extends Metric<T> {
  constructor(config: HistogramConfiguration<T>);
  observe(value: number): void;
  observe(labels: LabelValues<T>, value: number): void;
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number;
  zero(labels: LabelValues<T>): void;
  labels(...values: Array<string | number>): HistogramChild;
  labels(labels: LabelValues<T>): HistogramChild;
}

export interface SummaryConfiguration<T extends string> extends HistogramConfiguration<T> {
  /** Accepted and left to the readers, which compute any percentile from the buckets. */
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
}

/** prom-client's Summary where it fits: exponential buckets, exported as a histogram. */
export class Summary<T extends string = string> extends Histogram<T> {
  constructor(config: SummaryConfiguration<T>);
}

export function exponential(
    options?: { min?: number; max?: number; schema?: number; zeroThreshold?: number }):
    ExponentialBuckets;
export function linearBuckets(start: number, width: number, count: number): number[];
export function exponentialBuckets(start: number, factor: number, count: number): number[];
export const DEFAULT_BUCKETS: readonly number[];

export interface WithMetricsOptions {
  /** Label names and values of the three series. */
  labels?: Record<string, string | number>;
  help?: string;
  segment?: string;
  scope?: Scope;
  buckets?: readonly number[] | ExponentialBuckets;
}

/** fn wrapped: each call counts in <name>_calls_total, each throw or rejection in
 *  <name>_failures_total, its duration (to the promise's settling) in
 *  <name>_duration_seconds. Registers the metrics now (throws on bad input). */
export function withMetrics<A extends unknown[], R>(
    name: string, fn: (...args: A) => R, options?: WithMetricsOptions): (...args: A) => R;

/** Unmaps a segment; its metrics record nowhere afterwards. */
export function closeSegment(segment?: string): void;
/** Folds the process-scoped series of exited processes into their shared series. */
export function retireExited(segment?: string): number;

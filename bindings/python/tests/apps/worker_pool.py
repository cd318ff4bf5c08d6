# SPDX-License-Identifier: Apache-2.0
"""A worker-pool application instrumented for prometheus_client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR): test_worker_pool.py runs it as it is, and with only its
import line changed to shmstats, and compares what each exposes."""
import multiprocessing
import sys

from prometheus_client import Counter, Gauge, Histogram, Summary

JOBS = Counter("app_jobs", "Jobs done.", ["kind"])
BYTES = Counter("app_processed_bytes", "Bytes processed.", unit="bytes")
LATENCY = Histogram("app_job_seconds", "Job latency.", ["kind"], buckets=[0.1, 0.5, 1.0, 5.0])
SIZES = Summary("app_job_size", "Job sizes.")
INFLIGHT = Gauge("app_inflight", "Jobs in flight.", multiprocess_mode="livesum")
LARGEST = Gauge("app_largest_job", "Largest job a worker has seen.", multiprocess_mode="max")
largest = 0  # this worker's
TOTAL_QUEUED = Gauge("app_queued", "Jobs queued, by every worker.", multiprocess_mode="sum")


def work(job):
    global largest
    kind, size = job
    largest = max(largest, size)
    with INFLIGHT.track_inprogress():
        JOBS.labels(kind).inc()
        BYTES.inc(size * 0.25)
        LATENCY.labels(kind=kind).observe(size / 128)  # dyadic: sums exact in any order
        SIZES.observe(size)
        LARGEST.set(largest)
        TOTAL_QUEUED.inc(1)
    return size


def main(workers):
    jobs = [("read" if i % 3 else "write", i % 97 + 1) for i in range(600)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        total = sum(pool.map(work, jobs, chunksize=7))
    print(total)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)

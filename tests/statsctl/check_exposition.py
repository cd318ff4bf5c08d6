# SPDX-License-Identifier: Apache-2.0
"""Checks statsctl's exposition text beyond what promtool lints.

usage: check_exposition.py prometheus|openmetrics FILE

prometheus:  one HELP and TYPE per family, no series twice, every histogram's
             buckets cumulative and ending in le="+Inf" equal to _count.
openmetrics: the same, parsed by prometheus_client's strict OpenMetrics parser
             (which also requires "# EOF" and counters' _total samples).
"""
import math
import sys
from collections import Counter, defaultdict

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_prom


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    fmt, path = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8").read()
    meta = Counter(tuple(line.split(" ")[:3]) for line in text.splitlines()
                   if line.startswith("# HELP ") or line.startswith("# TYPE "))
    dup = [k for k, n in meta.items() if n > 1]
    if dup:
        fail(f"HELP/TYPE twice: {dup}")
    families = list(parse_om(text) if fmt == "openmetrics" else parse_prom(text))
    series = Counter()
    for fam in families:
        buckets = defaultdict(list)
        counts = {}
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            series[key] += 1
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            if s.name.endswith("_bucket"):
                buckets[labels].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count") and fam.type == "histogram":
                counts[labels] = s.value
        for labels, bs in buckets.items():
            les = [le for le, _ in bs]
            values = [v for _, v in bs]
            if les != sorted(les) or not math.isinf(les[-1]):
                fail(f"{fam.name}{labels}: buckets not ascending to +Inf: {les}")
            if values != sorted(values):
                fail(f"{fam.name}{labels}: buckets not cumulative: {values}")
            if fmt == "openmetrics" and labels not in counts:
                continue  # _count and _sum left out (negative buckets)
            if values[-1] != counts.get(labels):
                fail(f"{fam.name}{labels}: +Inf bucket {values[-1]} != _count {counts.get(labels)}")
    dup = [k for k, n in series.items() if n > 1]
    if dup:
        fail(f"series twice: {dup}")
    print(f"{len(families)} families, {len(series)} series ok")


main()

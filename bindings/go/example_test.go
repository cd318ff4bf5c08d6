// SPDX-License-Identifier: Apache-2.0
package shmstats_test

import (
	"log"

	shmstats "github.com/shmstats/shmstats/bindings/go"
)

func Example() {
	segment, err := shmstats.OpenOrCreate("shmstats", nil) // set-up: errors here
	if err != nil {
		log.Fatal(err)
	}
	requests := segment.MustNewCounterVec(shmstats.CounterOpts{
		Name: "http_requests_total", Help: "Requests served"}, []string{"method", "code"})
	latency := segment.MustNewHistogram(shmstats.HistogramOpts{
		Name: "http_request_seconds", Help: "Latency", Buckets: []float64{.01, .1, 1}})

	ok := requests.WithLabelValues("GET", "200") // keep the child: recording is one atomic add
	timer := shmstats.NewTimer(latency)
	ok.Inc()
	timer.ObserveDuration()
}

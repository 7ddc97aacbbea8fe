package main

import (
	"sort"
	"time"
)

// percentiles of latencies, in milliseconds: p50, p99, p99.9, max.
func percentiles(latencies []time.Duration) (p50, p99, p999, max float64) {
	if len(latencies) == 0 {
		return 0, 0, 0, 0
	}
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	at := func(q float64) float64 {
		i := int(q * float64(len(latencies)))
		if i >= len(latencies) {
			i = len(latencies) - 1
		}
		return ms(latencies[i])
	}
	return at(0.50), at(0.99), at(0.999), ms(latencies[len(latencies)-1])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	return sorted[len(sorted)/2]
}

// hookbench: the fast local webhook receiver and the paced order driver of
// bench/webhooks.sh (standard library only).
//
//	hookbench receive -port 9900          # POST anything: 204, latency = arrival - occurredAt
//	hookbench pace -url http://127.0.0.1:8080 -rate 1000 -duration 10s -tokens F -skus F
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hookbench receive|pace ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "receive":
		receive(os.Args[2:])
	case "pace":
		pace(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

type receiver struct {
	mu         sync.Mutex
	seen       map[string]bool
	latencies  []float64
	duplicates int
	first      time.Time
	last       time.Time
}

func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = map[string]bool{}
	r.latencies = r.latencies[:0]
	r.duplicates = 0
	r.first, r.last = time.Time{}, time.Time{}
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	index := int(p / 100 * float64(len(sorted)-1))
	return sorted[index]
}

func receive(args []string) {
	flags := flag.NewFlagSet("receive", flag.ExitOnError)
	port := flags.Int("port", 9900, "listen port")
	flags.Parse(args)
	r := &receiver{seen: map[string]bool{}}
	http.HandleFunc("/stats", func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		sorted := append([]float64(nil), r.latencies...)
		stats := map[string]any{"unique": len(r.seen), "duplicates": r.duplicates}
		if !r.first.IsZero() {
			stats["spanSeconds"] = r.last.Sub(r.first).Seconds()
			stats["firstUnixMs"] = r.first.UnixMilli()
			stats["lastUnixMs"] = r.last.UnixMilli()
		}
		r.mu.Unlock()
		sort.Float64s(sorted)
		stats["p50"], stats["p99"], stats["p999"] = percentile(sorted, 50), percentile(sorted, 99), percentile(sorted, 99.9)
		if len(sorted) > 0 {
			stats["max"] = sorted[len(sorted)-1]
		}
		json.NewEncoder(w).Encode(stats)
	})
	http.HandleFunc("/reset", func(w http.ResponseWriter, req *http.Request) {
		r.reset()
		w.WriteHeader(204)
	})
	http.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(req.Body)
		var event struct {
			ID         string `json:"id"`
			OccurredAt string `json:"occurredAt"`
		}
		json.Unmarshal(body, &event)
		occurred, err := time.Parse(time.RFC3339Nano, event.OccurredAt)
		r.mu.Lock()
		if r.seen[event.ID] {
			r.duplicates++
		} else {
			r.seen[event.ID] = true
			if err == nil {
				r.latencies = append(r.latencies, float64(now.Sub(occurred).Microseconds())/1000)
			}
		}
		if r.first.IsZero() {
			r.first = now
		}
		r.last = now
		r.mu.Unlock()
		w.WriteHeader(204)
	})
	fmt.Printf("listening on %d\n", *port)
	if err := http.ListenAndServe(fmt.Sprintf("127.0.0.1:%d", *port), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func lines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// pace POSTs orders at a fixed rate (open loop: a slow answer does not slow the
// schedule), each with a fresh Idempotency-Key.
func pace(args []string) {
	flags := flag.NewFlagSet("pace", flag.ExitOnError)
	base := flags.String("url", "http://127.0.0.1:8080", "server")
	rate := flags.Int("rate", 1000, "orders per second")
	duration := flags.Duration("duration", 10*time.Second, "how long")
	tokensFile := flags.String("tokens", "", "bearer tokens, one per line")
	skusFile := flags.String("skus", "", "SKU ids, one per line")
	flags.Parse(args)
	tokens, skus := lines(*tokensFile), lines(*skusFile)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 10 * time.Second}
	var sent, ok, failed int64
	var wait sync.WaitGroup
	var latencyMu sync.Mutex
	latencies := make([]float64, 0, 1<<16)
	prefix := fmt.Sprintf("pace-%d", time.Now().UnixNano())
	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	total := int(duration.Seconds() * float64(*rate))
	for i := 0; i < total; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		wait.Add(1)
		atomic.AddInt64(&sent, 1)
		go func(i int) {
			defer wait.Done()
			body := fmt.Sprintf(`{"items":[{"skuId":"%s","quantity":1}]}`, skus[rand.Intn(len(skus))])
			req, _ := http.NewRequest("POST", *base+"/api/v1/orders", bytes.NewBufferString(body))
			req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
			req.Header.Set("Idempotency-Key", fmt.Sprintf("%s-%d", prefix, i))
			req.Header.Set("Content-Type", "application/json")
			began := time.Now()
			resp, err := client.Do(req)
			latencyMu.Lock()
			latencies = append(latencies, float64(time.Since(began).Microseconds())/1000)
			latencyMu.Unlock()
			if err != nil {
				atomic.AddInt64(&failed, 1)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 201 {
				atomic.AddInt64(&ok, 1)
			} else {
				atomic.AddInt64(&failed, 1)
			}
		}(i)
	}
	wait.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(latencies)
	json.NewEncoder(os.Stdout).Encode(map[string]any{"sent": sent, "created": ok, "failed": failed, "seconds": elapsed,
		"rate": float64(ok) / elapsed, "p50": percentile(latencies, 50), "p99": percentile(latencies, 99)})
}

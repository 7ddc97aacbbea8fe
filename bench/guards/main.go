// guardbench: HTTP load for the guard-rail benchmarks (bench/guards.sh, bench/shedding.sh).
// Closed loop: each of -conns connections sends GET -path for -duration, optionally with a
// bearer token and signed as docs/security.md ("Signed requests") describes, a fresh nonce
// per request. With -orders TOKENS,SKUS it sends POST /api/v1/orders instead (a fresh
// Idempotency-Key each, buyers and SKUs in turn), and with -rate R it offers R requests a
// second whatever the answers take (open loop), as overload arrives in production.
// Prints one JSON line: requests, 2xx, 503s, other failures, seconds, p50/p99 of the 2xx in
// milliseconds.
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "server")
	path := flag.String("path", "/json", "path to GET")
	conns := flag.Int("conns", 32, "connections")
	duration := flag.Duration("duration", 10*time.Second, "how long")
	bearer := flag.String("bearer", "", "access token")
	key := flag.String("key", "", "signing key id")
	secret := flag.String("secret", "", "signing secret")
	orders := flag.String("orders", "", "TOKENS_FILE,SKUS_FILE: POST /api/v1/orders")
	rate := flag.Int("rate", 0, "requests per second offered (open loop); 0: closed loop")
	flag.Parse()
	if *orders != "" {
		runOrders(*base, *orders, *conns, *rate, *duration)
		return
	}

	emptyHash := sha256.Sum256(nil)
	bodyHash := hex.EncodeToString(emptyHash[:])
	transport := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	deadline := time.Now().Add(*duration)
	var mutex sync.Mutex
	var latencies []float64
	failures := 0
	var group sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conns; i++ {
		group.Add(1)
		go func() {
			defer group.Done()
			var mine []float64
			bad := 0
			nonce := make([]byte, 12)
			for time.Now().Before(deadline) {
				request, _ := http.NewRequest("GET", *base+*path, nil)
				if *bearer != "" {
					request.Header.Set("Authorization", "Bearer "+*bearer)
				}
				if *key != "" {
					rand.Read(nonce)
					n := hex.EncodeToString(nonce)
					ts := strconv.FormatInt(time.Now().Unix(), 10)
					message := strings.Join([]string{"SWIFTLET-HMAC-SHA256", "GET", *path, "", *key + ":" + ts + ":" + n, bodyHash}, "\n")
					mac := hmac.New(sha256.New, []byte(*secret))
					mac.Write([]byte(message))
					request.Header.Set("X-Swiftlet-Key", *key)
					request.Header.Set("X-Swiftlet-Timestamp", ts)
					request.Header.Set("X-Swiftlet-Nonce", n)
					request.Header.Set("X-Swiftlet-Signature", hex.EncodeToString(mac.Sum(nil)))
				}
				began := time.Now()
				response, err := client.Do(request)
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, response.Body)
				response.Body.Close()
				if response.StatusCode/100 != 2 {
					bad++
				}
				mine = append(mine, float64(time.Since(began).Microseconds())/1000)
			}
			mutex.Lock()
			latencies = append(latencies, mine...)
			failures += bad
			mutex.Unlock()
		}()
	}
	group.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(latencies)
	pick := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(float64(len(latencies)-1)*p)]
	}
	out, _ := json.Marshal(map[string]any{
		"requests": len(latencies), "non2xx": failures, "seconds": elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99),
	})
	fmt.Fprintln(os.Stdout, string(out))
}

func lines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return strings.Fields(string(data))
}

// runOrders drives POST /api/v1/orders, closed loop on conns connections or open loop at rate.
func runOrders(base, files string, conns, rate int, duration time.Duration) {
	parts := strings.SplitN(files, ",", 2)
	tokens, skus := lines(parts[0]), lines(parts[1])
	transport := &http.Transport{MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	var mutex sync.Mutex
	var good []float64
	shed, failed, counter := 0, 0, 0
	prefix := strconv.FormatInt(time.Now().UnixNano(), 36)
	send := func() {
		mutex.Lock()
		counter++
		n := counter
		mutex.Unlock()
		body := `{"items":[{"skuId":"` + skus[n%len(skus)] + `","quantity":1}]}`
		request, _ := http.NewRequest("POST", base+"/api/v1/orders", strings.NewReader(body))
		request.Header.Set("Authorization", "Bearer "+tokens[n%len(tokens)])
		request.Header.Set("Idempotency-Key", prefix+"-"+strconv.Itoa(n))
		request.Header.Set("Content-Type", "application/json")
		began := time.Now()
		response, err := client.Do(request)
		elapsed := float64(time.Since(began).Microseconds()) / 1000
		mutex.Lock()
		defer mutex.Unlock()
		if err != nil {
			failed++
			return
		}
		io.Copy(io.Discard, response.Body)
		response.Body.Close()
		switch {
		case response.StatusCode/100 == 2:
			good = append(good, elapsed)
		case response.StatusCode == 503:
			shed++
		default:
			failed++
		}
	}
	start := time.Now()
	deadline := start.Add(duration)
	var group sync.WaitGroup
	if rate > 0 {
		interval := time.Second / time.Duration(rate)
		next := start
		for next.Before(deadline) {
			group.Add(1)
			go func() { defer group.Done(); send() }()
			next = next.Add(interval)
			time.Sleep(time.Until(next))
		}
	} else {
		for i := 0; i < conns; i++ {
			group.Add(1)
			go func() {
				defer group.Done()
				for time.Now().Before(deadline) {
					send()
				}
			}()
		}
	}
	offeredSeconds := time.Since(start).Seconds()
	group.Wait()
	// Goodput is counted until the last answer: orders still being served after the
	// offering stopped count, and so does the time they took.
	offeredSeconds = time.Since(start).Seconds()
	sort.Float64s(good)
	pick := func(p float64) float64 {
		if len(good) == 0 {
			return 0
		}
		return good[int(float64(len(good)-1)*p)]
	}
	out, _ := json.Marshal(map[string]any{
		"requests": counter, "ok": len(good), "shed": shed, "failed": failed, "seconds": offeredSeconds,
		"p50_ms": pick(0.5), "p99_ms": pick(0.99),
	})
	fmt.Fprintln(os.Stdout, string(out))
}

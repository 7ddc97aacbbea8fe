// guardbench: closed-loop HTTP load for the guard-rail benchmark (bench/guards.sh). Each
// of -conns connections sends GET -path for -duration, optionally with a bearer token and
// signed as docs/security.md ("Signed requests") describes, a fresh nonce per request.
// Prints one JSON line: requests, non-2xx, seconds, p50/p99 in milliseconds.
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
	flag.Parse()

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

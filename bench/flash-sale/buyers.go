// Command buyers is the flash-sale load: one goroutine and one fresh TCP connection per
// buyer, all released at once, each sending one POST /api/v1/orders for the flash-sale
// SKU with its own token and Idempotency-Key. It prints one JSON object: how long until
// every buyer had an answer, answer-time percentiles, and the answers by status and code.
//
//	buyers -url http://127.0.0.1:8080 -sku k_… -tokens FILE [-timeout 60s]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

type answer struct {
	status  int
	code    string
	elapsed time.Duration
	err     string
}

var codePattern = regexp.MustCompile(`"code"\s*:\s*"([^"]+)"`)

func main() {
	url := flag.String("url", "", "Swiftlet's base URL")
	sku := flag.String("sku", "", "the flash-sale SKU")
	tokensFile := flag.String("tokens", "", "one access token per line, one buyer each")
	timeout := flag.Duration("timeout", 60*time.Second, "a buyer without an answer after this long counts as timed out")
	flag.Parse()
	raw, err := os.ReadFile(*tokensFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tokens := strings.Fields(string(raw))
	body := []byte(fmt.Sprintf(`{"items":[{"skuId":%q,"quantity":1}]}`, *sku))
	answers := make([]answer, len(tokens))
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(len(tokens))
	done.Add(len(tokens))
	for index, token := range tokens {
		go func(index int, token string) {
			defer done.Done()
			// A client of its own without keep-alive: every buyer is a new connection.
			client := &http.Client{Timeout: *timeout, Transport: &http.Transport{DisableKeepAlives: true}}
			request, _ := http.NewRequest("POST", *url+"/api/v1/orders", bytes.NewReader(body))
			request.Header.Set("Authorization", "Bearer "+token)
			request.Header.Set("Content-Type", "application/json")
			request.Header.Set("Idempotency-Key", fmt.Sprintf("flash-%d", index))
			ready.Done()
			<-start
			began := time.Now()
			response, err := client.Do(request)
			if err != nil {
				answers[index] = answer{elapsed: time.Since(began), err: err.Error()}
				return
			}
			text, _ := io.ReadAll(response.Body)
			response.Body.Close()
			code := ""
			if match := codePattern.FindSubmatch(text); match != nil {
				code = string(match[1])
			}
			answers[index] = answer{status: response.StatusCode, code: code, elapsed: time.Since(began)}
		}(index, token)
	}
	ready.Wait()
	began := time.Now()
	close(start)
	done.Wait()
	total := time.Since(began)

	elapsed := make([]float64, 0, len(answers))
	outcomes := map[string]int{}
	errors := map[string]int{}
	for _, a := range answers {
		elapsed = append(elapsed, float64(a.elapsed.Microseconds())/1000)
		switch {
		case a.err != "":
			outcomes["error"]++
			if len(errors) < 5 {
				errors[a.err]++
			}
		case a.code != "":
			outcomes[fmt.Sprintf("%d %s", a.status, a.code)]++
		default:
			outcomes[fmt.Sprint(a.status)]++
		}
	}
	sort.Float64s(elapsed)
	percentile := func(p float64) float64 { return elapsed[int(p*float64(len(elapsed)-1))] }
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"buyers": len(tokens), "all_answered_ms": float64(total.Microseconds()) / 1000,
		"p50_ms": percentile(0.5), "p99_ms": percentile(0.99), "max_ms": elapsed[len(elapsed)-1],
		"outcomes": outcomes, "errors": errors,
	})
}

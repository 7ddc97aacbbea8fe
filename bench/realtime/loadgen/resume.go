package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type resumeRound struct {
	SendSeconds float64 `json:"sendSeconds"`
	CatchUpMs   float64 `json:"catchUpMs"`
	Received    int     `json:"received"`
	InOrder     bool    `json:"inOrder"`
	Complete    bool    `json:"complete"`
}

type resumeResult struct {
	Mode         string        `json:"mode"`
	Messages     int           `json:"messages"`
	Rounds       []resumeRound `json:"rounds"`
	MedianMs     float64       `json:"medianCatchUpMs"`
	BestMs       float64       `json:"bestCatchUpMs"`
	AllComplete  bool          `json:"allCompleteInOrder"`
	MessagesPerS float64       `json:"messagesPerSecond"`
}

// runResume: per round, a fresh user receives cfg.messages DMs while offline, then connects
// with since=0; the time from dialing to caught_up is measured and every message checked.
func runResume(cfg config) (*resumeResult, error) {
	r := &resumeResult{Mode: "resume", Messages: cfg.messages, AllComplete: true}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var times []float64
	for round := 0; round < cfg.rounds; round++ {
		who, err := identities(cfg, 2, "resume"+strconv.Itoa(round))
		if err != nil {
			return nil, err
		}
		recipient, sender := who[0], who[1]
		prefix := fmt.Sprintf("%s.r%d.", cfg.run, round)
		sent := time.Now()
		if err := sendOffline(client, cfg.base, sender, recipient, prefix, cfg.messages); err != nil {
			return nil, err
		}
		rr, err := catchUp(cfg, recipient, prefix)
		if err != nil {
			return nil, err
		}
		rr.SendSeconds = time.Since(sent).Seconds() - rr.CatchUpMs/1000
		r.Rounds = append(r.Rounds, rr)
		r.AllComplete = r.AllComplete && rr.Complete && rr.InOrder
		times = append(times, rr.CatchUpMs)
		progress("round %d: %d messages caught up in %.1f ms (complete=%v, in order=%v)", round+1, rr.Received, rr.CatchUpMs, rr.Complete, rr.InOrder)
	}
	r.MedianMs = median(times)
	r.BestMs = times[0]
	for _, t := range times {
		if t < r.BestMs {
			r.BestMs = t
		}
	}
	if r.MedianMs > 0 {
		r.MessagesPerS = float64(cfg.messages) / (r.MedianMs / 1000)
	}
	return r, nil
}

// sendOffline POSTs n DMs, 8 at a time; the server's seq fixes their order.
func sendOffline(client *http.Client, base string, sender, recipient identity, prefix string, n int) error {
	var next int64 = -1
	var failure atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failure.Load() == nil {
				i := int(atomic.AddInt64(&next, 1))
				if i >= n {
					return
				}
				body := `{"to":` + strconv.Quote(recipient.id) + `,"text":"offline ` + strconv.Itoa(i) +
					`","clientMsgId":"` + prefix + strconv.Itoa(i) + `"}`
				request, _ := http.NewRequest(http.MethodPost, base+"/api/v1/messages", strings.NewReader(body))
				request.Header.Set("Authorization", "Bearer "+sender.token)
				request.Header.Set("Content-Type", "application/json")
				response, err := client.Do(request)
				if err == nil {
					response.Body.Close()
					if response.StatusCode != http.StatusCreated {
						err = fmt.Errorf("POST /api/v1/messages answered %d", response.StatusCode)
					}
				}
				if err != nil {
					failure.Store(err)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failure.Load().(error); ok {
		return err
	}
	return nil
}

func catchUp(cfg config, who identity, prefix string) (resumeRound, error) {
	var rr resumeRound
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	started := time.Now()
	conn, err := open(ctx, newDialers(cfg.perSource).forConnection(0), cfg.base, who, 0, "resume")
	if err != nil {
		return rr, err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	seen := make(map[string]bool, cfg.messages)
	rr.InOrder = true
	var lastSeq int64
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return rr, fmt.Errorf("resume: connection ended before caught_up: %w", err)
		}
		var fr frame
		if json.Unmarshal(data, &fr) != nil {
			continue
		}
		if fr.Type == "caught_up" {
			rr.CatchUpMs = ms(time.Since(started))
			break
		}
		if fr.Type != "message" || fr.Kind != "dm" || !strings.HasPrefix(fr.Payload.ClientMsgID, prefix) {
			continue
		}
		if fr.Seq <= lastSeq || seen[fr.Payload.ClientMsgID] {
			rr.InOrder = false
		}
		lastSeq = fr.Seq
		seen[fr.Payload.ClientMsgID] = true
		rr.Received++
	}
	rr.Complete = len(seen) == cfg.messages
	return rr, nil
}

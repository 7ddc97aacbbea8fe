package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type stepResult struct {
	Rate              int     `json:"rate"`
	Planned           int     `json:"planned"`
	Posted            int64   `json:"posted"`
	PostErrors        int64   `json:"postErrors"`
	FirstError        string  `json:"firstError,omitempty"`
	Received          int64   `json:"received"`
	Lost              int64   `json:"lost"`
	Duplicates        int64   `json:"duplicates"`
	Misrouted         int64   `json:"misrouted"`
	AchievedRate      float64 `json:"achievedRate"`
	SendLagP99        float64 `json:"sendLagP99Ms"`
	P50               float64 `json:"p50Ms"`
	P99               float64 `json:"p99Ms"`
	P999              float64 `json:"p999Ms"`
	Max               float64 `json:"maxMs"`
	ServerCPUSeconds  float64 `json:"serverCpuSeconds"`
	CPUMicrosPerMsg   float64 `json:"cpuMicrosPerMessage"`
	LoadgenCPUSeconds float64 `json:"loadgenCpuSeconds"`
	ForeignCores      float64 `json:"foreignCores"`
	Held              bool    `json:"held"`
	// Disturbed: other processes kept at least -foreign-max cores busy during the step.
	Disturbed bool `json:"disturbed"`
}

type deliveryResult struct {
	Mode           string       `json:"mode"`
	Users          int          `json:"users"`
	Connected      int64        `json:"connected"`
	Failed         int64        `json:"failed"`
	FirstError     string       `json:"firstError,omitempty"`
	ConnectSeconds float64      `json:"connectSeconds"`
	StepSeconds    float64      `json:"stepSeconds"`
	P99Max         float64      `json:"p99MaxMs"`
	Steps          []stepResult `json:"steps"`
	MaxHeldRate    int          `json:"maxHeldRate"`
	Dropped        int64        `json:"droppedConnections"`
	OtherFrames    int64        `json:"otherFrames"`
	// SenderCopies: frames about a DM that reached its sender's connection (Swiftlet's
	// dm.sent copy); the peers send none.
	SenderCopies int64 `json:"senderCopies"`
}

// step is one rate's messages: when each was due, sent and received, and to whom.
type step struct {
	index   int
	start   time.Time
	startNs int64 // start, in ns since base
	rate    int
	to      []int32
	dueAt   []int64 // ns since base
	sentAt  []int64 // ns since base, 0 until the POST starts
	recvAt  []int64 // ns since base, 0 until the recipient's socket has it
	posted  []int32 // 1 after a 201
	errors  atomic.Int64
	dups    atomic.Int64
	misrout atomic.Int64
	errMu   sync.Mutex
	firstEr string
	pending sync.WaitGroup
}

// runDelivery connects cfg.users users, then for each rate POSTs DMs between random users
// for cfg.step and measures POST-start → recipient-socket latency and loss.
func runDelivery(cfg config) (*deliveryResult, error) {
	who, err := identities(cfg, cfg.users, "dm")
	if err != nil {
		return nil, err
	}
	base := time.Now()
	var steps [64]atomic.Pointer[step]
	var other, senderCopies atomic.Int64
	prefix := cfg.run + "."
	onFrame := func(i int, fr *frame) {
		now := int64(time.Since(base))
		if !strings.HasPrefix(fr.Payload.ClientMsgID, prefix) {
			other.Add(1)
			return
		}
		if fr.Type != "message" || fr.Kind != "dm" || fr.Payload.To != who[i].id {
			senderCopies.Add(1)
			return
		}
		parts := strings.Split(fr.Payload.ClientMsgID[len(prefix):], ".")
		if len(parts) != 2 {
			other.Add(1)
			return
		}
		si, _ := strconv.Atoi(parts[0])
		idx, _ := strconv.Atoi(parts[1])
		st := steps[si%len(steps)].Load()
		if st == nil || idx < 0 || idx >= len(st.recvAt) {
			other.Add(1)
			return
		}
		if int(st.to[idx]) != i {
			st.misrout.Add(1)
			return
		}
		if !atomic.CompareAndSwapInt64(&st.recvAt[idx], 0, now) {
			st.dups.Add(1)
		}
	}
	progress("connecting %d users", len(who))
	f, elapsed := connect(cfg.base, who, cfg.dialConcurrency, cfg.perSource, cfg.connectTimeout, onFrame)
	defer f.close()
	r := &deliveryResult{Mode: "delivery", Users: cfg.users, Connected: f.readyN.Load(), Failed: f.failed.Load(),
		FirstError: f.firstError(), ConnectSeconds: elapsed.Seconds(), StepSeconds: cfg.step.Seconds(), P99Max: ms(cfg.p99Max)}
	progress("%d users caught up in %.1f s (%d failed%s)", r.Connected, r.ConnectSeconds, r.Failed, suffix(r.FirstError))
	if r.Failed > 0 {
		return nil, fmt.Errorf("%d of %d users could not connect: %s", r.Failed, cfg.users, r.FirstError)
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.workers, MaxConnsPerHost: cfg.workers, DisableCompression: true}}
	type job struct {
		st  *step
		idx int
	}
	jobs := make(chan job, 1<<20)
	for w := 0; w < cfg.workers; w++ {
		go func() {
			for j := range jobs {
				post(client, cfg.base, who, j.st, j.idx, prefix, base)
				j.st.pending.Done()
			}
		}()
	}
	defer close(jobs)

	attempt := 0
	runStep := func(rate int) stepResult {
		si := attempt
		attempt++
		total := int(float64(rate) * cfg.step.Seconds())
		st := &step{index: si, rate: rate, to: make([]int32, total), dueAt: make([]int64, total), sentAt: make([]int64, total),
			recvAt: make([]int64, total), posted: make([]int32, total)}
		steps[si%len(steps)].Store(st)
		rng := rand.New(rand.NewSource(int64(si) + 1))
		before := sampleCPU(cfg.pid)
		st.start = time.Now()
		st.startNs = int64(st.start.Sub(base))
		st.pending.Add(total)
		ticker := time.NewTicker(time.Millisecond)
		for next := 0; next < total; {
			due := int(time.Since(st.start).Seconds()*float64(rate)) + 1
			if due > total {
				due = total
			}
			for ; next < due; next++ {
				st.to[next] = int32(rng.Intn(len(who)))
				st.dueAt[next] = st.startNs + int64(next)*int64(time.Second)/int64(rate)
				jobs <- job{st, next}
			}
			<-ticker.C
		}
		ticker.Stop()
		window := time.Since(st.start)
		st.pending.Wait()
		deadline := time.Now().Add(cfg.drain)
		for time.Now().Before(deadline) && received(st) < postedCount(st) {
			time.Sleep(10 * time.Millisecond)
		}
		res := summarize(st, window, cfg)
		res.ServerCPUSeconds, res.LoadgenCPUSeconds, res.ForeignCores = usage(before, sampleCPU(cfg.pid))
		if res.Posted > 0 {
			res.CPUMicrosPerMsg = res.ServerCPUSeconds * 1e6 / float64(res.Posted)
		}
		progress("%5d msg/s: p50 %.2f ms, p99 %.2f ms, max %.1f ms; %d posted, %d errors, %d lost; sent at %.0f/s (lag p99 %.1f ms); %.1f µs server CPU/msg; others %.2f cores; held=%v",
			rate, res.P50, res.P99, res.Max, res.Posted, res.PostErrors, res.Lost, res.AchievedRate, res.SendLagP99, res.CPUMicrosPerMsg, res.ForeignCores, res.Held)
		time.Sleep(cfg.pause)
		return res
	}

	for _, rate := range cfg.rates {
		res := runStep(rate)
		// A step lost while other processes kept the shared cores busy says little about
		// the server: it is run again (the disturbed attempt stays in the result).
		for retry := 0; !res.Held && res.ForeignCores >= cfg.foreignMax && retry < cfg.retries; retry++ {
			res.Disturbed = true
			r.Steps = append(r.Steps, res)
			progress("%5d msg/s: others kept %.2f cores busy; running the step again when they calm down", rate, res.ForeignCores)
			waitQuiet(cfg)
			res = runStep(rate)
		}
		res.Disturbed = res.ForeignCores >= cfg.foreignMax
		r.Steps = append(r.Steps, res)
		if res.Held {
			r.MaxHeldRate = rate
		} else if !cfg.keepGoing {
			break
		}
	}
	r.Dropped = f.closed.Load()
	r.OtherFrames = other.Load()
	r.SenderCopies = senderCopies.Load()
	return r, nil
}

// post sends DM idx of st from a random other user to its recipient.
func post(client *http.Client, baseURL string, who []identity, st *step, idx int, prefix string, base time.Time) {
	to := int(st.to[idx])
	from := (to + 1 + int(uint32(idx)*2654435761%uint32(len(who)-1))) % len(who)
	body := `{"to":` + strconv.Quote(who[to].id) + `,"text":"hello ` + strconv.FormatInt(time.Now().UnixNano(), 10) +
		`","clientMsgId":"` + prefix + strconv.Itoa(st.index) + "." + strconv.Itoa(idx) + `"}`
	request, _ := http.NewRequest(http.MethodPost, baseURL+"/api/v1/messages", bytes.NewReader([]byte(body)))
	request.Header.Set("Authorization", "Bearer "+who[from].token)
	request.Header.Set("Content-Type", "application/json")
	atomic.StoreInt64(&st.sentAt[idx], int64(time.Since(base)))
	response, err := client.Do(request)
	if err == nil {
		io.Copy(io.Discard, response.Body)
		response.Body.Close()
		if response.StatusCode != http.StatusCreated {
			err = fmt.Errorf("POST /api/v1/messages answered %d", response.StatusCode)
		}
	}
	if err != nil {
		st.errors.Add(1)
		st.errMu.Lock()
		if st.firstEr == "" {
			st.firstEr = err.Error()
		}
		st.errMu.Unlock()
		return
	}
	atomic.StoreInt32(&st.posted[idx], 1)
}

func received(st *step) (n int64) {
	for i := range st.recvAt {
		if atomic.LoadInt64(&st.recvAt[i]) != 0 {
			n++
		}
	}
	return n
}

func postedCount(st *step) (n int64) {
	for i := range st.posted {
		n += int64(atomic.LoadInt32(&st.posted[i]))
	}
	return n
}

func summarize(st *step, window time.Duration, cfg config) stepResult {
	res := stepResult{Rate: st.rate, Planned: len(st.to), PostErrors: st.errors.Load(), FirstError: st.firstEr,
		Duplicates: st.dups.Load(), Misrouted: st.misrout.Load()}
	var latencies, lags []time.Duration
	var onTime int
	windowEnd := st.startNs + int64(window)
	for i := range st.to {
		sent := atomic.LoadInt64(&st.sentAt[i])
		lags = append(lags, time.Duration(sent-st.dueAt[i]))
		if sent <= windowEnd {
			onTime++
		}
		if st.posted[i] == 0 {
			continue
		}
		res.Posted++
		if recv := atomic.LoadInt64(&st.recvAt[i]); recv != 0 {
			res.Received++
			latencies = append(latencies, time.Duration(recv-sent))
		} else {
			res.Lost++
		}
	}
	res.AchievedRate = float64(onTime) / window.Seconds()
	_, res.SendLagP99, _, _ = percentiles(lags)
	res.P50, res.P99, res.P999, res.Max = percentiles(latencies)
	res.Held = res.PostErrors == 0 && res.Lost == 0 && res.Misrouted == 0 && res.Posted == int64(res.Planned) &&
		res.P99 < ms(cfg.p99Max) && res.SendLagP99 < ms(cfg.p99Max)
	return res
}

// waitQuiet waits (up to cfg.quietWait) until other processes keep fewer than
// cfg.foreignMax cores busy over 3 s.
func waitQuiet(cfg config) {
	deadline := time.Now().Add(cfg.quietWait)
	for {
		before := sampleCPU(cfg.pid)
		time.Sleep(3 * time.Second)
		_, _, foreign := usage(before, sampleCPU(cfg.pid))
		if foreign < cfg.foreignMax || time.Now().After(deadline) {
			return
		}
	}
}

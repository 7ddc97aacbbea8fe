// Load generator for bench/realtime.sh: drives the tiny realtime protocol (bench/README.md)
// against a peer or Swiftlet and prints one JSON result on stdout (progress on stderr).
//
//	loadgen -mode idle     -url http://127.0.0.1:8201 -pid 1234 -conns 50000 -idle 60s
//	loadgen -mode delivery -url … -pid … -users 10000 -rates 500,1000,2000,4000,8000 -step 15s
//	loadgen -mode resume   -url … -messages 1000 -rounds 5
//
// -auth jwt mints HS256 tokens with BENCH_JWT_SECRET (the peers); -auth swiftlet logs sandbox
// users in through POST /api/v1/auth/wechat/login before anything is measured.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

type config struct {
	mode, base, auth, secret, run string
	pid                           int
	conns, users                  int
	idle, step, pause, drain      time.Duration
	rates                         []int
	p99Max                        time.Duration
	keepGoing                     bool
	foreignMax                    float64
	retries                       int
	quietWait                     time.Duration
	workers, senders              int
	messages, rounds              int
	perSource, dialConcurrency    int
	loginConcurrency              int
	connectTimeout                time.Duration
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "  loadgen: "+format+"\n", args...)
}

func main() {
	var cfg config
	var rates string
	flag.StringVar(&cfg.mode, "mode", "", "idle, delivery or resume")
	flag.StringVar(&cfg.base, "url", "http://127.0.0.1:8201", "server base URL")
	flag.StringVar(&cfg.auth, "auth", "jwt", "jwt (mint tokens with BENCH_JWT_SECRET) or swiftlet (sandbox logins)")
	flag.IntVar(&cfg.pid, "pid", 0, "server process id, for RSS and CPU")
	flag.IntVar(&cfg.conns, "conns", 50000, "idle: connections")
	flag.DurationVar(&cfg.idle, "idle", 60*time.Second, "idle: how long the connections sit")
	flag.IntVar(&cfg.users, "users", 10000, "delivery: connected users")
	flag.StringVar(&rates, "rates", "500,1000,2000,4000,8000", "delivery: messages per second, one step each")
	flag.DurationVar(&cfg.step, "step", 15*time.Second, "delivery: length of each step")
	flag.DurationVar(&cfg.pause, "pause", 2*time.Second, "delivery: pause between steps")
	flag.DurationVar(&cfg.drain, "drain", 3*time.Second, "delivery: how long to wait for stragglers after a step")
	flag.DurationVar(&cfg.p99Max, "p99-max", 50*time.Millisecond, "delivery: a step is held when p99 stays below this, with no loss")
	flag.BoolVar(&cfg.keepGoing, "keep-going", false, "delivery: run every step even after one was not held")
	flag.Float64Var(&cfg.foreignMax, "foreign-max", 0.25, "delivery: cores other processes may keep busy before a lost step is run again")
	flag.IntVar(&cfg.retries, "retries", 2, "delivery: times a disturbed, lost step is run again")
	flag.DurationVar(&cfg.quietWait, "quiet-wait", time.Minute, "delivery: how long to wait for other processes to calm down before a rerun")
	flag.IntVar(&cfg.workers, "workers", 256, "delivery: concurrent POSTs at most")
	flag.IntVar(&cfg.messages, "messages", 1000, "resume: messages sent while offline")
	flag.IntVar(&cfg.rounds, "rounds", 5, "resume: rounds (fresh users each)")
	flag.IntVar(&cfg.perSource, "per-source", 20000, "connections per source address (127.0.0.2, .3, …)")
	flag.IntVar(&cfg.dialConcurrency, "dial-concurrency", 128, "connections being opened at once")
	flag.IntVar(&cfg.loginConcurrency, "login-concurrency", 64, "swiftlet: logins at once")
	flag.DurationVar(&cfg.connectTimeout, "connect-timeout", 10*time.Minute, "time allowed to open and catch up every connection")
	flag.Parse()
	cfg.secret = os.Getenv("BENCH_JWT_SECRET")
	cfg.run = strconv.FormatInt(time.Now().UnixNano()/1e6, 36)
	for _, r := range strings.Split(rates, ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(r)); err == nil && v > 0 {
			cfg.rates = append(cfg.rates, v)
		}
	}
	var result any
	var err error
	switch cfg.mode {
	case "idle":
		result, err = runIdle(cfg)
	case "delivery":
		result, err = runDelivery(cfg)
	case "resume":
		result, err = runResume(cfg)
	default:
		err = fmt.Errorf("-mode must be idle, delivery or resume")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(result, "", "  ")
	fmt.Println(string(out))
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// ipBindAddressNoPort (IP_BIND_ADDRESS_NO_PORT) lets the kernel pick the source port at
// connect time, per destination, instead of reserving it at bind time: with a fixed source
// address, that is what keeps tens of thousands of connections from running out of ports.
const ipBindAddressNoPort = 24

// frame is what the load generator reads of a server frame.
type frame struct {
	Type    string `json:"type"`
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"`
	Payload struct {
		ID          string `json:"id"`
		To          string `json:"to"`
		ClientMsgID string `json:"clientMsgId"`
	} `json:"payload"`
}

// dialers spreads connections over source addresses 127.0.0.2, 127.0.0.3, … with
// perSource connections each.
type dialers struct {
	perSource int
	mu        sync.Mutex
	bySource  map[int]*websocket.Dialer
}

func newDialers(perSource int) *dialers {
	return &dialers{perSource: perSource, bySource: make(map[int]*websocket.Dialer)}
}

func (d *dialers) forConnection(i int) *websocket.Dialer {
	source := i / d.perSource
	d.mu.Lock()
	defer d.mu.Unlock()
	if dialer := d.bySource[source]; dialer != nil {
		return dialer
	}
	ip := net.IPv4(127, 0, byte(source/253), byte(2+source%253))
	netDialer := &net.Dialer{Timeout: 15 * time.Second, LocalAddr: &net.TCPAddr{IP: ip},
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1) })
		}}
	dialer := &websocket.Dialer{NetDialContext: netDialer.DialContext, HandshakeTimeout: 30 * time.Second,
		ReadBufferSize: 1024, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}}
	d.bySource[source] = dialer
	return dialer
}

// realtimeURL is the WebSocket address for a resume point.
func realtimeURL(base string, since int64, device string) string {
	return "ws" + strings.TrimPrefix(base, "http") + fmt.Sprintf("/api/v1/realtime?since=%d&device=%s", since, device)
}

// open connects one user and returns once the handshake is done; frames are then read by
// read until the connection ends.
func open(ctx context.Context, dialer *websocket.Dialer, base string, who identity, since int64, device string) (*websocket.Conn, error) {
	header := http.Header{"Authorization": {"Bearer " + who.token}}
	conn, response, err := dialer.DialContext(ctx, realtimeURL(base, since, device), header)
	if err != nil {
		if response != nil {
			return nil, fmt.Errorf("upgrade answered %d", response.StatusCode)
		}
		return nil, err
	}
	return conn, nil
}

// fleet is a set of connections, one per identity, each read by its own goroutine; the
// pings the server sends are answered by gorilla's default ping handler while reading.
type fleet struct {
	conns   []*websocket.Conn
	ready   sync.WaitGroup
	readyN  atomic.Int64
	failed  atomic.Int64
	closed  atomic.Int64
	errMu   sync.Mutex
	firstEr string
}

func (f *fleet) fail(err error) {
	f.failed.Add(1)
	f.errMu.Lock()
	if f.firstEr == "" {
		f.firstEr = err.Error()
	}
	f.errMu.Unlock()
}

// connect opens one connection per identity, concurrency at a time, and waits (up to
// timeout) until each is caught up; onFrame sees every frame after caught_up.
func connect(base string, who []identity, concurrency int, perSource int, timeout time.Duration,
	onFrame func(i int, f *frame)) (*fleet, time.Duration) {
	f := &fleet{conns: make([]*websocket.Conn, len(who))}
	d := newDialers(perSource)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	started := time.Now()
	var next int64 = -1
	var dialing sync.WaitGroup
	f.ready.Add(len(who))
	for w := 0; w < concurrency; w++ {
		dialing.Add(1)
		go func() {
			defer dialing.Done()
			for {
				i := int(atomic.AddInt64(&next, 1))
				if i >= len(who) {
					return
				}
				conn, err := open(ctx, d.forConnection(i), base, who[i], 0, "bench")
				if err != nil {
					f.fail(err)
					f.ready.Done()
					continue
				}
				f.conns[i] = conn
				go f.read(i, conn, onFrame)
			}
		}()
	}
	waited := make(chan struct{})
	go func() { f.ready.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	elapsed := time.Since(started)
	dialing.Wait()
	if n := int64(len(who)) - f.readyN.Load() - f.failed.Load(); n > 0 {
		f.fail(fmt.Errorf("%d connections not caught up within %s", n, timeout))
	}
	return f, elapsed
}

func (f *fleet) read(i int, conn *websocket.Conn, onFrame func(i int, f *frame)) {
	caughtUp := false
	defer func() {
		if !caughtUp {
			f.fail(fmt.Errorf("connection closed before caught_up"))
			f.ready.Done()
		} else {
			f.closed.Add(1)
		}
	}()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var fr frame
		if json.Unmarshal(data, &fr) != nil {
			continue
		}
		if !caughtUp {
			if fr.Type == "caught_up" {
				caughtUp = true
				f.readyN.Add(1)
				f.ready.Done()
			}
			continue
		}
		if onFrame != nil {
			onFrame(i, &fr)
		}
	}
}

func (f *fleet) close() {
	for _, conn := range f.conns {
		if conn != nil {
			conn.Close()
		}
	}
}

func (f *fleet) firstError() string {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	return f.firstEr
}

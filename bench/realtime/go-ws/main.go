// Realtime peer in Go for bench/realtime.sh: gorilla/websocket (Debian package), standard
// library HTTP, one process. Speaks the benchmark's tiny protocol (bench/README.md):
//
//	GET  /api/v1/realtime?since=S&device=D   WebSocket; welcome, stored messages after S, caught_up, live
//	POST /api/v1/messages {to,text,clientMsgId}   201 {id,seq,createdAt}
//
// Users are HS256 JWTs signed with BENCH_JWT_SECRET (sub = user id). Messages are kept in
// memory, the last 1,000 per user. PORT (default 8201), binds 127.0.0.1.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const (
	pingEvery = 25 * time.Second
	pongWait  = 60 * time.Second
	writeWait = 10 * time.Second
)

type server struct {
	secret   []byte
	hub      *hub
	upgrader websocket.Upgrader
	nextID   atomic.Uint64
}

type messageFrame struct {
	Type      string  `json:"type"`
	Seq       int64   `json:"seq"`
	Kind      string  `json:"kind"`
	Payload   payload `json:"payload"`
	CreatedAt string  `json:"createdAt"`
}

type payload struct {
	ID          string `json:"id"`
	From        string `json:"from"`
	To          string `json:"to"`
	Text        string `json:"text"`
	ClientMsgID string `json:"clientMsgId"`
}

func main() {
	secret := os.Getenv("BENCH_JWT_SECRET")
	if len(secret) < 32 {
		log.Fatal("BENCH_JWT_SECRET must be at least 32 bytes")
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8201"
	}
	s := &server{secret: []byte(secret), hub: newHub(), upgrader: websocket.Upgrader{
		ReadBufferSize: 1024, WriteBufferSize: 1024,
		// Idle connections hold no write buffer (gorilla's advice for many quiet connections).
		WriteBufferPool: &sync.Pool{},
		// Mini-program clients send no browser Origin to check.
		CheckOrigin: func(*http.Request) bool { return true },
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/realtime", s.realtime)
	mux.HandleFunc("/api/v1/messages", s.messages)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, mux))
}

func (s *server) authenticate(r *http.Request) (string, bool) {
	sub, err := verifyToken(bearer(r.Header.Get("Authorization")), s.secret, time.Now())
	return sub, err == nil
}

func (s *server) realtime(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.authenticate(r)
	if !ok {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	u := s.hub.user(sub)
	c := &client{send: make(chan []byte, sendQueue)}
	seq, backlog := u.attach(c, since)
	go writeLoop(conn, c, seq, backlog)

	conn.SetReadLimit(4096)
	conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		if _, _, err := conn.NextReader(); err != nil {
			break
		}
	}
	u.detach(c)
}

// writeLoop sends welcome, the stored messages, caught_up, then live frames and pings,
// until the connection's queue is closed (detached or too slow).
func writeLoop(conn *websocket.Conn, c *client, seq int64, backlog [][]byte) {
	ticker := time.NewTicker(pingEvery)
	defer func() {
		ticker.Stop()
		conn.Close()
	}()
	write := func(frame []byte) bool {
		conn.SetWriteDeadline(time.Now().Add(writeWait))
		return conn.WriteMessage(websocket.TextMessage, frame) == nil
	}
	if !write([]byte(`{"type":"welcome","seq":` + strconv.FormatInt(seq, 10) + `}`)) {
		return
	}
	for _, frame := range backlog {
		if !write(frame) {
			return
		}
	}
	if !write([]byte(`{"type":"caught_up","seq":` + strconv.FormatInt(seq, 10) + `}`)) {
		return
	}
	for {
		select {
		case frame, ok := <-c.send:
			if !ok {
				conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				return
			}
			if !write(frame) {
				return
			}
		case <-ticker.C:
			if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
				return
			}
		}
	}
}

func (s *server) messages(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, `{"error":"method"}`, http.StatusMethodNotAllowed)
		return
	}
	from, ok := s.authenticate(r)
	if !ok {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var body struct {
		To          string `json:"to"`
		Text        string `json:"text"`
		ClientMsgID string `json:"clientMsgId"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&body); err != nil ||
		body.To == "" || body.Text == "" || len(body.Text) > 4000 || len(body.ClientMsgID) > 128 {
		http.Error(w, `{"error":"invalid"}`, http.StatusBadRequest)
		return
	}
	id := "m" + strconv.FormatUint(s.nextID.Add(1), 36)
	createdAt := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	seq := s.hub.user(body.To).deliver(func(seq int64) []byte {
		frame, _ := json.Marshal(messageFrame{Type: "message", Seq: seq, Kind: "dm", CreatedAt: createdAt,
			Payload: payload{ID: id, From: from, To: body.To, Text: body.Text, ClientMsgID: body.ClientMsgID}})
		return frame
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(struct {
		ID        string `json:"id"`
		Seq       int64  `json:"seq"`
		CreatedAt string `json:"createdAt"`
	}{id, seq, createdAt})
}

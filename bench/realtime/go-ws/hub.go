package main

import "sync"

// keptPerUser bounds each user's stored messages, as the protocol allows peers to.
const keptPerUser = 1000

// sendQueue is how many frames a connection may have waiting before it counts as a slow
// consumer and is closed (the client reconnects with since= and loses nothing).
const sendQueue = 256

type stored struct {
	seq   int64
	frame []byte
}

// client is one WebSocket connection; its writer goroutine drains send.
type client struct {
	send chan []byte
}

// user holds one user's sequence counter, recent messages and live connections. Frames are
// queued under mu, so every connection sees a user's messages in seq order.
type user struct {
	mu    sync.Mutex
	seq   int64
	kept  []stored // ring of the last keptPerUser messages, oldest at head
	head  int
	conns map[*client]struct{}
}

type hub struct {
	mu    sync.Mutex
	users map[string]*user
}

func newHub() *hub { return &hub{users: make(map[string]*user)} }

func (h *hub) user(id string) *user {
	h.mu.Lock()
	u := h.users[id]
	if u == nil {
		u = &user{conns: make(map[*client]struct{})}
		h.users[id] = u
	}
	h.mu.Unlock()
	return u
}

// attach registers c and returns the user's current seq and the stored frames after since,
// oldest first; live frames queued on c afterwards all have larger seqs.
func (u *user) attach(c *client, since int64) (int64, [][]byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var backlog [][]byte
	for i := 0; i < len(u.kept); i++ {
		m := u.kept[(u.head+i)%len(u.kept)]
		if m.seq > since {
			backlog = append(backlog, m.frame)
		}
	}
	u.conns[c] = struct{}{}
	return u.seq, backlog
}

func (u *user) detach(c *client) {
	u.mu.Lock()
	if _, ok := u.conns[c]; ok {
		delete(u.conns, c)
		close(c.send)
	}
	u.mu.Unlock()
}

// deliver assigns the next seq, keeps the frame that build makes for it and queues it on
// every connection of the user; a connection whose queue is full is dropped.
func (u *user) deliver(build func(seq int64) []byte) int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.seq++
	frame := build(u.seq)
	m := stored{seq: u.seq, frame: frame}
	if len(u.kept) < keptPerUser {
		u.kept = append(u.kept, m)
	} else {
		u.kept[u.head] = m
		u.head = (u.head + 1) % keptPerUser
	}
	for c := range u.conns {
		select {
		case c.send <- frame:
		default:
			delete(u.conns, c)
			close(c.send)
		}
	}
	return u.seq
}

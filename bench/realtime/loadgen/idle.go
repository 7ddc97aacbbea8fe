package main

import (
	"fmt"
	"time"
)

type idleResult struct {
	Mode              string  `json:"mode"`
	Requested         int     `json:"requested"`
	Connected         int64   `json:"connected"`
	Failed            int64   `json:"failed"`
	FirstError        string  `json:"firstError,omitempty"`
	ConnectSeconds    float64 `json:"connectSeconds"`
	ConnectsPerSecond float64 `json:"connectsPerSecond"`
	IdleSeconds       float64 `json:"idleSeconds"`
	RSSBefore         int64   `json:"rssBeforeBytes"`
	RSSConnected      int64   `json:"rssConnectedBytes"`
	RSSAfter          int64   `json:"rssAfterBytes"`
	BytesPerConn      float64 `json:"bytesPerConnection"`
	CPUSeconds        float64 `json:"serverCpuSecondsIdle"`
	CPUMicrosPerConnS float64 `json:"cpuMicrosPerConnectionSecond"`
	LoadgenCPUSeconds float64 `json:"loadgenCpuSecondsIdle"`
	ForeignCores      float64 `json:"foreignCores"`
	DroppedWhileIdle  int64   `json:"droppedWhileIdle"`
}

// runIdle opens cfg.conns connections (one user each), lets them sit for cfg.idle and
// reports the server's memory per connection and CPU per idle connection-second.
func runIdle(cfg config) (*idleResult, error) {
	who, err := identities(cfg, cfg.conns, "idle")
	if err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second) // the logins' work settles before the baseline is read
	r := &idleResult{Mode: "idle", Requested: cfg.conns, RSSBefore: serverRSS(cfg.pid)}
	progress("opening %d connections", cfg.conns)
	f, elapsed := connect(cfg.base, who, cfg.dialConcurrency, cfg.perSource, cfg.connectTimeout, nil)
	defer f.close()
	r.Connected, r.Failed, r.FirstError = f.readyN.Load(), f.failed.Load(), f.firstError()
	r.ConnectSeconds = elapsed.Seconds()
	r.ConnectsPerSecond = float64(r.Connected) / elapsed.Seconds()
	progress("%d caught up in %.1f s (%d failed%s)", r.Connected, r.ConnectSeconds, r.Failed, suffix(r.FirstError))
	if r.Connected == 0 {
		return nil, fmt.Errorf("no connection was welcomed: %s", r.FirstError)
	}
	r.RSSConnected = serverRSS(cfg.pid)
	before := sampleCPU(cfg.pid)
	time.Sleep(cfg.idle)
	after := sampleCPU(cfg.pid)
	idle := after.at.Sub(before.at)
	r.RSSAfter = serverRSS(cfg.pid)
	r.IdleSeconds = idle.Seconds()
	r.CPUSeconds, r.LoadgenCPUSeconds, r.ForeignCores = usage(before, after)
	r.CPUMicrosPerConnS = r.CPUSeconds * 1e6 / float64(r.Connected) / idle.Seconds()
	r.BytesPerConn = float64(r.RSSAfter-r.RSSBefore) / float64(r.Connected)
	r.DroppedWhileIdle = f.closed.Load()
	if !serverAlive(cfg.pid) {
		return nil, fmt.Errorf("the server exited during the idle window")
	}
	progress("RSS %.1f → %.1f MB: %.0f bytes/connection; CPU %.2f s over %.0f s: %.3f µs per connection-second; %d dropped; others kept %.2f cores busy",
		float64(r.RSSBefore)/1e6, float64(r.RSSAfter)/1e6, r.BytesPerConn, r.CPUSeconds, r.IdleSeconds, r.CPUMicrosPerConnS, r.DroppedWhileIdle, r.ForeignCores)
	return r, nil
}

func suffix(err string) string {
	if err == "" {
		return ""
	}
	return "; first: " + err
}

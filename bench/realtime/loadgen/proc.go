package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's utime and stime (100 on Linux).
const clockTicks = 100

// serverRSS is the server's resident memory in bytes (VmRSS), or 0 without a pid.
func serverRSS(pid int) int64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// serverCPU is the server's user + system CPU time so far, in seconds.
func serverCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may contain spaces.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return float64(utime+stime) / clockTicks
}

func serverAlive(pid int) bool {
	if pid == 0 {
		return true
	}
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

// machineBusy is the CPU time all processes have used so far (every core), in seconds.
func machineBusy() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line := strings.SplitN(string(data), "\n", 2)[0]
	fields := strings.Fields(line)
	var busy int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		v, _ := strconv.ParseInt(f, 10, 64)
		busy += v
	}
	return float64(busy) / clockTicks
}

// cpuSample is a reading of the machine's, the server's and this process's CPU time.
type cpuSample struct {
	at                   time.Time
	machine, server, own float64
}

func sampleCPU(pid int) cpuSample {
	return cpuSample{at: time.Now(), machine: machineBusy(), server: serverCPU(pid), own: serverCPU(os.Getpid())}
}

// usage between two samples: the server's CPU seconds, the load generator's, and the cores
// that other processes kept busy on average (a neighbour's build disturbs the numbers).
func usage(a, b cpuSample) (server, own, foreignCores float64) {
	server, own = b.server-a.server, b.own-a.own
	foreign := (b.machine - a.machine) - server - own
	if foreign < 0 {
		foreign = 0
	}
	return server, own, foreign / b.at.Sub(a.at).Seconds()
}

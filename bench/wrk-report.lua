-- Prints latency percentiles (µs) that `wrk --latency` does not: p99.9 in particular.
done = function(summary, latency, requests)
  io.write(string.format("PCT p50=%d p99=%d p999=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
  io.write(string.format("ERR connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end

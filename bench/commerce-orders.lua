-- POST /api/v1/orders with a fresh Idempotency-Key per request, buyers and SKUs spread
-- over the lists in $TOKENS and $SKUS (one per line).
local tokens, skus, counter, prefix = {}, {}, 0, ""

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
  for line in io.lines(os.getenv("SKUS")) do skus[#skus + 1] = line end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  prefix = tostring(math.random(1, 2000000000))
end

function request()
  counter = counter + 1
  local body = '{"items":[{"skuId":"' .. skus[math.random(#skus)] .. '","quantity":1}]}'
  return wrk.format("POST", "/api/v1/orders", {
    ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
    ["Idempotency-Key"] = prefix .. "-" .. counter,
    ["Content-Type"] = "application/json",
  }, body)
end

done = function(summary, latency, requests)
  io.write(string.format("PCT p50=%d p99=%d p999=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
  io.write(string.format("ERR connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end

-- POST /api/v1/pay/wechat/notify, cycling through genuine signed notifications in
-- $NOTIFIES (one per line: timestamp|nonce|signature|serial|body). The first round
-- applies each payment; later rounds are the duplicate deliveries WeChat makes.
local notifies, index = {}, 0

function init(args)
  for line in io.lines(os.getenv("NOTIFIES")) do
    local ts, nonce, signature, serial, body = line:match("^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$")
    notifies[#notifies + 1] = wrk.format("POST", "/api/v1/pay/wechat/notify", {
      ["Content-Type"] = "application/json", ["Wechatpay-Timestamp"] = ts, ["Wechatpay-Nonce"] = nonce,
      ["Wechatpay-Signature"] = signature, ["Wechatpay-Serial"] = serial,
    }, body)
  end
  index = math.random(#notifies)
end

function request()
  index = (index % #notifies) + 1
  return notifies[index]
end

done = function(summary, latency, requests)
  io.write(string.format("PCT p50=%d p99=%d p999=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
  io.write(string.format("ERR connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end

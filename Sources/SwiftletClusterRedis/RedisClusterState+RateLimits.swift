import SwiftletCore
import SwiftletRedis

extension RedisClusterState: SharedRateLimiter {
    /// GCRA in one script on Redis's clock (`TIME`), in microseconds: the backlog is what
    /// the stored theoretical arrival time (TAT) is ahead of now; a request fits when
    /// backlog + cost × interval ≤ capacity, and then the TAT moves that far ahead and
    /// expires when it has passed. A refused request changes nothing.
    /// Answers {allowed, remaining, retryAfter (−1: never fits or admitted), resetAfter}.
    static let gcraScript = RedisScript("""
        local interval = tonumber(ARGV[1])
        local capacity = tonumber(ARGV[2])
        local cost = tonumber(ARGV[3])
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        local backlog = math.max(tat - now, 0)
        local after = backlog + cost * interval
        if after <= capacity then
            redis.call('SET', KEYS[1], string.format('%.0f', now + after), 'PX', math.max(1, math.ceil(after / 1000)))
            return {1, math.floor((capacity - after) / interval), -1, after}
        end
        local retry = -1
        if cost * interval <= capacity then retry = after - capacity end
        local remaining = 0
        if backlog < capacity then remaining = math.floor((capacity - backlog) / interval) end
        return {0, remaining, retry, backlog}
        """)

    public func decideRateLimit(key: String, interval: Int64, capacity: Int64, cost: Int) async throws -> SharedRateLimitOutcome {
        let reply = try await client.evaluate(
            Self.gcraScript, keys: [key], arguments: [String(interval), String(capacity), String(cost)])
        guard case .array(let items) = reply, items.count == 4,
              case .integer(let allowed) = items[0], case .integer(let remaining) = items[1],
              case .integer(let retry) = items[2], case .integer(let reset) = items[3] else {
            throw RedisError(.protocolViolation, "the rate-limit script answered \(reply)")
        }
        return SharedRateLimitOutcome(isAllowed: allowed == 1, remaining: Int(remaining),
                                      retryAfterMicroseconds: retry >= 0 ? retry : nil, resetAfterMicroseconds: reset)
    }
}

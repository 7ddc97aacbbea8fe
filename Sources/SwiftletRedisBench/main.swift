import Foundation
import SwiftletRedis

// Measures the Redis client the way `redis-benchmark` measures the server, so the two can
// be read side by side (bench/cluster.sh runs both against the same server):
//   pipelined: SET then GET, one connection, PIPELINE commands per write (-c 1 -P 16),
//              the same command repeated as redis-benchmark does without -r (its key is
//              the literal "key:__rand_int__"), so both send the same bytes;
//   distinct:  the same, with a new key per command (`key:<n>`: each command is made and
//              encoded anew, which redis-benchmark -r avoids by patching its buffer);
//   latency:   GET one at a time on one connection (-c 1 -P 1), percentiles in µs.
// Usage: swiftlet-redis-bench REDIS_URL [REQUESTS] [PIPELINE]
// Prints one CSV line per test: test,requests_per_second,p50_us,p99_us

let arguments = CommandLine.arguments
let url = arguments.count > 1 ? arguments[1] : "redis://127.0.0.1:6379"
let requests = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
let depth = arguments.count > 3 ? Int(arguments[3]) ?? 16 : 16

var configuration = try RedisConfiguration(url: url)
configuration.poolSize = 1
configuration.commandTimeout = .seconds(30)
let client = try RedisClient(configuration: configuration)

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func pipelined(_ name: String, _ make: @escaping @Sendable (Int) -> RedisCommand) async throws {
    let batches = requests / depth
    let started = ContinuousClock.now
    try await client.withConnection { connection in
        var batch: [RedisCommand] = []
        batch.reserveCapacity(depth)
        for index in 0..<batches {
            batch.removeAll(keepingCapacity: true)
            for offset in 0..<depth { batch.append(make(index * depth + offset)) }
            let replies = try await connection.pipeline(batch)
            precondition(replies.count == depth)
        }
    }
    let elapsedSeconds = seconds(ContinuousClock.now - started)
    print("\(name)-P\(depth),\(Int(Double(batches * depth) / elapsedSeconds)),,")
}

func latency(_ count: Int) async throws {
    var samples: [Double] = []
    samples.reserveCapacity(count)
    let started = ContinuousClock.now
    try await client.withConnection { connection in
        for index in 0..<count {
            let begin = ContinuousClock.now
            _ = try await connection.send(RedisCommand("GET", "key:\(index % 1000)"))
            let elapsed = ContinuousClock.now - begin
            samples.append(seconds(elapsed) * 1e6)
        }
    }
    let elapsedSeconds = seconds(ContinuousClock.now - started)
    samples.sort()
    func percentile(_ p: Double) -> String { String(format: "%.1f", samples[min(samples.count - 1, Int(Double(samples.count) * p))]) }
    print("GET-P1,\(Int(Double(count) / elapsedSeconds)),\(percentile(0.5)),\(percentile(0.99))")
}

let value = String(repeating: "x", count: 3)
let fixedSet = RedisCommand("SET", "key:__rand_int__", value)
let fixedGet = RedisCommand("GET", "key:__rand_int__")
try await pipelined("SET") { _ in fixedSet }
try await pipelined("GET") { _ in fixedGet }
try await pipelined("SET-distinct") { RedisCommand("SET", "key:\($0 % 100_000)", value) }
try await pipelined("GET-distinct") { RedisCommand("GET", "key:\($0 % 100_000)") }
try await latency(min(requests / 10, 100_000))
await client.shutdown()

import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftletServer
import SwiftletTransport
import Synchronization
import Testing

/// A node given far more than it can do: the excess is refused at once with 503
/// `overloaded`, admitted requests keep a bounded latency, health checks are never shed,
/// and once the load is gone every request passes again.
@Suite("Load shedding", .timeLimit(.minutes(2)))
struct LoadSheddingTests {
    /// Four requests at a time, 20 ms each: like a handler waiting on a small database pool.
    actor Pool {
        var free = 4
        var waiting: [CheckedContinuation<Void, Never>] = []
        /// The longest queue since `resetLongestQueue`: the backlog the node let build up.
        var longestQueue = 0

        func resetLongestQueue() { longestQueue = waiting.count }

        func take() async {
            if free > 0 {
                free -= 1
                return
            }
            longestQueue = max(longestQueue, waiting.count + 1)
            await withCheckedContinuation { waiting.append($0) }
        }

        func give() {
            if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
        }
    }

    /// The server's own time for each request to the pool route, by status.
    final class ServerTimes: RequestObserver {
        private let times = Mutex<[(UInt, Double)]>([])
        /// Off until the overload has gone on for a second (what it settles to is measured).
        let measuring = Atomic<Bool>(false)

        func end(_ request: RequestStart, _ outcome: RequestOutcome) {
            guard request.route == "/test/pool", measuring.load(ordering: .relaxed) else { return }
            times.withLock { $0.append((UInt(outcome.status.code), Double(outcome.durationNanoseconds) / 1e9)) }
        }

        func durations(status: UInt) -> [Double] {
            times.withLock { $0.filter { $0.0 == status }.map(\.1) }
        }
    }

    struct Sample: Sendable {
        let status: UInt
        let seconds: Double
        let code: String?
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    @Test func excessIsRefusedFastAndAdmittedLatencyStaysBounded() async throws {
        let pool = Pool()
        var customization = SwiftletCustomization(routes: { router, _ in
            router.get("/test/pool") { _, _ -> String in
                await pool.take()
                try? await Task.sleep(for: .milliseconds(20))
                await pool.give()
                return "done"
            }
        })
        let shedder = Mutex<LoadShedder?>(nil)
        customization.onComponents = { components in shedder.withLock { $0 = components.loadShedder } }
        let serverSide = ServerTimes()
        customization.observers = [serverSide]
        let config = TestApp.config { config in
            config.shedding.enabled = true
            config.shedding.minLimit = 4
            config.shedding.maxLimit = 256
        }
        try await TestStorage.withStorage(.sqlite) { storage in
            let app = try await TestApp.application(storage: storage, config: config, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let port = try #require(client.port)
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
                    connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 200)))
                defer { _ = http.shutdown() }
                func get(_ path: String, bearer: Bool = true) async -> Sample {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                    if bearer { request.headers.add(name: "Authorization", value: "Bearer x") }
                    let start = ContinuousClock.now
                    do {
                        let response = try await http.execute(request, timeout: .seconds(30))
                        let body = String(buffer: try await response.body.collect(upTo: 1 << 16))
                        let elapsed = ContinuousClock.now - start
                        return Sample(status: response.status.code,
                                      seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                                      code: Reply(status: .init(code: Int(response.status.code)), body: body).errorCode)
                    } catch {
                        return Sample(status: 0, seconds: 30, code: "\(error)")
                    }
                }

                // Normal traffic first: the node learns what its latency is when it keeps up.
                for _ in 0..<100 { _ = await get("/test/pool") }
                // Then 100 clients in a closed loop for 3 s: 25× what the pool takes at once.
                let deadline = ContinuousClock.now + .seconds(3)
                let settle = Task {
                    try await Task.sleep(for: .seconds(1))
                    serverSide.measuring.store(true, ordering: .relaxed)
                    await pool.resetLongestQueue()
                }
                let samples = await withTaskGroup(of: [Sample].self) { group in
                    for _ in 0..<100 {
                        group.addTask {
                            var mine: [Sample] = []
                            while ContinuousClock.now < deadline {
                                let sample = await get("/test/pool")
                                mine.append(sample)
                                // A client told to come back later waits a little, as Retry-After asks.
                                if sample.status == 503 { try? await Task.sleep(for: .milliseconds(50)) }
                            }
                            return mine
                        }
                    }
                    var all: [Sample] = []
                    for await part in group { all += part }
                    return all
                }
                _ = try? await settle.value
                serverSide.measuring.store(false, ordering: .relaxed)
                let admitted = samples.filter { $0.status == 200 }.map(\.seconds)
                let shed = samples.filter { $0.status == 503 }
                #expect(samples.allSatisfy { $0.status == 200 || ($0.status == 503 && $0.code == "overloaded") },
                        "nothing but answers and fast refusals")
                #expect(!shed.isEmpty && !admitted.isEmpty)
                // Without shedding, 100 clients keep about 96 requests queued at the pool (each
                // waiting ~0.5 s); once the limit has settled the backlog stays a fraction of that.
                // (Latency figures are printed, not asserted: the clients share the node's cores.)
                let served = serverSide.durations(status: 200)
                let refused = serverSide.durations(status: 503)
                let backlog = await pool.longestQueue
                #expect(backlog < 48, "longest queue at the pool after the first second: \(backlog)")
                let during = try #require(shedder.withLock { $0 }?.snapshot)
                #expect(during.limit < 64, "the limit came down from its start: \(during)")

                // Health checks are never shed, even now; and with the load gone all pass.
                #expect(await get("/health/live", bearer: false).status == 200)
                var passed = 0
                for _ in 0..<20 where await get("/test/pool").status == 200 { passed += 1 }
                #expect(passed == 20)
                print("load shedding: longest queue \(backlog), refusals p99 \(Self.percentile(refused, 0.99)) s, \(admitted.count) admitted (server p99 \(Self.percentile(served, 0.99)) s, client p99 \(Self.percentile(admitted, 0.99)) s), \(shed.count) shed, limit \(during.limit)")
            }
        }
    }
}

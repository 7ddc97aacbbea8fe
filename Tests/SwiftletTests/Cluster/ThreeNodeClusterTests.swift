import Foundation
import NIOHTTP1
import PostgresNIO
import Synchronization
import Testing

/// Three real `swiftlet serve` processes on one PostgreSQL database behind nginx
/// (`ClusterHarness`). PostgreSQL only: SQLite cannot be shared by several nodes.
@Suite("Three-node cluster", .serialized, .enabled(if: ClusterHarness.enabled))
struct ThreeNodeClusterTests {
    @Test("each background job runs once across three nodes polling one database")
    func backgroundJobsRunOnce() async throws {
        try await ClusterHarness.with(environment: [
            "SWIFTLET_COMMERCE_UNPAID_TIMEOUT": "4", "SWIFTLET_JOBS_POLL_INTERVAL": "0.2", "SWIFTLET_JOBS_LEASE": "10",
        ]) { cluster in
            let api = cluster.api
            let adminKey = try await cluster.createAdminKey()
            let sku = try await Self.firstSKU(api)
            let stockBefore = try await Self.stock(of: sku, in: cluster)
            let token = try await Self.login(api, code: "jobs:1")

            // Paid, then refunded in full: each refund enqueues one `refund.query` follow-up.
            var refunded: [String] = []
            for index in 0..<3 {
                let id = try await Self.createOrder(api, token: token, sku: sku, key: "refunded-\(index)")
                try await Self.pay(id, token: token, in: cluster)
                refunded.append(id)
            }
            try await Self.waitUntil("the paid orders are paid", cluster, timeout: .seconds(15)) {
                try await Self.count(cluster, "SELECT COUNT(*) FROM orders WHERE status = 'paid' AND id = ANY(\(refunded))") == refunded.count
            }
            for id in refunded {
                _ = try await api.json(.POST, "/admin/v1/orders/\(id)/refunds", json: "{}", token: adminKey)
            }

            // Unpaid orders whose timeout comes while all three nodes poll.
            let unpaid = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<30 {
                    group.addTask { try await Self.createOrder(api, token: token, sku: sku, key: "unpaid-\(index)") }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            try await Self.waitUntil("every unpaid order is cancelled with its stock released", cluster, timeout: .seconds(25)) {
                try await Self.count(cluster, """
                    SELECT COUNT(*) FROM orders WHERE status = 'cancelled' AND NOT stock_held AND id = ANY(\(unpaid))
                    """) == unpaid.count
            }
            let timeoutRuns = try await cluster.database { connection in
                try await connection.query("""
                    SELECT payload, status, attempts FROM jobs WHERE kind = 'order.payment_timeout' AND payload = ANY(\(unpaid))
                    """, logger: TestStorage.logger).collect().map { try $0.decode((String, String, Int).self) }
            }
            #expect(timeoutRuns.count == unpaid.count)
            let notClaimedOnce = timeoutRuns.filter { $0.1 != "done" || $0.2 != 1 }
            #expect(notClaimedOnce.isEmpty, "timeout jobs (order, status, claims) not done after one claim: \(notClaimedOnce)\n\(cluster.output)")
            // What the runs did, in the append-only ledger: one query and one close per order.
            let ledger = try await Self.ledgerCounts(cluster, orders: unpaid)
            let notClosedOnce = unpaid.filter { ledger[$0] != ["query": 1, "close": 1] }.map { ($0, ledger[$0] ?? [:]) }
            #expect(notClosedOnce.isEmpty, "orders not queried and closed exactly once: \(notClosedOnce)")

            // Refund follow-ups: due now instead of in 60 s, then each claimed once.
            try await Self.waitUntil("the refunds are settled", cluster, timeout: .seconds(15)) {
                try await Self.count(cluster, "SELECT COUNT(*) FROM refunds WHERE status = 'succeeded' AND order_id = ANY(\(refunded))") == refunded.count
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            try await cluster.database { connection in
                _ = try await connection.query("UPDATE jobs SET run_at = \(now) WHERE kind = 'refund.query'", logger: TestStorage.logger)
            }
            try await Self.waitUntil("the refund follow-ups ran", cluster, timeout: .seconds(10)) {
                try await Self.count(cluster, "SELECT COUNT(*) FROM jobs WHERE kind = 'refund.query' AND status = 'done'") == refunded.count
            }
            #expect(try await Self.count(cluster, "SELECT COUNT(*) FROM jobs WHERE kind = 'refund.query' AND attempts = 1") == refunded.count,
                    "each refund follow-up claimed once\n\(cluster.output)")
            #expect(try await Self.stock(of: sku, in: cluster) == stockBefore, "every unit released exactly once")

            // The daily maintenance job: one row although three nodes scheduled it; one run.
            #expect(try await Self.count(cluster, "SELECT COUNT(*) FROM jobs WHERE kind = 'maintenance.prune'") == 1)
            let dueNow = Int64(Date().timeIntervalSince1970 * 1000)
            try await cluster.database { connection in
                _ = try await connection.query("UPDATE jobs SET run_at = \(dueNow) WHERE kind = 'maintenance.prune'", logger: TestStorage.logger)
            }
            let tomorrow = dueNow + 23 * 3_600_000
            try await Self.waitUntil("the maintenance job ran and is due again tomorrow", cluster, timeout: .seconds(10)) {
                try await Self.count(cluster, """
                    SELECT COUNT(*) FROM jobs WHERE kind = 'maintenance.prune' AND status = 'pending' AND run_at > \(tomorrow)
                    """) == 1
            }
            try await Task.sleep(for: .milliseconds(500))  // info lines reach the output within 100 ms
            let runs = cluster.nodes.map { $0.process.output.components(separatedBy: #""msg":"pruned""#).count - 1 }
            #expect(runs.reduce(0, +) == 1, "pruned once across the nodes, per node: \(runs)")
        }
    }

    @Test("kill -9 of one node while clients order through nginx: nothing acknowledged is lost, nothing is paid twice")
    func killOneNodeUnderLoad() async throws {
        try await ClusterHarness.with(environment: ["SWIFTLET_COMMERCE_UNPAID_TIMEOUT": "300"]) { cluster in
            let api = cluster.api
            let sku = try await Self.firstSKU(api)
            try await cluster.database { connection in
                _ = try await connection.query("UPDATE skus SET stock = 100000 WHERE id = \(sku)", logger: TestStorage.logger)
            }
            let clients = 8
            var tokens: [String] = []
            for index in 0..<clients {
                tokens.append(try await Self.login(api, code: "client\(index):1"))
            }
            let journal = ClientJournal()
            let start = ContinuousClock.now
            let killAt = start + .milliseconds(1500)
            let stopAt = start + .seconds(4)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (client, token) in tokens.enumerated() {
                    group.addTask {
                        var number = 0
                        while ContinuousClock.now < stopAt {
                            number += 1
                            let key = "c\(client)-\(number)"
                            let created = try await Self.retrying("create \(key)", journal) {
                                try await api.call(.POST, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#,
                                                   token: token, key: key)
                            }
                            let id = try #require(created["id"] as? String)
                            journal.acknowledged(key: key, order: id)
                            let payment = try await Self.retrying("pay \(id)", journal) {
                                try await api.call(.POST, "/api/v1/orders/\(id)/pay", token: token)
                            }
                            let package = try #require((payment["payment"] as? [String: Any])?["package"] as? String)
                            try await Self.payAtWeChat(prepayID: String(package.dropFirst("prepay_id=".count)), cluster)
                            journal.paid(id)
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(until: killAt)
                    journal.killing()
                    cluster.kill(node: 3)
                }
                try await group.waitForAll()
            }

            let acknowledged = journal.acknowledgedOrders
            let paid = journal.paidOrders
            try await Self.waitUntil("every order paid at WeChat is paid here (notifies through nginx)", cluster, timeout: .seconds(20)) {
                try await Self.count(cluster, "SELECT COUNT(*) FROM orders WHERE status = 'paid' AND id = ANY(\(Array(paid)))") == paid.count
            }
            let stored = try await cluster.database { connection in
                try await connection.query("SELECT idempotency_key, id FROM orders", logger: TestStorage.logger)
                    .collect().map { try $0.decode((String, String).self) }
            }
            let storedByKey = Dictionary(stored, uniquingKeysWith: { first, _ in first })
            #expect(acknowledged.count > 0 && paid.count > 0)
            for (key, order) in acknowledged {
                #expect(storedByKey[key] == order, "acknowledged order \(order) (key \(key)) is stored under its key")
            }
            #expect(stored.count == acknowledged.count, "no order the clients never saw: \(stored.count) stored, \(acknowledged.count) acknowledged")
            let ledger = try await Self.ledgerCounts(cluster, orders: stored.map(\.1), outcomes: ["applied", "applied_after_cancel"])
            let notPaidOnce = stored.map(\.1).filter { ledger[$0]?.values.reduce(0, +) != 1 }.map { ($0, ledger[$0] ?? [:]) }
            #expect(notPaidOnce.isEmpty, "orders not paid exactly once: \(notPaidOnce)")

            // Failures are the requests node 3 had in flight when it died: none before the
            // kill, none once it was gone (nginx sends new requests elsewhere), at most one per
            // client (each has one request in flight), all retried with the same key to the
            // same order (checked above), and the cluster served on.
            let killedAt = try #require(journal.killedAt)
            let failures = journal.failures
            #expect(failures.allSatisfy { $0.at >= killedAt && $0.at < killedAt + .seconds(2) },
                    "failures outside the moment of the kill: \(failures.map { "\($0) at \($0.at - killedAt)" })")
            #expect(failures.count <= clients, "\(failures.count) failed requests for \(clients) clients: \(failures)")
            #expect(journal.acknowledgedAfter(killedAt) > 0, "orders were taken after the kill")
            #expect(cluster.nodes[2].process.output.contains(#""path":"/api/v1/orders""#), "node 3 served orders before it was killed")
        }
    }

    // MARK: - Clients

    static func login(_ api: LiveHTTPClient, code: String) async throws -> String {
        try #require(try await api.json(.POST, "/api/v1/auth/wechat/login", json: #"{"code":"\#(code)"}"#)["accessToken"] as? String)
    }

    static func firstSKU(_ api: LiveHTTPClient) async throws -> String {
        let items = try #require(try await api.json(.GET, "/api/v1/products")["items"] as? [[String: Any]])
        return try #require((items.first?["skus"] as? [[String: Any]])?.first?["id"] as? String)
    }

    static func createOrder(_ api: LiveHTTPClient, token: String, sku: String, key: String) async throws -> String {
        let created = try await api.json(.POST, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#,
                                         token: token, key: key)
        return try #require(created["id"] as? String)
    }

    /// Prepay through nginx, then the buyer pays at WeChat (node 1's sandbox).
    static func pay(_ order: String, token: String, in cluster: ClusterHarness) async throws {
        let payment = try await cluster.api.json(.POST, "/api/v1/orders/\(order)/pay", token: token)
        let package = try #require((payment["payment"] as? [String: Any])?["package"] as? String)
        try await payAtWeChat(prepayID: String(package.dropFirst("prepay_id=".count)), cluster)
    }

    /// What the buyer does in WeChat; paying again answers `ORDER_PAID`, which is fine.
    static func payAtWeChat(prepayID: String, _ cluster: ClusterHarness) async throws {
        let reply = try await cluster.wechat.call(.POST, "/sandbox/wechatpay/pay", json: #"{"prepayId":"\#(prepayID)"}"#)
        guard reply.status == 200 || reply.body.contains("ORDER_PAID") else {
            throw TestSetupError("paying \(prepayID) at the sandbox: \(reply.status) \(reply.body)")
        }
    }

    /// A client that retries a network error or a 502/503/504 with the same request (the
    /// same `Idempotency-Key`), as the docs tell clients to; other answers are final.
    static func retrying(_ what: String, _ journal: ClientJournal,
                         _ call: @Sendable () async throws -> (status: UInt, body: String)) async throws -> [String: Any] {
        for _ in 0..<50 {
            do {
                let reply = try await call()
                if (200..<300).contains(reply.status),
                   let object = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any] {
                    return object
                }
                guard [502, 503, 504].contains(reply.status) else { throw TestSetupError("\(what): \(reply.status) \(reply.body)") }
                journal.failed(what, "\(reply.status)")
            } catch let error as TestSetupError {
                throw error
            } catch {
                journal.failed(what, String(describing: error))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("\(what): still failing after 50 attempts")
    }

    // MARK: - The database behind the API

    static func count(_ cluster: ClusterHarness, _ query: PostgresQuery) async throws -> Int {
        try await cluster.database { connection in
            try await connection.query(query, logger: TestStorage.logger).collect().first?.decode(Int.self) ?? 0
        }
    }

    static func stock(of sku: String, in cluster: ClusterHarness) async throws -> Int {
        try await count(cluster, "SELECT stock FROM skus WHERE id = \(sku)")
    }

    /// Ledger lines per order and kind (only those with one of `outcomes`, if given).
    static func ledgerCounts(_ cluster: ClusterHarness, orders: [String], outcomes: [String]? = nil) async throws -> [String: [String: Int]] {
        let rows = try await cluster.database { connection in
            try await connection.query("""
                SELECT order_id, kind, outcome FROM payment_ledger WHERE order_id = ANY(\(orders))
                """, logger: TestStorage.logger).collect().map { try $0.decode((String, String, String).self) }
        }
        var counts: [String: [String: Int]] = [:]
        for (order, kind, outcome) in rows where outcomes?.contains(outcome) ?? true {
            counts[order, default: [:]][kind, default: 0] += 1
        }
        return counts
    }

    static func waitUntil(_ what: String, _ cluster: ClusterHarness, timeout: Duration,
                          _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("timed out waiting until \(what)\n\(cluster.output)")
    }
}

/// What the clients of the kill test saw, in the order they saw it.
final class ClientJournal: Sendable {
    struct Failure: CustomStringConvertible {
        let request: String
        let error: String
        let at: ContinuousClock.Instant
        var description: String { "\(request): \(error)" }
    }

    private struct State {
        var acknowledged: [(key: String, order: String, at: ContinuousClock.Instant)] = []
        var paid: Set<String> = []
        var failures: [Failure] = []
        var killedAt: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    func acknowledged(key: String, order: String) {
        state.withLock { $0.acknowledged.append((key, order, .now)) }
    }

    func paid(_ order: String) { state.withLock { _ = $0.paid.insert(order) } }
    func failed(_ request: String, _ error: String) { state.withLock { $0.failures.append(Failure(request: request, error: error, at: .now)) } }
    /// Called just before SIGKILL is sent.
    func killing() { state.withLock { $0.killedAt = .now } }

    var acknowledgedOrders: [String: String] {
        state.withLock { Dictionary($0.acknowledged.map { ($0.key, $0.order) }, uniquingKeysWith: { first, _ in first }) }
    }
    var paidOrders: Set<String> { state.withLock { $0.paid } }
    var failures: [Failure] { state.withLock { $0.failures } }
    var killedAt: ContinuousClock.Instant? { state.withLock { $0.killedAt } }
    func acknowledgedAfter(_ instant: ContinuousClock.Instant) -> Int { state.withLock { $0.acknowledged.filter { $0.at > instant }.count } }
}

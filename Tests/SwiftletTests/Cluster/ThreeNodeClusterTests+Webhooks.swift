import Foundation
import PostgresNIO
import Testing

extension ThreeNodeClusterTests {
    @Test("three nodes delivering webhooks: every event reaches a healthy receiver exactly once")
    func webhooksDeliveredOnce() async throws {
        try await TestWebhookReceiver.with { receiver in
            try await ClusterHarness.with(environment: ["SWIFTLET_WEBHOOKS_POLL_INTERVAL": "0.05"]) { cluster in
                let adminKey = try await cluster.createAdminKey()
                let created = try await cluster.api.json(.POST, "/admin/v1/webhooks", json: """
                    {"url":"\(receiver.url)","eventTypes":["user.created"]}
                    """, token: adminKey)
                #expect((created["secret"] as? String)?.hasPrefix("whsec_") == true)

                // New users on every node (nginx spreads the logins): one user.created each.
                let users = 60
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<users {
                        group.addTask { _ = try await Self.login(cluster.api, code: "hook-\(index):1") }
                    }
                    for try await _ in group {}
                }
                let received = try await receiver.waitFor(users, within: .seconds(30))
                #expect(received.count == users, "deliveries: \(received.count) of \(users)\n\(cluster.output)")
                try await Task.sleep(for: .seconds(1)) // room for a duplicate to show
                let all = receiver.received
                #expect(all.count == users, "a duplicate arrived: \(all.count) deliveries for \(users) events")
                #expect(Set(all.map(\.id)).count == users, "each event once")

                try await Self.waitUntil("every message is recorded delivered after one attempt", cluster, timeout: .seconds(10)) {
                    try await Self.count(cluster, "SELECT COUNT(*) FROM webhook_messages WHERE status = 'delivered' AND attempts = 1") == users
                }
                #expect(try await Self.count(cluster, "SELECT COUNT(*) FROM webhook_messages") == users)
                #expect(try await Self.count(cluster, "SELECT COUNT(*) FROM webhook_attempts") == users, "one recorded attempt per event")
            }
        }
    }
}

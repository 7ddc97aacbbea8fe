import Foundation
import Testing

extension ThreeNodeRedisClusterTests {
    /// The catalogue cache on three nodes, with a lifetime far longer than the test: only
    /// the cluster bus can make an edit show on a node that has cached the old answer.
    @Test("an admin edit on node B shows in A's and C's cached catalogue (page and detail) within 1 s")
    func catalogueEditReachesEveryNode() async throws {
        try await Self.withCluster(environment: ["SWIFTLET_CACHE_CATALOGUE_LIFETIME": "600"]) { cluster, _ in
            let (a, b, c) = (Self.node(cluster, 1), Self.node(cluster, 2), Self.node(cluster, 3))
            let adminKey = try await cluster.createAdminKey()
            let page = try await a.call(.GET, "/api/v1/products?limit=5")
            let id = try #require(page.body.firstMatch(of: /"id":"([^"]+)"/)?.1, "the demo catalogue: \(page.body)")
            let paths = ["/api/v1/products?limit=5", "/api/v1/products/\(id)"]
            for node in [a, c] {
                for path in paths { #expect(try await node.call(.GET, path).status == 200) }
            }

            // Behind Swiftlet's back: the nodes keep answering from memory.
            let behind = "Renamed in the database"
            _ = try await cluster.database { connection in
                try await connection.query("UPDATE products SET title = \(behind) WHERE id = \(String(id))", logger: TestStorage.logger)
            }
            for node in [a, c] {
                for path in paths {
                    #expect(try await !node.call(.GET, path).body.contains(behind), "\(path) on \(node.port) served from the cache")
                }
            }

            let title = "Edited on B \(UUID().uuidString.prefix(8))"
            let start = ContinuousClock.now
            let edit = try await b.call(.PATCH, "/admin/v1/products/\(id)", json: #"{"title":"\#(title)"}"#, token: adminKey)
            #expect(edit.status == 200, "\(edit.status) \(edit.body)")
            for node in [a, c] {
                for path in paths {
                    var shown: Duration?
                    while ContinuousClock.now - start < .seconds(3) {
                        if try await node.call(.GET, path).body.contains(title) {
                            shown = ContinuousClock.now - start
                            break
                        }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    print("catalogue edit on node 2 → \(path) on port \(node.port): \(Self.describe(shown))")
                    #expect(shown.map { $0 < .seconds(1) } == true,
                            "\(path) on \(node.port) showed the edit \(Self.describe(shown)) after it (bound 1 s)\n\(cluster.output)")
                }
            }
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import SwiftletConfig
import SwiftletCore
import SwiftletServer
import SwiftletTransport
import Synchronization
import Testing

/// With the catalogue cache off (or bypassed) every buyer's read goes to the database. On
/// PostgreSQL with read connections the inline lane then answers it itself, waiting for the
/// rows on the event loop. Its answers must be the router's, byte for byte.
@Suite("The buyer's catalogue read on the event loop")
struct CatalogOnLoopTests {
    /// A live server on `kind` with the catalogue cache off, its inline lane, and an admin key.
    static func withServer(
        _ kind: EngineKind, _ body: @escaping @Sendable (_ port: Int, _ lane: InlineLane, _ adminKey: String) async throws -> Void
    ) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let adminKey = "swk_" + RandomID.base32(byteCount: 20)
            _ = try await storage.adminKeys.create(name: "test-admin", keyHash: SecretToken.hash(adminKey), now: Date())
            let lane = Mutex<InlineLane?>(nil)
            var customization = SwiftletCustomization()
            customization.onComponents = { parts in lane.withLock { $0 = parts.inlineLane } }
            let config = TestApp.config { config in
                config.commerce.demoCatalogue = false
                config.cache.catalogueLifetimeSeconds = 0
            }
            let app = try await buildApplication(config, storage: storage, logger: TestStorage.logger, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let port = try #require(client.port)
                for index in 1...3 {
                    let created = try await client.call(.post, "/admin/v1/products", json: """
                        {"title":"Tea \(index) \\"龙井\\"","description":"d","skus":[{"title":"50 g","priceFen":\(index)999,"stock":\(index)}]}
                        """, bearer: adminKey)
                    try #require(created.status == .created)
                }
                try await body(port, try #require(lane.withLock { $0 }), adminKey)
            }
        }
    }

    /// The response as compared: status and body with the request id taken out.
    static func comparable(_ reply: RawReply) -> String {
        "\(reply.status) " + reply.body.replacingOccurrences(
            of: #""requestId":"[^"]*""#, with: "", options: .regularExpression)
    }

    @Test("with the cache off on PostgreSQL the lane answers pages, later pages, products and their errors as the router does",
          arguments: [EngineKind.postgres, .sqlite])
    func sameAnswersAsTheRouter(kind: EngineKind) async throws {
        guard EngineKind.available.contains(kind) else { return }
        try await Self.withServer(kind) { port, lane, _ in
            let first = try #require(try await RawConnection.open(port: port).exchange(
                "GET /api/v1/products?limit=2 HTTP/1.1\r\nHost: x\r\n\r\n", responses: 1).first)
            let cursor = try #require(first.body.firstMatch(of: /"nextCursor":"([^"]+)"/)?.1)
            let productID = try #require(first.body.firstMatch(of: /"id":"(p_[^"]+)"/)?.1)
            let uris = [
                "/api/v1/products", "/api/v1/products?limit=2", "/api/v1/products?limit=2&cursor=\(cursor)",
                "/api/v1/products/\(productID)", "/api/v1/products/p_missing", "/api/v1/products?cursor=MToA",
            ]
            let before = lane.answeredCount
            // The lane's answers, all pipelined on one connection; then the router's (a request
            // asking to close the connection is always the router's).
            let replies = try await RawConnection.open(port: port).exchange(
                uris.map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined(), responses: uris.count)
            let byLane = replies.map(Self.comparable)
            #expect(lane.answeredCount - before == (kind == .postgres ? uris.count : 0), "PostgreSQL reads on the loop; SQLite's through the router")
            var byRouter: [String] = []
            for uri in uris {
                let reply = try #require(try await RawConnection.open(port: port).exchange(
                    "GET \(uri) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", responses: 1).first)
                byRouter.append(Self.comparable(reply))
            }
            for (uri, (lane, router)) in zip(uris, zip(byLane, byRouter)) {
                #expect(lane == router, "\(uri)")
            }
            #expect(replies.map(\.status) == [200, 200, 200, 200, 404, 400])
            #expect(byLane[1].contains("Tea 3") && byLane[2].contains("Tea 1"))
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftletServer
import SwiftletTransport
import Testing

/// The migration aid against a real legacy backend on loopback: unknown routes forwarded
/// with their body, query and forwarding headers; canary routing by header and by share;
/// the upstream's failures as 502/504 in Swiftlet's error shape; body limits before it.
@Suite("Legacy upstream proxy")
struct LegacyProxyTests {
    struct Answer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: String
        var code: String? { Reply(status: status, body: body).errorCode }
    }

    static func send(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, body: String? = nil,
                     headers: HTTPFields = [:]) async throws -> Answer {
        try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            Answer(status: $0.status, headers: $0.headers, body: String(buffer: $0.body))
        }
    }

    /// The team's old backend.
    static func legacy() -> Application<RouterResponder<BasicRequestContext>> {
        let router = Router()
        router.get("/legacy/hello") { request, _ -> Response in
            let seen = [
                "query": request.uri.query ?? "",
                "forwardedFor": request.headers[HTTPField.Name("X-Forwarded-For")!] ?? "",
                "requestId": request.headers[HTTPField.Name("X-Request-Id")!] ?? "",
                "custom": request.headers[HTTPField.Name("X-Custom")!] ?? "",
            ]
            let data = try JSONSerialization.data(withJSONObject: seen, options: [.sortedKeys])
            return Response(status: .ok, headers: [.contentType: "application/json", HTTPField.Name("X-Legacy")!: "yes"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.post("/legacy/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .created, body: .init(byteBuffer: body))
        }
        router.get("/api/v1/products") { _, _ -> String in #"{"from":"legacy"}"# }
        router.get("/legacy/slow") { _, _ -> String in
            try await Task.sleep(for: .seconds(3))
            return "late"
        }
        router.get("/legacy/big") { _, _ -> Response in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "x"), count: 2 << 20)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func forwardsWhatSwiftletDoesNotServeAndCanaries() async throws {
        try await Self.legacy().test(.live) { (legacy: any TestClientProtocol) async throws in
            let upstream = "http://127.0.0.1:\(try #require(legacy.port))"
            let config = TestApp.config { config in
                config.proxy.legacyUpstream = upstream
                config.proxy.timeoutSeconds = 2  // under /legacy/slow's 3 s, with room for a loaded machine
                config.proxy.maxResponseBytes = 1 << 20
                config.proxy.canaryRoutes = ["GET /api/v1/products"]
                config.http.maxBodyBytes = 4096
            }
            try await TestApp.withLiveApp(config: config) { client in
                let hello = try await Self.send(client, .get, "/legacy/hello?x=1&y=2", headers: [HTTPField.Name("X-Custom")!: "kept"])
                #expect(hello.status == .ok && hello.headers[HTTPField.Name("X-Legacy")!] == "yes")
                let seen = try #require(try JSONSerialization.jsonObject(with: Data(hello.body.utf8)) as? [String: String])
                #expect(seen["query"] == "x=1&y=2" && seen["custom"] == "kept")
                #expect(seen["forwardedFor"] == "127.0.0.1", "the peer is appended to X-Forwarded-For")
                #expect(seen["requestId"] == hello.headers[HTTPField.Name("X-Request-Id")!], "one request id on both sides")

                let echoed = try await Self.send(client, .post, "/legacy/echo", body: "raw bytes, as sent")
                #expect(echoed.status == .created && echoed.body == "raw bytes, as sent")

                let ours = try await Self.send(client, .get, "/api/v1/products")
                #expect(ours.body.contains("\"items\""), "a route both serve stays here by default")
                let theirs = try await Self.send(client, .get, "/api/v1/products",
                                                 headers: [HTTPField.Name(LegacyProxy.selectorHeader)!: "legacy"])
                #expect(theirs.body == #"{"from":"legacy"}"#)
                #expect(try await Self.send(client, .delete, "/api/v1/me").status == .methodNotAllowed,
                        "a path Swiftlet serves with other methods is not forwarded")
                #expect(try await Self.send(client, .get, "/sandbox/wechat/nope").body.contains("40066"),
                        "the sandboxes keep their own answers")

                let slow = try await Self.send(client, .get, "/legacy/slow")
                #expect(slow.status == .gatewayTimeout && slow.code == "proxy.upstream_timeout")
                let big = try await Self.send(client, .get, "/legacy/big")
                #expect(big.status == .badGateway && big.code == "proxy.upstream_response_too_large")
                // Last: a 413 closes the connection.
                let tooBig = try await Self.send(client, .post, "/legacy/echo", body: String(repeating: "y", count: 5000))
                #expect(tooBig.status == .contentTooLarge, "the body limit applies before anything is forwarded")
            }

            let everyone = TestApp.config { config in
                config.proxy.legacyUpstream = upstream
                config.proxy.canaryRoutes = ["GET /api/v1/products"]
                config.proxy.canaryPercent = 100
            }
            try await TestApp.withLiveApp(config: everyone) { client in
                #expect(try await Self.send(client, .get, "/api/v1/products").body == #"{"from":"legacy"}"#)
                let pinned = try await Self.send(client, .get, "/api/v1/products",
                                                 headers: [HTTPField.Name(LegacyProxy.selectorHeader)!: "swiftlet"])
                #expect(pinned.body.contains("\"items\""))
                #expect(try await Self.send(client, .get, "/api/v1/products").body == #"{"from":"legacy"}"#,
                        "a canary route is never answered from Swiftlet's cache (the inline lane leaves it to the proxy)")
            }
        }
    }

    @Test func anUnreachableUpstreamIs502() async throws {
        let upstream = try LoopbackPorts.Refusing()
        let config = TestApp.config { $0.proxy.legacyUpstream = "http://127.0.0.1:\(upstream.port)" }
        try await TestApp.withLiveApp(config: config) { client in
            let answer = try await Self.send(client, .get, "/anything")
            #expect(answer.status == .badGateway && answer.code == "proxy.upstream_unavailable", "\(answer.status) \(answer.body)")
        }
        withExtendedLifetime(upstream) {}
    }

    @Test func canaryShareIsStablePerClientAndProportional() {
        let identities = (0..<2000).map { "Bearer token-\($0)" }
        let inLegacy = identities.filter { LegacyProxy.bucket($0) < 30 }.count
        #expect((500...700).contains(inLegacy), "about 30 % of 2,000 clients: \(inLegacy)")
        #expect(identities.allSatisfy { LegacyProxy.bucket($0) == LegacyProxy.bucket($0) })
    }
}

import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletConfig
@testable import SwiftletCore
@testable import SwiftletServer
import Testing

/// `/metrics` as a scraper sees it: behind an admin key on the main listener, every
/// family of the catalogue present, requests counted on both paths by route template,
/// and a client inventing paths unable to add series.
@Suite("Metrics endpoint")
struct MetricsEndpointTests {
    /// Runs `body` with a live server and an admin key for `/metrics`.
    static func withMetrics(
        _ kind: EngineKind = .sqlite, config adjust: @escaping (inout SwiftletConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (any TestClientProtocol, String) async throws -> Void
    ) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let key = SecretToken.generate(prefix: "swk_")
            _ = try await storage.adminKeys.create(name: "scraper", keyHash: SecretToken.hash(key), now: Date())
            let app = try await TestApp.application(storage: storage, config: TestApp.config(adjust))
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(client, key)
            }
        }
    }

    static func scrape(_ client: any TestClientProtocol, key: String) async throws -> String {
        let reply = try await client.call(.get, "/metrics", bearer: key)
        guard reply.status == .ok else { throw TestSetupError("scrape: \(reply.status) \(reply.body)") }
        return reply.body
    }

    /// The value of the sample line `name{labels}` (labels as printed), or nil.
    static func sample(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test("the main listener's /metrics wants an admin key")
    func needsAdminKey() async throws {
        try await Self.withMetrics { client, key in
            #expect(try await client.call(.get, "/metrics").status == .unauthorized)
            #expect(try await client.call(.get, "/metrics", bearer: "swk_forged").status == .unauthorized)
            let reply = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(key)"], body: nil) {
                $0
            }
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    @Test("every family in the catalogue is exposed with HELP and TYPE, before it has a series")
    func everyFamilyListed() async throws {
        try await Self.withMetrics { client, key in
            let exposition = try await Self.scrape(client, key: key)
            for family in MetricCatalogue.families {
                #expect(exposition.contains("# HELP \(family.name) "), "\(family.name) has HELP")
                #expect(exposition.contains("# TYPE \(family.name) \(family.kind.typeName)\n"), "\(family.name) has TYPE")
            }
            #expect(Self.sample(exposition, "swiftlet_storage_up") == 1)
            #expect(Self.sample(exposition, #"swiftlet_build_info{version="\#(SwiftletBuild.version)"}"#) == 1)
            #expect((Self.sample(exposition, "process_resident_memory_bytes") ?? 0) > 1_000_000)
            #expect((Self.sample(exposition, "process_open_fds") ?? 0) > 0)
        }
    }

    @Test("inline and routed requests are counted by route template, status and method", arguments: EngineKind.available)
    func requestsCounted(kind: EngineKind) async throws {
        try await Self.withMetrics(kind) { client, key in
            for _ in 0..<7 { _ = try await client.call(.get, "/health/live") }
            for _ in 0..<5 { _ = try await client.call(.get, "/api/v1/products") }
            for index in 0..<3 { _ = try await client.call(.get, "/api/v1/products/p_missing\(index)") }
            _ = try await client.call(.delete, "/health/live")
            let exposition = try await Self.scrape(client, key: key)
            func count(_ method: String, _ route: String, _ status: Int) -> Double? {
                Self.sample(exposition, #"http_server_request_duration_seconds_count{http_request_method="\#(method)",http_route="\#(route)",http_response_status_code="\#(status)",error_type="",url_scheme="http"}"#)
            }
            #expect(count("GET", "/health/live", 200) == 7)
            #expect(count("GET", "/api/v1/products", 200) == 5)
            #expect(count("GET", "/api/v1/products/{id}", 404) == 3, "the template, never the raw path")
            #expect(count("DELETE", "/health/live", 405) == 1)
            #expect(!exposition.contains("p_missing"))
            #expect(exposition.contains(#"db_client_operation_duration_seconds_count{db_system_name="\#(kind == .sqlite ? "sqlite" : "postgresql")",db_operation_name="catalog."#))
            #expect(exposition.contains(#"le="0.5"}"#), "the latency SLO's bucket boundary prints as the rules expect")
        }
    }

    @Test("catalogue reads answered on the event loop (PostgreSQL, cache off) are counted as requests and as database operations, once each")
    func loopReadsCounted() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await Self.withMetrics(.postgres, config: { $0.cache.catalogueLifetimeSeconds = 0 }) { client, key in
            // Kept alive on one connection: the inline lane's requests.
            let requests = Array(repeating: "/api/v1/products", count: 5) + (0..<3).map { "/api/v1/products/p_missing\($0)" }
            let replies = try await RawConnection.open(port: try #require(client.port)).exchange(
                requests.map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined(), responses: requests.count)
            #expect(replies.map(\.status) == [200, 200, 200, 200, 200, 404, 404, 404])
            let exposition = try await Self.scrape(client, key: key)
            #expect(Self.sample(exposition, #"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/api/v1/products",http_response_status_code="200",error_type="",url_scheme="http"}"#) == 5)
            #expect(Self.sample(exposition, #"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/api/v1/products/{id}",http_response_status_code="404",error_type="",url_scheme="http"}"#) == 3)
            #expect(Self.sample(exposition, #"db_client_operation_duration_seconds_count{db_system_name="postgresql",db_operation_name="catalog.list"}"#) == 5)
            #expect(Self.sample(exposition, #"db_client_operation_duration_seconds_count{db_system_name="postgresql",db_operation_name="catalog.find"}"#) == 3)
        }
    }

    @Test("WeChat calls are timed by API, and their failures counted by errcode")
    func weChatCallsCounted() async throws {
        try await Self.withMetrics { client, key in
            _ = try await client.login("metrics:\(RandomID.base32(byteCount: 4))")
            _ = try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"err:-1:x"}"#)
            _ = try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"err:40029:x"}"#)
            let exposition = try await Self.scrape(client, key: key)
            #expect(Self.sample(exposition, #"swiftlet_wechat_call_duration_seconds_count{api="jscode2session"}"#) == 3)
            #expect(Self.sample(exposition, #"swiftlet_wechat_call_errors_total{api="jscode2session",errcode="-1"}"#) == 1)
            #expect(Self.sample(exposition, #"swiftlet_wechat_call_errors_total{api="jscode2session",errcode="40029"}"#) == 1)
            #expect(!exposition.contains("sandbox-app-secret"), "no secret in any label")
        }
    }
}

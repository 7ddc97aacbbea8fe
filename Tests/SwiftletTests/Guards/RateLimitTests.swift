import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletConfig
import SwiftletCore
import Testing

/// Rate limits through the seam on real sockets: per client address on the router and the
/// inline lane, per verified user, shadow mode, the 429's headers; over a real Redis the
/// limit holds across two nodes, and with Redis gone each node limits alone at its share.
@Suite("Rate limits")
struct RateLimitTests {
    typealias Policy = SwiftletConfiguration.RateLimits.Policy

    struct Answer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: String
        var code: String? { Reply(status: status, body: body).errorCode }
    }

    static func get(_ client: any TestClientProtocol, _ path: String, bearer: String? = nil) async throws -> Answer {
        var headers: HTTPFields = [:]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await client.execute(uri: path, method: .get, headers: headers) {
            Answer(status: $0.status, headers: $0.headers, body: String(buffer: $0.body))
        }
    }

    static func config(_ policies: [Policy], _ adjust: (inout SwiftletConfiguration) -> Void = { _ in }) -> SwiftletConfiguration {
        TestApp.config { config in
            config.rateLimits.enabled = true
            config.rateLimits.policies = policies
            config.benchEndpoints = true
            adjust(&config)
        }
    }

    @Test("per client address: the limit's burst passes, the next is 429 with Retry-After and RateLimit headers; other routes are untouched")
    func perAddress() async throws {
        let policy = Policy(name: "json", routes: ["GET /json"], key: "ip", rate: 3, period: 60, burst: 2)
        try await TestApp.withLiveApp(config: Self.config([policy])) { client in
            for _ in 0..<3 {
                #expect(try await Self.get(client, "/json").status == .ok)
            }
            let limited = try await Self.get(client, "/json")
            #expect(limited.status == .tooManyRequests && limited.code == "rate_limited")
            #expect(limited.headers[.retryAfter].flatMap(Int.init).map { (1...20).contains($0) } == true,
                    "one request is earned back every 20 s: \(limited.headers)")
            #expect(limited.headers[HTTPField.Name("RateLimit-Policy")!] == #""json";q=3;w=60"#)
            #expect(limited.headers[HTTPField.Name("RateLimit")!]?.hasPrefix(#""json";r=0;t="#) == true)
            #expect(try await Self.get(client, "/plaintext").status == .ok, "a route no policy names")
        }
    }

    @Test("the same limit on the inline lane and on the router (a pipelined request behind a slow one)")
    func inlineAndRouted() async throws {
        let policy = Policy(name: "json", routes: ["GET /json"], key: "ip", rate: 2, period: 60, burst: 1)
        var customization = TestRoutes.customization
        let box = LaneBox()
        customization.onComponents = { components in box.lane.withLock { $0 = components.inlineLane } }
        try await TestStorage.withStorage(.sqlite) { storage in
            let app = try await TestApp.application(storage: storage, config: Self.config([policy]), customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let port = try #require(client.port)
                #expect(box.templates.contains("/json"), "a per-address limit keeps the route on the lane")
                #expect(try await ParityProbe.inline(port, "/json").status == 200)
                #expect(try await ParityProbe.routed(port, "/json").status == 200)
                let inline = try await ParityProbe.inline(port, "/json")
                let routed = try await ParityProbe.routed(port, "/json")
                #expect(inline.status == 429 && routed.status == 429)
                #expect(inline.headers["ratelimit-policy"] == routed.headers["ratelimit-policy"])
            }
        }
    }

    @Test("per verified user: one user's limit does not touch another's; shadow mode refuses nothing")
    func perUserAndShadow() async throws {
        let policies = [
            Policy(name: "sessions", routes: ["GET /api/v1/auth/sessions"], key: "user", rate: 2, period: 60, burst: 1),
            Policy(name: "me-shadow", routes: ["GET /api/v1/me"], key: "user", rate: 1, period: 60, burst: 0, shadow: true),
        ]
        try await TestApp.withLiveApp(config: Self.config(policies)) { client in
            let alice = try await client.login("alice:rl1").accessToken
            let bob = try await client.login("bob:rl1").accessToken
            for _ in 0..<2 {
                #expect(try await Self.get(client, "/api/v1/auth/sessions", bearer: alice).status == .ok)
            }
            #expect(try await Self.get(client, "/api/v1/auth/sessions", bearer: alice).code == "rate_limited")
            #expect(try await Self.get(client, "/api/v1/auth/sessions", bearer: bob).status == .ok, "Bob has his own limit")
            #expect(try await Self.get(client, "/api/v1/auth/sessions").code == "auth.token_missing",
                    "no user, no limit: the route's own check answers")
            for _ in 0..<4 {
                #expect(try await Self.get(client, "/api/v1/me", bearer: alice).status == .ok, "shadow: counted, never refused")
            }
        }
    }

    @Test("over Redis a per-address and a per-user limit hold across two nodes; with Redis gone each node limits alone at rate ÷ nodes",
          .enabled(if: TestRedisServer.isAvailable))
    func acrossNodes() async throws {
        let server = try await TestRedisServer.start()
        defer { server.stop() }
        let policy = Policy(name: "json", routes: ["GET /json"], key: "ip", rate: 4, period: 3600, burst: 3)
        let perUser = Policy(name: "sessions", routes: ["GET /api/v1/auth/sessions"], key: "user", rate: 3, period: 3600, burst: 2)
        let config = Self.config([policy, perUser]) { config in
            config.redis.url = server.url
            config.cluster.nodes = 2
        }
        var customization = TestRoutes.customization
        customization.closesStorageOnShutdown = false
        let kind = EngineKind.available.contains(.postgres) ? EngineKind.postgres : .sqlite
        try await TestStorage.withStorage(kind) { storage in
            let appA = try await TestApp.application(storage: storage, config: config, customization: customization)
            var customizationB = customization
            customizationB.runsJobWorker = false
            let appB = try await TestApp.application(storage: storage, config: config, customization: customizationB)
            try await appA.test(.live) { (a: any TestClientProtocol) async throws in
                try await appB.test(.live) { (b: any TestClientProtocol) async throws in
                    // Limit 4 in all: two on each node, then both refuse.
                    for client in [a, b, a, b] {
                        #expect(try await Self.get(client, "/json").status == .ok)
                    }
                    #expect(try await Self.get(a, "/json").code == "rate_limited")
                    #expect(try await Self.get(b, "/json").code == "rate_limited")

                    // Per user: a limit of 3 in all, wherever the user's requests land.
                    let alice = try await a.login("alice:across").accessToken
                    let bob = try await b.login("bob:across").accessToken
                    for client in [a, b, b] {
                        #expect(try await Self.get(client, "/api/v1/auth/sessions", bearer: alice).status == .ok)
                    }
                    #expect(try await Self.get(a, "/api/v1/auth/sessions", bearer: alice).code == "rate_limited")
                    #expect(try await Self.get(a, "/api/v1/auth/sessions", bearer: bob).status == .ok, "Bob's limit is his own")

                    // Redis gone: a fresh key (this policy under a new name is not possible at
                    // run time, so the node's own table starts empty) admits rate ÷ nodes.
                    await server.kill()
                    var admitted = 0
                    for _ in 0..<6 where try await Self.get(b, "/json").status == .ok {
                        admitted += 1
                    }
                    #expect(admitted == 2, "burst 3 ÷ 2 nodes = 1, so a limit of 2 on node B alone (got \(admitted))")
                }
            }
        }
    }
}

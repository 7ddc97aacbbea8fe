import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletConfig
import SwiftletCore
import Testing

/// Signed requests through the seam on real sockets: every refusal code, replay refused,
/// rotation with overlap, revocation, optional routes; and on two nodes sharing a real
/// Redis, a nonce used on one is refused on the other.
@Suite("Signed requests")
struct SignedRequestTests {
    struct Answer {
        let status: HTTPResponse.Status
        let body: String
        var code: String? {
            ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any])
                .flatMap { $0["error"] as? [String: Any] }?["code"] as? String
        }
    }

    static let echo = #"{"name":"Ann","age":30}"#

    /// The key id and secret of a creation or rotation answer.
    static func issued(_ answer: Answer) throws -> (id: String, secret: String) {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any], "\(answer.body)")
        let key = try #require(json["key"] as? [String: Any])
        return (try #require(key["id"] as? String), try #require(json["secret"] as? String))
    }

    static func config(_ adjust: (inout SwiftletConfiguration) -> Void = { _ in }) -> SwiftletConfiguration {
        TestApp.config { config in
            config.signing.routes = [.init(pattern: "/test/echo", requirement: .required),
                                     .init(pattern: "/health/*", requirement: .optional)]
            adjust(&config)
        }
    }

    static func send(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, query: String = "",
                     body: String = "", headers: HTTPFields = [:]) async throws -> Answer {
        var headers = headers
        if !body.isEmpty { headers[.contentType] = "application/json" }
        return try await client.execute(
            uri: query.isEmpty ? path : path + "?" + query, method: method, headers: headers,
            body: body.isEmpty ? nil : ByteBuffer(string: body)) { Answer(status: $0.status, body: String(buffer: $0.body)) }
    }

    @Test("each refusal has its code; a replay is refused; rotation overlaps; revocation ends a key", arguments: EngineKind.available)
    func oneNode(_ kind: EngineKind) async throws {
        let clock = MutableClock(Date(timeIntervalSince1970: 1_764_460_800))
        var customization = TestRoutes.customization
        customization.clock = clock.clock
        try await TestStorage.withStorage(kind, clock: clock.clock) { storage in
            let app = try await TestApp.application(
                storage: storage, config: Self.config { $0.signing.secretOverlapSeconds = 3600 }, customization: customization)
            let adminKey = "swk_" + RandomID.base32(byteCount: 20)
            _ = try await storage.adminKeys.create(name: "admin", keyHash: SecretToken.hash(adminKey), now: clock.now)
            let admin: HTTPFields = [.authorization: "Bearer \(adminKey)"]
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let created = try await Self.send(client, .post, "/admin/v1/signing-keys", body: #"{"name":"mini-program"}"#, headers: admin)
                #expect(created.status == .created)
                let issued = try Self.issued(created)
                let signer = TestSigner(keyID: issued.id, secret: issued.secret)
                let listed = try await Self.send(client, .get, "/admin/v1/signing-keys", headers: admin)
                #expect(listed.body.contains(issued.id) && !listed.body.contains(issued.secret), "listed, never with its secret")
                #expect(try await Self.send(client, .post, "/admin/v1/signing-keys", body: #"{"name":"mini-program"}"#, headers: admin).code
                    == "signing.key_exists")

                let signed = signer.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now)
                let first = try await Self.send(client, .post, "/test/echo", body: Self.echo, headers: signed)
                #expect(first.status == .ok && first.body.contains("Ann"))
                let replay = try await Self.send(client, .post, "/test/echo", body: Self.echo, headers: signed)
                #expect(replay.status == .unauthorized && replay.code == "signature.replayed")

                #expect(try await Self.send(client, .post, "/test/echo", body: Self.echo).code == "signature.missing")
                let tampered = signer.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now)
                #expect(try await Self.send(client, .post, "/test/echo", body: #"{"name":"Bob","age":30}"#, headers: tampered).code
                    == "signature.invalid", "the body is part of what is signed")
                let stale = signer.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now.addingTimeInterval(-301))
                #expect(try await Self.send(client, .post, "/test/echo", body: Self.echo, headers: stale).code == "signature.expired")
                let early = signer.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now.addingTimeInterval(301))
                #expect(try await Self.send(client, .post, "/test/echo", body: Self.echo, headers: early).code == "signature.expired")
                let stranger = TestSigner(keyID: "ck_nosuchkey", secret: issued.secret)
                #expect(try await Self.send(client, .post, "/test/echo", body: Self.echo,
                                            headers: stranger.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now)).code
                    == "signature.unknown_key")

                // Optional: unsigned passes, a signature that does not verify does not; the query is signed.
                #expect(try await Self.send(client, .get, "/health/live").status == .ok)
                let query = "b=2&a=1"
                let health = signer.headers("GET", "/health/live", query: query, timestamp: clock.now)
                #expect(try await Self.send(client, .get, "/health/live", query: query, headers: health).status == .ok)
                let moved = signer.headers("GET", "/health/live", query: query, timestamp: clock.now)
                #expect(try await Self.send(client, .get, "/health/live", query: "b=3&a=1", headers: moved).code == "signature.invalid")

                // Rotation: both secrets verify during the overlap, only the new one after it.
                let rotated = try Self.issued(try await Self.send(client, .post, "/admin/v1/signing-keys/\(issued.id)/rotate", headers: admin))
                let renewed = TestSigner(keyID: issued.id, secret: rotated.secret)
                for current in [signer, renewed] {
                    let headers = current.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now)
                    #expect(try await Self.send(client, .post, "/test/echo", body: Self.echo, headers: headers).status == .ok)
                }
                clock.advance(3601)
                let old = signer.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now)
                #expect(try await Self.send(client, .post, "/test/echo", body: Self.echo, headers: old).code == "signature.invalid")
                let new = renewed.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now)
                #expect(try await Self.send(client, .post, "/test/echo", body: Self.echo, headers: new).status == .ok)

                // Revocation reaches this node's key cache at once.
                #expect(try await Self.send(client, .delete, "/admin/v1/signing-keys/\(issued.id)", headers: admin).status == .noContent)
                #expect(try await Self.send(client, .delete, "/admin/v1/signing-keys/\(issued.id)", headers: admin).code
                    == "signing.key_not_found")
                let revoked = renewed.headers("POST", "/test/echo", body: Self.echo, timestamp: clock.now)
                #expect(try await Self.send(client, .post, "/test/echo", body: Self.echo, headers: revoked).code == "signature.unknown_key")
            }
        }
    }

    @Test("routes no rule names, and unmatched paths, are not guarded at all")
    func offRoutes() async throws {
        try await TestApp.withLiveApp(config: Self.config()) { client in
            let document = try await Self.send(client, .get, "/openapi.json")
            let unknown = try await Self.send(client, .get, "/no/such/route")
            #expect(document.status == .ok)
            #expect(unknown.code == "route.not_found")
        }
    }

    @Test("a nonce used on node A is refused on node B (real Redis)", .enabled(if: TestRedisServer.isAvailable))
    func nonceAcrossNodes() async throws {
        let server = try await TestRedisServer.start()
        defer { server.stop() }
        let config = Self.config { $0.redis.url = server.url }
        var customization = TestRoutes.customization
        customization.closesStorageOnShutdown = false
        let kind = EngineKind.available.contains(.postgres) ? EngineKind.postgres : .sqlite
        try await TestStorage.withStorage(kind) { storage in
            let issued = try await SigningKeyService(keys: storage.signingKeys, clock: SwiftletClock.system, overlap: 60)
                .create(name: "two-nodes")
            let signer = TestSigner(keyID: issued.key.id, secret: issued.secret)
            let appA = try await TestApp.application(storage: storage, config: config, customization: customization)
            var customizationB = customization
            customizationB.runsJobWorker = false
            let appB = try await TestApp.application(storage: storage, config: config, customization: customizationB)
            try await appA.test(.live) { (a: any TestClientProtocol) async throws in
                try await appB.test(.live) { (b: any TestClientProtocol) async throws in
                    let headers = signer.headers("POST", "/test/echo", body: Self.echo, timestamp: Date())
                    #expect(try await Self.send(a, .post, "/test/echo", body: Self.echo, headers: headers).status == .ok)
                    let onB = try await Self.send(b, .post, "/test/echo", body: Self.echo, headers: headers)
                    #expect(onB.status == .unauthorized && onB.code == "signature.replayed")
                    let fresh = signer.headers("POST", "/test/echo", body: Self.echo, timestamp: Date())
                    #expect(try await Self.send(b, .post, "/test/echo", body: Self.echo, headers: fresh).status == .ok)
                    #expect(try await Self.send(a, .post, "/test/echo", body: Self.echo, headers: fresh).code == "signature.replayed")
                }
            }
        }
    }
}

import Foundation
import HummingbirdTesting
import NIOCore
import SwiftletCore
import SwiftletHTTP
import SwiftletServer
import SwiftletTransport
import Synchronization
import Testing

/// Records what the seam shows it, and refuses requests carrying `X-Refuse`.
final class RecordingObserver: RequestObserver {
    struct Seen: Sendable, Equatable {
        let route: String
        let path: String
        let status: Int
        let requestID: String
    }

    private let state = Mutex<(begun: [String], ended: [Seen])>(([], []))
    let inlineRefused: Set<String>

    init(inlineRefused: Set<String> = []) {
        self.inlineRefused = inlineRefused
    }

    func begin(_ request: RequestStart) -> SwiftletError? {
        state.withLock { $0.begun.append(request.requestID) }
        guard request.headers.first("x-refuse") != nil else { return nil }
        return SwiftletError(.rateLimited, code: "test.refused", message: "Refused by a guard.")
    }

    func end(_ request: RequestStart, _ outcome: RequestOutcome) {
        let seen = Seen(route: request.route, path: request.path, status: Int(outcome.status.code), requestID: request.requestID)
        state.withLock { $0.ended.append(seen) }
    }

    func runsInline(route: String) -> Bool { !inlineRefused.contains(route) }

    var begun: [String] { state.withLock { $0.begun } }
    var ended: [Seen] { state.withLock { $0.ended } }
}

final class LaneBox: Sendable {
    let lane = Mutex<InlineLane?>(nil)
    var answered: Int { lane.withLock { $0?.answeredCount ?? -1 } }
    var templates: [String] { lane.withLock { $0?.templates ?? [] } }
}

/// Every request passes the one seam exactly once, whichever path answers it; guards
/// refuse alike on both paths; a guard that cannot run inline turns the lane off for its route.
@Suite("Request seam")
struct RequestSeamTests {
    static func withServer(
        observer: RecordingObserver, clock: MutableClock = MutableClock(Date()), box: LaneBox = LaneBox(),
        _ body: @escaping @Sendable (_ port: Int, _ client: any TestClientProtocol) async throws -> Void
    ) async throws {
        var customization = TestRoutes.customization
        customization.observers = [observer]
        customization.clock = clock.clock
        customization.onComponents = { components in box.lane.withLock { $0 = components.inlineLane } }
        try await TestStorage.withStorage(.sqlite, clock: clock.clock) { storage in
            let config = TestApp.config { $0.benchEndpoints = true }
            let app = try await TestApp.application(storage: storage, config: config, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(try #require(client.port), client)
            }
        }
    }

    @Test("each request, inline or routed, begins and ends once with its route template")
    func everyRequestOnce() async throws {
        let observer = RecordingObserver()
        let box = LaneBox()
        try await Self.withServer(observer: observer, box: box) { port, _ in
            let before = box.answered
            let replies = try await RawConnection.open(port: port).exchange(
                "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-live\r\n\r\n"
                    + "GET /user/7 HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-user\r\n\r\n"
                    + "GET /health/ready HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-ready\r\n\r\n"
                    + "GET /no/such/path HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-none\r\n\r\n"
                    + "GET /user/abc HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-bad\r\n\r\n",
                responses: 5)
            #expect(replies.map(\.status) == [200, 200, 200, 404, 400])
            #expect(box.answered == before + 2, "the first two were answered inline")
            #expect(observer.begun == ["r-live", "r-user", "r-ready", "r-none", "r-bad"])
            #expect(observer.ended == [
                .init(route: "/health/live", path: "/health/live", status: 200, requestID: "r-live"),
                .init(route: "/user/{id}", path: "/user/7", status: 200, requestID: "r-user"),
                .init(route: "/health/ready", path: "/health/ready", status: 200, requestID: "r-ready"),
                .init(route: RequestStart.unmatchedRoute, path: "/no/such/path", status: 404, requestID: "r-none"),
                .init(route: "/user/{id}", path: "/user/abc", status: 400, requestID: "r-bad"),
            ])
        }
    }

    @Test("a guard's refusal looks the same on both paths and the handler never runs")
    func refusalOnBothPaths() async throws {
        let observer = RecordingObserver()
        let box = LaneBox()
        try await Self.withServer(observer: observer, box: box) { port, _ in
            let before = box.answered
            let inline = try await ParityProbe.inline(port, "/json", headers: "X-Refuse: 1\r\n")
            #expect(box.answered == before + 1)
            let routed = try await ParityProbe.routed(port, "/json", headers: "X-Refuse: 1\r\n")
            #expect(box.answered == before + 1, "the second was answered by the router")
            #expect(inline.status == 429)
            #expect(inline.body.contains(#""code":"test.refused""#))
            ParityProbe.expectSame(inline, routed)
            #expect(observer.ended.filter { $0.status == 429 }.count == 2)
        }
    }

    @Test("a guard that cannot run inline turns the lane off for its route only")
    func guardWithoutInlineSupport() async throws {
        let observer = RecordingObserver(inlineRefused: ["/json"])
        let box = LaneBox()
        try await Self.withServer(observer: observer, box: box) { port, _ in
            #expect(!box.templates.contains("/json"))
            #expect(box.templates.contains("/plaintext"))
            let before = box.answered
            let reply = try await ParityProbe.inline(port, "/json")
            #expect(reply.status == 200)
            #expect(box.answered == before, "served by the router")
            #expect(observer.ended.last?.route == "/json")
            _ = try await ParityProbe.inline(port, "/plaintext")
            #expect(box.answered == before + 1)
        }
    }

    @Test("every inline route answers exactly as the router does, /me with valid, expired, revoked and forged tokens")
    func parityOfEveryInlineRoute() async throws {
        let observer = RecordingObserver()
        let box = LaneBox()
        let clock = MutableClock(Date())
        try await Self.withServer(observer: observer, clock: clock, box: box) { port, client in
            let templates = box.templates
            #expect(Set(templates) == ["/health/live", "/json", "/plaintext", "/user/{id}", "/api/v1/me", "/api/v1/products",
                                       "/api/v1/products/{id}"])
            for template in templates where !template.hasPrefix("/api/v1/") {
                for path in template == "/user/{id}" ? ["/user/42", "/user/x"] : [template] {
                    let before = box.answered
                    let inline = try await ParityProbe.inline(port, path)
                    if path != "/user/x" { #expect(box.answered == before + 1, "\(path) answered inline") }
                    let routed = try await ParityProbe.routed(port, path)
                    ParityProbe.expectSame(inline, routed, path)
                }
            }

            // The catalogue: a miss is loaded by the router and kept; then the lane answers it
            // from the cache, exactly as the router does.
            let firstPage = try await ParityProbe.routed(port, "/api/v1/products?limit=2")
            let productID = try #require(firstPage.body.firstMatch(of: /"id":"([^"]+)"/)?.1, "the demo catalogue has products")
            for path in ["/api/v1/products?limit=2", "/api/v1/products/\(productID)"] {
                let routed = try await ParityProbe.routed(port, path)
                #expect(routed.status == 200, "\(path)")
                let before = box.answered
                let inline = try await ParityProbe.inline(port, path)
                #expect(box.answered == before + 1, "\(path) answered inline once cached")
                ParityProbe.expectSame(inline, routed, path)
            }
            // Queries the lane does not read plainly (escapes, unknown or repeated names) and
            // misses go to the router.
            for path in ["/api/v1/products?limit=%32", "/api/v1/products?limit=2&x=1", "/api/v1/products?limit=2&limit=3",
                         "/api/v1/products?limit=3", "/api/v1/products/unknown-product"] {
                let before = box.answered
                let inline = try await ParityProbe.inline(port, path)
                #expect(box.answered == before, "\(path) left to the router")
                ParityProbe.expectSame(inline, try await ParityProbe.routed(port, path), path)
            }

            let valid = try await client.login("parity:valid")
            _ = try await ParityProbe.routed(port, "/api/v1/me", bearer: valid.accessToken)
            let before = box.answered
            let inlineMe = try await ParityProbe.inline(port, "/api/v1/me", bearer: valid.accessToken)
            #expect(box.answered == before + 1, "a verified token and a cached row are answered inline")
            ParityProbe.expectSame(inlineMe, try await ParityProbe.routed(port, "/api/v1/me", bearer: valid.accessToken))
            #expect(inlineMe.status == 200)

            let revoked = try await client.login("parity:revoked")
            _ = try await ParityProbe.inline(port, "/api/v1/me", bearer: revoked.accessToken)
            #expect(try await client.call(.post, "/api/v1/auth/logout", bearer: revoked.accessToken).status == .noContent)
            let forged = valid.accessToken.dropLast(4) + "AAAA"
            let expiring = try await client.login("parity:expired")
            _ = try await ParityProbe.inline(port, "/api/v1/me", bearer: expiring.accessToken)

            func expectRefusedAlike(_ token: String, _ code: String) async throws {
                let before = box.answered
                let inline = try await ParityProbe.inline(port, "/api/v1/me", bearer: token)
                let routed = try await ParityProbe.routed(port, "/api/v1/me", bearer: token)
                #expect(inline.status == 401)
                #expect(inline.body.contains(code), "\(code)")
                ParityProbe.expectSame(inline, routed, code)
                #expect(box.answered == before, "refusals are worded by the router's check")
            }
            try await expectRefusedAlike(revoked.accessToken, "auth.token_revoked")
            try await expectRefusedAlike(String(forged), "auth.token_invalid")
            try await expectRefusedAlike("", "auth.token_missing")
            clock.advance(3600)
            try await expectRefusedAlike(expiring.accessToken, "auth.token_expired")
        }
    }
}

/// Sends one request so that the lane may answer it, or so that the router must: behind a
/// slow request on the same connection (later pipelined requests follow a routed one), so
/// the routed copy is byte for byte the same request.
enum ParityProbe {
    static func inline(_ port: Int, _ path: String, bearer: String? = nil, headers: String = "") async throws -> RawReply {
        let request = Self.request(path, bearer: bearer, headers: headers)
        return try #require(try await RawConnection.open(port: port).exchange(request, responses: 1).first)
    }

    static func routed(_ port: Int, _ path: String, bearer: String? = nil, headers: String = "") async throws -> RawReply {
        let request = Self.request(path, bearer: bearer, headers: headers)
        let replies = try await RawConnection.open(port: port).exchange(
            "GET /test/slow?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n" + request, responses: 2)
        return try #require(replies.last)
    }

    static func request(_ path: String, bearer: String?, headers: String) -> String {
        let authorization = bearer.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        return "GET \(path) HTTP/1.1\r\nHost: x\r\nX-Request-Id: parity-1\r\n\(authorization)\(headers)\r\n"
    }

    /// Same status, body and headers, except the two that must differ per response.
    static func expectSame(_ inline: RawReply, _ routed: RawReply, _ label: String = "",
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(inline.status == routed.status, "\(label)", sourceLocation: sourceLocation)
        #expect(inline.body == routed.body, "\(label)", sourceLocation: sourceLocation)
        var inlineHeaders = inline.headers, routedHeaders = routed.headers
        for name in ["date", "x-request-id"] {
            inlineHeaders[name] = nil
            routedHeaders[name] = nil
        }
        #expect(inlineHeaders == routedHeaders, "\(label)", sourceLocation: sourceLocation)
        #expect(inline.headers["x-request-id"] == "parity-1" && routed.headers["x-request-id"] == "parity-1")
    }
}

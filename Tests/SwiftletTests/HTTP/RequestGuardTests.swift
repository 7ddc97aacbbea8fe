import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletCore
import SwiftletTransport
import Synchronization
import Testing

/// A guard that may suspend: refuses a body containing "forbidden" on the routes it
/// guards, after a real suspension, and records what it was shown.
final class SuspendingBodyGuard: RequestGuard {
    let guarded: Set<String>
    private let state = Mutex<(bodies: [String], ended: Int)>(([], 0))

    init(guarded: Set<String>) {
        self.guarded = guarded
    }

    func admits(route: String) -> Bool { guarded.contains(route) }
    func needsBody(route: String) -> Bool { true }

    func admit(_ request: RequestStart, body: ByteBuffer?) async -> SwiftletError? {
        await Task.yield()
        let text = body.map { String(buffer: $0) } ?? "(none)"
        state.withLock { $0.bodies.append(text) }
        return text.contains("forbidden")
            ? SwiftletError(.unauthenticated, code: "test.guard_refused", message: "Refused by an async guard.") : nil
    }

    func end(_ request: RequestStart, _ outcome: RequestOutcome) {
        state.withLock { $0.ended += 1 }
    }

    var bodies: [String] { state.withLock { $0.bodies } }
    var ended: Int { state.withLock { $0.ended } }
}

/// Guards that need to suspend or to read the body run once per request on the router
/// path, take their routes off the inline lane, and hand the handler the same body.
@Suite("Request guards that suspend")
struct RequestGuardTests {
    static func withServer(
        _ requestGuard: SuspendingBodyGuard, box: LaneBox = LaneBox(),
        _ body: @escaping @Sendable (_ port: Int, _ client: any TestClientProtocol) async throws -> Void
    ) async throws {
        var customization = TestRoutes.customization
        customization.observers = [requestGuard]
        customization.onComponents = { components in box.lane.withLock { $0 = components.inlineLane } }
        try await TestStorage.withStorage(.sqlite) { storage in
            let config = TestApp.config { $0.benchEndpoints = true }
            let app = try await TestApp.application(storage: storage, config: config, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(try #require(client.port), client)
            }
        }
    }

    @Test("the guard sees the raw body, the handler gets the same bytes, a refusal is the guard's error")
    func bodyGuard() async throws {
        let requestGuard = SuspendingBodyGuard(guarded: ["/test/echo"])
        try await Self.withServer(requestGuard) { _, client in
            let raw = #"{"name":"Ann",  "age":30}"#
            let allowed = try await client.execute(
                uri: "/test/echo", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: raw)) { response in (response.status, String(buffer: response.body)) }
            #expect(allowed.0 == .ok && allowed.1.contains("Ann"))
            let refused = try await client.execute(
                uri: "/test/echo", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"name":"forbidden","age":1}"#)) { response in (response.status, String(buffer: response.body)) }
            #expect(refused.0 == .unauthorized && refused.1.contains("test.guard_refused"))
            let unguarded = try await client.execute(uri: "/health/live", method: .get) { $0.status }
            #expect(unguarded == .ok)
            #expect(requestGuard.bodies == [raw, #"{"name":"forbidden","age":1}"#], "the raw bytes, only for guarded routes")
            #expect(requestGuard.ended == 3, "end once per request, refused or not")
        }
    }

    @Test("a route a guard admits is taken off the inline lane, and still guarded")
    func offTheLane() async throws {
        let requestGuard = SuspendingBodyGuard(guarded: ["/json"])
        let box = LaneBox()
        try await Self.withServer(requestGuard, box: box) { port, _ in
            #expect(!box.templates.contains("/json"))
            #expect(box.templates.contains("/plaintext"))
            let before = box.answered
            let reply = try await ParityProbe.inline(port, "/json")
            #expect(reply.status == 200)
            #expect(box.answered == before, "answered by the router, not the lane")
            #expect(requestGuard.bodies == [""], "the guard ran, with the empty body")
        }
    }
}

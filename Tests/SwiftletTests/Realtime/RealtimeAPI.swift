import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftletConfig
import SwiftletCore
import Testing

/// A live application for the realtime REST tests (inbox, direct messages, rooms), and
/// calls that keep the answer's headers (`Idempotent-Replayed`, `Retry-After`, `Location`).
/// Each suite adds its own calls in an extension next to its tests.
struct RealtimeAPI {
    struct User {
        let token: String
        let userID: String
    }

    struct Exchange {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: String

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }

        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    let client: any TestClientProtocol

    /// Runs `body` against a live application on `kind`, set up as for the socket tests
    /// (`RealtimeHarness.live`).
    static func run(
        _ kind: EngineKind, clock: SwiftletClock = .system, _ adjust: @escaping (inout SwiftletConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (RealtimeAPI) async throws -> Void
    ) async throws {
        try await RealtimeHarness.live(kind, clock: clock, configure: adjust) { client, _ in
            try await body(RealtimeAPI(client: client))
        }
    }

    func login(_ name: String) async throws -> User {
        let tokens = try await client.login("\(name):\(RandomID.base32(byteCount: 6))")
        return User(token: tokens.accessToken, userID: try #require(tokens.user?.id))
    }

    func exchange(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, headers: HTTPFields = [:]) async throws -> Exchange {
        var all = headers
        if json != nil { all[.contentType] = "application/json" }
        return try await client.execute(uri: uri, method: method, headers: all, body: json.map { ByteBuffer(string: $0) }) { response in
            Exchange(status: response.status, headers: response.headers, body: String(buffer: response.body))
        }
    }

    func call(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, as user: User) async throws -> Exchange {
        try await exchange(method, uri, json: json, headers: [.authorization: "Bearer \(user.token)"])
    }
}

extension HTTPField.Name {
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

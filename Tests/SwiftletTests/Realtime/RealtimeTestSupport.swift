import Foundation
import HummingbirdTesting
import SwiftletConfig
import SwiftletCore
import SwiftletServer
import Testing

/// A live application (real sockets) for realtime tests, with the parts they drive.
struct RealtimeHarness {
    let port: Int
    let storage: any StorageEngine
    let api: LiveHTTPClient

    /// Runs `body` against a live server on a fresh database.
    static func run(
        _ kind: EngineKind = .sqlite, clock: SwiftletClock = .system, cluster: (any ClusterState)? = nil,
        configure adjust: @escaping (inout SwiftletConfiguration) -> Void = { _ in },
        customize: (inout SwiftletCustomization) -> Void = { _ in },
        _ body: @escaping @Sendable (RealtimeHarness) async throws -> Void
    ) async throws {
        try await live(kind, clock: clock, cluster: cluster, configure: adjust, customize: customize) { client, storage in
            let port = try #require(client.port)
            try await body(RealtimeHarness(port: port, storage: storage, api: LiveHTTPClient(port: port)))
        }
    }

    /// The live server `run` starts, handed over with the test framework's client (which
    /// keeps the answer's headers: `RealtimeAPI`). The per-minute message limit is lifted
    /// unless `adjust` sets it: tests that send many messages are not about it.
    static func live(
        _ kind: EngineKind, clock: SwiftletClock, cluster: (any ClusterState)? = nil,
        configure adjust: @escaping (inout SwiftletConfiguration) -> Void,
        customize: (inout SwiftletCustomization) -> Void = { _ in },
        _ body: @escaping @Sendable (any TestClientProtocol, any StorageEngine) async throws -> Void
    ) async throws {
        let config = TestApp.config { config in
            config.realtime.messagesPerMinute = 100_000
            adjust(&config)
        }
        try await TestStorage.withStorage(kind) { storage in
            var customization = TestRoutes.customization
            customization.clock = clock
            customization.clusterState = cluster
            customize(&customization)
            let app = try await TestApp.application(storage: storage, config: config, customization: customization)
            try await app.test(.live) { client in
                try await body(client, storage)
            }
        }
    }

    /// Logs a sandbox user in: its access token and user id.
    func login(_ name: String) async throws -> (token: String, userID: String, refreshToken: String) {
        let body = try await api.json(.POST, "/api/v1/auth/wechat/login", json: #"{"code":"\#(name):\#(UUID().uuidString)"}"#)
        let token = try #require(body["accessToken"] as? String)
        let user = try #require((body["user"] as? [String: Any])?["id"] as? String)
        return (token, user, try #require(body["refreshToken"] as? String))
    }

    func connect(_ token: String?, since: Int64 = 0, device: String = "d1", autoRead: Bool = true) async throws -> TestWebSocket {
        try await TestWebSocket.connect(port: port, path: "/api/v1/realtime?since=\(since)&device=\(device)", token: token,
                                        autoRead: autoRead)
    }
}

extension TestWebSocket {
    /// Reads frames until `welcome`, returning it.
    func welcome() async throws -> [String: Any] {
        let frame = try #require(await nextJSON(), "no welcome frame")
        try #require(frame["type"] as? String == "welcome", "expected welcome, got \(frame)")
        return frame
    }

    /// Messages (`type: message`) until `count` arrived or nothing comes for `timeout`.
    func messages(_ count: Int, timeout: Duration = .seconds(10)) async -> [[String: Any]] {
        var messages: [[String: Any]] = []
        while messages.count < count, let frame = await nextJSON(timeout: timeout) {
            if frame["type"] as? String == "message" { messages.append(frame) }
        }
        return messages
    }

    /// Sends a direct message frame and waits for its `sent` answer (skipping other frames).
    func sendDirectMessage(to user: String, text: String, id: String) async throws -> [String: Any] {
        try await send(json: ["type": "send", "to": user, "text": text, "clientMsgId": id])
        while let frame = await nextJSON() {
            if frame["type"] as? String == "sent" || frame["type"] as? String == "error" { return frame }
        }
        throw TestSetupError("no answer to send \(id)")
    }
}

extension [[String: Any]] {
    var seqs: [Int64] { compactMap { ($0["seq"] as? NSNumber)?.int64Value } }
}

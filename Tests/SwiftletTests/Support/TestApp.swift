import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import SwiftletConfig
import SwiftletCore
import SwiftletHTTP
import SwiftletServer
import SwiftletTransport

/// Routes only the tests add, through the same customization hook library users have.
enum TestRoutes {
    struct Person: Codable, ResponseEncodable {
        let name: String
        let age: Int
    }

    struct Failure: Error {}

    static let customization = SwiftletCustomization(routes: { router, _ in
        router.post("/test/echo") { request, context -> Person in
            try await request.decodeJSON(Person.self, context: context)
        }
        router.get("/test/crash") { _, _ -> String in
            throw Failure()
        }
        router.get("/test/slow") { request, _ -> String in
            let milliseconds = request.uri.queryParameters.get("ms", as: Int.self) ?? 1500
            try await Task.sleep(for: .milliseconds(milliseconds))
            return "done"
        }
        router.get("/test/domain-conflict") { _, _ -> String in
            throw SwiftletError.conflict("test.conflict", "Already done.")
        }
    })
}

enum TestApp {
    /// Generated development secrets for tests live here (shared, created once).
    static let secretsDirectory = NSTemporaryDirectory() + "swiftlet-test-secrets"

    static func config(_ adjust: (inout SwiftletConfiguration) -> Void = { _ in }) -> SwiftletConfiguration {
        var config = SwiftletConfiguration()
        config.profile = .test
        config.http.port = 0
        config.log.accessLog = false
        config.dataDirectory = TestApp.secretsDirectory
        // Every test application runs a webhook worker; at the production default (0.1 s)
        // dozens of idle ones polling at once loaded both cores enough to push other suites'
        // real-time bounds over. Tests that deliver webhooks set a short interval themselves.
        config.webhooks.pollIntervalSeconds = 1
        // The sandboxes answer in milliseconds, but on a loaded CI machine a login or a
        // prepay has been seen to wait past the 5 s production default; tests that are
        // about timeouts set a short one themselves.
        config.wechat.timeoutSeconds = 30
        config.wechatPay.timeoutSeconds = 30
        adjust(&config)
        return config
    }

    static func application(
        storage: any StorageEngine, config: SwiftletConfiguration = TestApp.config(),
        customization: SwiftletCustomization = TestRoutes.customization
    ) async throws -> SwiftletApplication {
        try await buildApplication(config, storage: storage, logger: TestStorage.logger, customization: customization)
    }

    /// Runs `body` against a live server (real sockets) on a fresh database.
    static func withLiveApp(
        _ kind: EngineKind = .sqlite,
        config: SwiftletConfiguration = TestApp.config(),
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let app = try await application(storage: storage, config: config)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(client)
            }
        }
    }
}

/// A raw TCP connection, for behaviour an HTTP client library hides (slow clients,
/// half-sent requests).
struct RawConnection {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func open(port: Int) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawConnection(channel: channel)
    }

    /// Sends `chunks` one by one with `interval` between them, and returns how long after
    /// the first send the server closed the connection (nil if it did not within `limit`),
    /// plus everything the server sent meanwhile.
    func dribble(_ chunks: [String], interval: Duration, limit: Duration) async throws -> (closedAfter: Duration?, received: String) {
        let start = ContinuousClock.now
        let received = ReceivedText()
        let closedAfter: Duration? = try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Duration?.self) { group in
                group.addTask {
                    do {
                        for try await buffer in inbound {
                            received.append(String(buffer: buffer))
                        }
                    } catch {}
                    return ContinuousClock.now - start
                }
                group.addTask {
                    for chunk in chunks {
                        do {
                            try await outbound.write(ByteBuffer(string: chunk))
                        } catch {
                            break
                        }
                        try await Task.sleep(for: interval)
                    }
                    try await Task.sleep(until: start + limit)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
        }
        return (closedAfter, received.text)
    }
}

final class ReceivedText: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    func append(_ text: String) { lock.withLock { value += text } }
    var text: String { lock.withLock { value } }
}

import Foundation
import Glibc
import Testing

/// The real binary killed with SIGKILL while a webhook attempt is in flight: after the
/// restart the message is sent again, with the same `webhook-id`, once the dead node's
/// lease has passed.
@Suite("Webhook crash recovery", .serialized, .timeLimit(.minutes(3)))
struct WebhookCrashTests {
    @Test("kill -9 mid-delivery: the restarted node delivers the same message again", arguments: EngineKind.available)
    func killMidDelivery(_ kind: EngineKind) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let storage = try await CrashRecoveryTests.storageEnvironment(kind)
        let environment = [
            "SWIFTLET_DATA_DIRECTORY": directory.path + "/data",
            "SWIFTLET_STORAGE_SQLITE_PATH": directory.path + "/data/swiftlet.sqlite",
            "SWIFTLET_WEBHOOKS_POLL_INTERVAL": "0.05", "SWIFTLET_WEBHOOKS_ATTEMPT_TIMEOUT": "4", "SWIFTLET_WEBHOOKS_LEASE": "6",
            "SWIFTLET_LOG_LEVEL": "notice",
        ].merging(storage.environment) { $1 }
        try FileManager.default.createDirectory(atPath: directory.path + "/data", withIntermediateDirectories: true)
        try await TestWebhookReceiver.with { receiver in
            // Registered with the CLI twin, before any node runs.
            let created = try await SwiftletProcess.run(
                ["admin", "webhooks", "create", "--url", receiver.url, "--event-type", "user.created"], environment: environment)
            #expect(created.status == 0, "\(created.standardError)")
            let lines = created.standardOutput.split(separator: "\n").map(String.init)
            let endpointID = try #require(lines.first { $0.hasPrefix("ep_") }?.split(separator: "\t").first.map(String.init),
                                          "\(created.standardOutput)")
            #expect(lines.contains { $0.hasPrefix("whsec_") })

            // The first attempt hangs; the node dies while it waits.
            receiver.script([.delayed(.seconds(6))])
            let first = try SwiftletProcess.start(["serve", "--port", "0"], workingDirectory: directory.path, environment: environment)
            let api = LiveHTTPClient(port: try await first.waitForPort())
            _ = try await api.json(.POST, "/api/v1/auth/wechat/login", json: #"{"code":"crash-hook:1"}"#)
            let inFlight = try await receiver.waitFor(1)
            try #require(inFlight.count == 1, "no delivery started; the node said:\n\(first.output)")
            kill(first.process.processIdentifier, SIGKILL)
            first.process.waitUntilExit()

            let second = try SwiftletProcess.start(["serve", "--port", "0"], workingDirectory: directory.path, environment: environment)
            _ = try await second.waitForPort()
            let all = try await receiver.waitFor(2, within: .seconds(20))
            #expect(all.count == 2, "the message was not sent again after the restart; the node said:\n\(second.output)")
            #expect(all.count == 2 && all[0].id == all[1].id, "the same webhook-id after the restart")
            #expect(all.count == 2 && all[0].body == all[1].body)

            // The answer is recorded just after the receiver saw the request.
            var listing = ""
            for _ in 0..<50 where !listing.contains("\tdelivered\t") {
                let messages = try await SwiftletProcess.run(["admin", "webhooks", "messages", endpointID], environment: environment)
                listing = messages.standardOutput + messages.standardError
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(listing.contains("\tdelivered\t") && listing.contains("attempts=2"), "\(listing)")
            #expect(try await second.terminate() == 0)
        }
        await storage.cleanup()
    }
}

import Foundation
import HummingbirdTesting
import SwiftletResilience
import SwiftletServer
import Synchronization
import Testing

/// The breakers as a running application wires them: what clients see while WeChat fails,
/// what the log says, and the snapshot metrics will read.
@Suite("Outbound breakers in a running application")
struct OutboundBreakerAppTests {
    @Test("WeChat failing: logins get 503 wechat.busy, most without a call to WeChat; the start is logged once, without secrets")
    func weChatOutageSeenByClients() async throws {
        let log = LogRecorder()
        let components = Mutex<SwiftletComponents?>(nil)
        var customization = SwiftletCustomization()
        customization.onComponents = { parts in components.withLock { $0 = parts } }
        let config = TestApp.config()
        try await TestStorage.withStorage(.sqlite) { storage in
            let app = try await buildApplication(config, storage: storage, logger: log.logger, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let logins = 40
                for index in 0..<logins {
                    let reply = try await client.call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"err:-1:\#(index)"}"#)
                    #expect(reply.status == .serviceUnavailable)
                    #expect(reply.errorCode == "wechat.busy", "a local refusal reads like WeChat being busy")
                }
                #expect(try await storage.users.count() == 0)

                let breakers = try #require(components.withLock { $0 }?.breakers)
                let wechat = try #require(breakers.snapshots().first { $0.dependency == "wechat" })
                #expect(wechat.isRefusing)
                #expect(wechat.totals.failures + wechat.totals.refusals == logins)
                #expect(wechat.totals.refusals >= logins / 2, "\(wechat.totals.refusals) of \(logins) refused locally")
                #expect(breakers.snapshots().map(\.dependency).starts(with: ["wechat", "wechatpay"]))

                let started = log.logged.filter { $0.message.hasPrefix("dependency breaker started refusing calls") }
                #expect(started.count == 1, "logged once per change")
                #expect(started.first?.level == .warning)
                #expect(started.first?.metadata["dependency"] == "wechat")
                #expect(started.first.flatMap { Double($0.metadata["rejectProbability"] ?? "") }.map { $0 > 0.5 } == true)
                let secret = try #require(config.wechat.effectiveAppSecret)
                for record in log.logged {
                    let text = record.message + " " + record.metadata.values.joined(separator: " ")
                    #expect(!text.contains(secret), "no log line carries the AppSecret: \(record.message)")
                    #expect(!text.contains("err:-1:"), "no log line carries a login code: \(record.message)")
                }
            }
        }
    }
}

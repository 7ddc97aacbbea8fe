import Foundation
import HummingbirdTesting
import SwiftletConfig
import SwiftletCore
import SwiftletServer
import Testing

/// What the three-node test against real processes relies on, with two applications in
/// one process: a node reaches another node's WeChat sandbox through `wechat.apiBaseUrl`
/// and the sandbox AppID/AppSecret, the sandbox reports its `stable_token` calls over
/// HTTP, and its reject control triggers the cluster's one forced refresh.
@Suite("WeChat sandbox shared by nodes")
struct SandboxAcrossNodesTests {
    struct Stats: Decodable {
        let stableTokenCalls: Int
        let forcedStableTokenCalls: Int
    }

    func stats(_ client: any TestClientProtocol) async throws -> Stats {
        try await client.call(.get, "/sandbox/wechat/stats").decode(Stats.self)
    }

    func bindPhone(_ client: any TestClientProtocol, bearer: String, code: String) async throws {
        let reply = try await client.call(.post, "/api/v1/me/phone", json: #"{"code":"\#(code)"}"#, bearer: bearer)
        #expect(reply.status == .ok, "\(reply.body)")
        #expect(try reply.decode(UserBody.self).phone?.hasPrefix("+8613") == true)
    }

    @Test("node B uses node A's sandbox; both share one access_token; a rejected token is force-refreshed once", arguments: EngineKind.available)
    func nodeUsesAnotherNodesSandbox(kind: EngineKind) async throws {
        let cluster = InProcessClusterState()
        let customization = {
            var customization = TestRoutes.customization
            customization.clusterState = cluster
            customization.runsJobWorker = false
            return customization
        }()
        try await TestStorage.withStorage(kind) { storageA in
            let nodeA = try await TestApp.application(storage: storageA, customization: customization)
            try await nodeA.test(.live) { (a: any TestClientProtocol) async throws in
                let port = try #require(a.port)
                // B has no sandbox of its own: it is configured as for a real WeChat, at A's address.
                let configB = TestApp.config {
                    $0.wechat.sandbox = false
                    $0.wechat.apiBaseURL = "http://127.0.0.1:\(port)/sandbox/wechat"
                    $0.wechat.appSecret = SwiftletConfiguration.WeChat.sandboxAppSecret
                }
                try await TestStorage.withStorage(kind) { storageB in
                    let nodeB = try await TestApp.application(storage: storageB, config: configB, customization: customization)
                    try await nodeB.test(.live) { (b: any TestClientProtocol) async throws in
                        #expect(try await b.call(.get, "/sandbox/wechat/stats").status == .notFound, "B mounts no sandbox")
                        let onB = try await b.login("hana:1").accessToken
                        let onA = try await a.login("hana:2").accessToken
                        #expect(try await stats(a).stableTokenCalls == 0)

                        try await bindPhone(b, bearer: onB, code: "hana:p1")
                        try await bindPhone(a, bearer: onA, code: "hana:p2")
                        var counted = try await stats(a)
                        #expect(counted.stableTokenCalls == 1, "one fetch for both nodes")

                        let rejected = try await a.call(.post, "/sandbox/wechat/control/reject-token")
                        #expect(rejected.status == .ok)
                        try await bindPhone(b, bearer: onB, code: "hana:p3")
                        try await bindPhone(a, bearer: onA, code: "hana:p4")
                        counted = try await stats(a)
                        #expect(counted.forcedStableTokenCalls == 1)
                        #expect(counted.stableTokenCalls == 3, "the rejected token once more in normal mode, then the forced refresh")
                    }
                }
            }
        }
    }
}

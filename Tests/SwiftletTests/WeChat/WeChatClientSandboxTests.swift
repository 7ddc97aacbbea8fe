import Foundation
import Hummingbird
import HummingbirdTesting
import SwiftletConfig
import SwiftletHTTP
import SwiftletSandbox
import SwiftletTransport
import SwiftletWeChat
import Testing

/// The real client against the sandbox over real HTTP.
@Suite("WeChat client against the sandbox")
struct WeChatClientSandboxTests {
    static let appID = "wx00000000sandbox"
    static let secret = "sandbox-test-secret"

    /// Runs a server with only the sandbox mounted and hands `body` a client for it.
    func withSandbox(
        timeout: Duration = .seconds(5), clientSecret: String = WeChatClientSandboxTests.secret,
        _ body: @escaping @Sendable (WeChatClient, WeChatSandbox) async throws -> Void
    ) async throws {
        let sandbox = WeChatSandbox(appID: Self.appID, appSecret: Self.secret)
        let router = Router(context: SwiftletRequestContext.self)
        sandbox.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            let port = try #require(client.port)
            let wechat = WeChatClient(configuration: WeChatConfiguration(
                appID: Self.appID, appSecret: clientSecret, baseURL: { "http://127.0.0.1:\(port)/sandbox/wechat" }, timeout: timeout))
            try await body(wechat, sandbox)
        }
    }

    @Test func sameNameSameOpenidEachCodeOnce() async throws {
        try await withSandbox { client, _ in
            let first = try await client.code2Session(code: "alice:1")
            let second = try await client.code2Session(code: "alice:2")
            let bob = try await client.code2Session(code: "bob:1")
            #expect(first.openid == second.openid)
            #expect(first.unionid != nil && first.unionid == second.unionid)
            #expect(first.openid != bob.openid)
            #expect(first.openid.count == 28 && first.openid.hasPrefix("o"))
            #expect(Data(base64Encoded: first.sessionKey)?.count == 16)
            #expect(!String(describing: first).contains(first.sessionKey), "the session key never appears in descriptions")
            await #expect(throws: WeChatError.codeUsed) { try await client.code2Session(code: "alice:1") }
        }
    }

    @Test func scriptedErrors() async throws {
        try await withSandbox { client, _ in
            await #expect(throws: WeChatError.busy) { try await client.code2Session(code: "err:-1:a") }
            await #expect(throws: WeChatError.invalidCode) { try await client.code2Session(code: "err:40029:a") }
            await #expect(throws: WeChatError.rateLimited) { try await client.code2Session(code: "err:45011:a") }
            await #expect(throws: WeChatError.highRiskUser) { try await client.code2Session(code: "err:40226:a") }
            await #expect(throws: WeChatError.invalidCode) { try await client.code2Session(code: "garbage") }
        }
    }

    @Test func wrongSecretIsRefused() async throws {
        try await withSandbox(clientSecret: "wrong") { client, _ in
            do {
                _ = try await client.code2Session(code: "x:1")
                Issue.record("a wrong secret must be refused")
            } catch WeChatError.api(let errcode, _) {
                #expect(errcode == 40125)
            }
        }
    }

    @Test("concurrent callers share one access_token fetch")
    func singleFlightToken() async throws {
        try await withSandbox { client, sandbox in
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<30 { group.addTask { try await client.accessToken() } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(tokens.count == 1)
            #expect(sandbox.stableTokenCalls == 1)
        }
    }

    @Test("GET /cgi-bin/token: a new token each call, the replaced one valid for five more minutes, bad credentials refused")
    func classicToken() async throws {
        let sandbox = WeChatSandbox(appID: Self.appID, appSecret: Self.secret)
        let router = Router(context: SwiftletRequestContext.self)
        sandbox.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            func token(_ query: String) async throws -> [String: Any] {
                try await client.execute(uri: "/sandbox/wechat/cgi-bin/token?\(query)", method: .get) { response in
                    try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                }
            }
            func phone(_ accessToken: String, _ code: String) async throws -> [String: Any] {
                try await client.execute(uri: "/sandbox/wechat/wxa/business/getuserphonenumber?access_token=\(accessToken)",
                                         method: .post, body: ByteBuffer(string: #"{"code":"\#(code)"}"#)) { response in
                    try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                }
            }
            let query = "grant_type=client_credential&appid=\(Self.appID)&secret=\(Self.secret)"
            let first = try await token(query)
            let second = try await token(query)
            let firstToken = try #require(first["access_token"] as? String)
            let secondToken = try #require(second["access_token"] as? String)
            #expect(firstToken != secondToken, "every call issues a new token")
            #expect(second["expires_in"] as? Int == 7200)
            #expect(try await phone(secondToken, "dora:1")["errcode"] as? Int == 0)
            #expect(try await phone(firstToken, "dora:2")["errcode"] as? Int == 0, "the replaced token still works for a while")
            #expect(try await phone("sandbox_ct_forged", "dora:3")["errcode"] as? Int == 40001)
            #expect(try await token("grant_type=client_credential&appid=\(Self.appID)&secret=wrong")["errcode"] as? Int == 40125)
            #expect(try await token("grant_type=client_credential&appid=wx0&secret=\(Self.secret)")["errcode"] as? Int == 40013)
            #expect(try await token("grant_type=password&appid=\(Self.appID)&secret=\(Self.secret)")["errcode"] as? Int == 40002)
        }
    }

    @Test("a rejected access_token is refreshed once and the call retried")
    func staleTokenRetry() async throws {
        try await withSandbox { client, sandbox in
            let phone = try await client.phoneNumber(code: "carol:1")
            #expect(phone.phoneNumber.hasPrefix("+8613"))
            #expect(phone.countryCode == "86")
            #expect(sandbox.stableTokenCalls == 1)
            sandbox.rotateToken()
            let again = try await client.phoneNumber(code: "carol:2")
            #expect(again.phoneNumber == phone.phoneNumber, "same name, same phone")
            #expect(sandbox.stableTokenCalls == 2, "one refresh after the 40001")
            await #expect(throws: WeChatError.codeUsed) { try await client.phoneNumber(code: "carol:2") }
        }
    }

    @Test("a WeChat that does not answer fails with .timeout within the client timeout")
    func timeout() async throws {
        try await withSandbox(timeout: .milliseconds(500)) { client, _ in
            let started = ContinuousClock.now
            await #expect(throws: WeChatError.timeout) { try await client.code2Session(code: "slow:3000:dave") }
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    @Test func unreachableServerIsATransportError() async throws {
        let client = WeChatClient(configuration: WeChatConfiguration(
            appID: Self.appID, appSecret: Self.secret, baseURL: { "http://127.0.0.1:1/sandbox/wechat" }, timeout: .seconds(2)))
        do {
            _ = try await client.code2Session(code: "x:1")
            Issue.record("expected a failure")
        } catch let error as WeChatError {
            switch error {
            case .transport, .timeout: break
            default: Issue.record("unexpected \(error)")
            }
        }
    }
}

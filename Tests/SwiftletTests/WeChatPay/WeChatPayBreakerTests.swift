import Foundation
import Hummingbird
import HummingbirdTesting
import SwiftletHTTP
import SwiftletResilience
import SwiftletSandbox
import SwiftletTransport
import SwiftletWeChatPay
import Synchronization
import Testing

/// The WeChat Pay client's breaker against the pay sandbox over real HTTP: failures
/// injected through the sandbox's own `failNext` (500 SYSTEM_ERROR), a hang put in front
/// of it, and recovery; the breaker's time is moved by hand.
@Suite("WeChat Pay client breaker against the sandbox")
struct WeChatPayBreakerTests {
    /// While set, requests wait this long before the sandbox sees them.
    final class Stall: Sendable {
        let delay = Mutex<Duration?>(nil)
    }

    struct StallMiddleware: RouterMiddleware {
        typealias Context = SwiftletRequestContext
        let stall: Stall

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            if let delay = stall.delay.withLock({ $0 }) { try await Task.sleep(for: delay) }
            return try await next(request, context)
        }
    }

    struct Bed {
        let client: WeChatPayClient
        let sandbox: WeChatPaySandbox
        let stall: Stall
        let clock: ManualResilienceClock
        let changes: BreakerChanges
    }

    func withSandbox(timeout: Duration = .seconds(5), _ body: @escaping @Sendable (Bed) async throws -> Void) async throws {
        let credentials = PaySandboxHarness.credentials
        let sandbox = try WeChatPaySandbox(credentials: credentials, keyMode: .publicKey)
        let stall = Stall()
        let router = Router(context: SwiftletRequestContext.self)
        router.add(middleware: StallMiddleware(stall: stall))
        sandbox.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            let port = try #require(client.port)
            let clock = ManualResilienceClock()
            let changes = BreakerChanges(clock: clock)
            let breaker = DependencyBreaker(
                name: "wechatpay", now: clock.source, random: SeededDraws(seed: 7).source, onChange: changes.sink)
            let pay = try WeChatPayClient(configuration: WeChatPayConfiguration(
                appID: credentials.appID, mchID: credentials.mchID, merchantSerialNumber: credentials.merchantSerialNumber,
                merchantPrivateKeyPEM: credentials.merchantPrivateKeyPEM, apiV3Key: credentials.apiV3Key,
                publicKeyID: credentials.publicKeyID, publicKeyPEM: credentials.platformPublicKeyPEM,
                baseURL: { "http://127.0.0.1:\(port)\(WeChatPaySandbox.pathPrefix)" }, timeout: timeout), breaker: breaker)
            try await body(Bed(client: pay, sandbox: sandbox, stall: stall, clock: clock, changes: changes))
            await sandbox.shutdown()
        }
    }

    /// One query of an order WeChat Pay does not know: `true` when it reached WeChat Pay and
    /// was answered 404 ORDER_NOT_EXIST, `false` when the breaker refused it.
    /// Whether a call flowed: WeChat Pay's own answer. Refused locally, or past the client's
    /// short timeout (a loaded machine can take that long on loopback), it did not flow yet.
    static func query(_ bed: Bed, _ index: Int) async throws -> Bool {
        do {
            _ = try await bed.client.queryTransaction(outTradeNo: "unknown-\(index)")
            Issue.record("the sandbox knows no such order")
            return true
        } catch WeChatPayError.orderNotFound {
            return true
        } catch WeChatPayError.throttled {
            return false
        } catch WeChatPayError.timeout {
            return false
        }
    }

    @Test("404 ORDER_NOT_EXIST is WeChat Pay's answer: a stream of them never trips the breaker")
    func businessRefusalsPass() async throws {
        try await withSandbox { bed in
            for index in 0..<100 {
                bed.clock.advance(by: .milliseconds(10))
                let answered = try await Self.query(bed, index)
                #expect(answered)
            }
            #expect(bed.sandbox.apiCalls.query == 100)
            #expect(bed.client.breaker.snapshot().rejectProbability == 0)
            #expect(bed.changes.all.isEmpty)
        }
    }

    @Test("WeChat Pay answering 500 SYSTEM_ERROR: calls are refused locally, and flow again within seconds once it answers")
    func systemErrorsThenRecovered() async throws {
        try await withSandbox { bed in
            // The next 30 queries that reach WeChat Pay fail; then it answers again.
            let failures = 30
            for _ in 0..<failures { bed.sandbox.failNext(.query) }
            var asked = 0
            var failed = 0
            var refused = 0
            while bed.sandbox.apiCalls.query < failures, asked < 20_000 {
                bed.clock.advance(by: .milliseconds(10))
                asked += 1
                do {
                    _ = try await bed.client.queryTransaction(outTradeNo: "unknown-\(asked)")
                } catch WeChatPayError.throttled {
                    refused += 1
                } catch WeChatPayError.api(let status, let code, _) {
                    #expect(status == 500 && code == "SYSTEM_ERROR")
                    failed += 1
                }
            }
            #expect(failed == failures && failed + refused == asked)
            #expect(asked >= 10 * failures, "WeChat Pay saw \(failures) of \(asked) calls while failing")
            #expect(bed.client.breaker.snapshot().isRefusing)

            let recoveredAt = bed.clock.now
            var inARow = 0
            var flowingSince: ResilienceInstant?
            var index = 0
            while inARow < 50, bed.clock.now - recoveredAt < .seconds(30) {
                bed.clock.advance(by: .milliseconds(10))
                index += 1
                if try await Self.query(bed, 100_000 + index) {
                    if inARow == 0 { flowingSince = bed.clock.now }
                    inARow += 1
                } else {
                    inARow = 0
                }
            }
            let flowing = try #require(flowingSince.map { $0 - recoveredAt }, "calls never flowed again")
            #expect(inARow == 50)
            #expect(flowing <= .seconds(5), "calls flowed again \(flowing) after WeChat Pay recovered")
            #expect(bed.changes.all.count == 2, "\(bed.changes.all)")
        }
    }

    @Test("WeChat Pay hanging past the client's timeout: calls are refused locally instead of each waiting the timeout")
    func hangingThenRecovered() async throws {
        try await withSandbox(timeout: .milliseconds(250)) { bed in
            bed.stall.delay.withLock { $0 = .seconds(1) }
            var refused = 0
            var timedOut = 0
            for index in 0..<60 {
                bed.clock.advance(by: .milliseconds(100))
                do {
                    _ = try await bed.client.queryTransaction(outTradeNo: "stalled-\(index)")
                } catch WeChatPayError.throttled {
                    refused += 1
                } catch WeChatPayError.timeout {
                    timedOut += 1
                }
            }
            #expect(timedOut + refused == 60)
            #expect(timedOut <= 20, "\(timedOut) of 60 calls waited the whole timeout")

            bed.stall.delay.withLock { $0 = nil }
            let recoveredAt = bed.clock.now
            var inARow = 0
            var index = 0
            while inARow < 20, bed.clock.now - recoveredAt < .seconds(30) {
                bed.clock.advance(by: .milliseconds(100))
                index += 1
                inARow = try await Self.query(bed, index) ? inARow + 1 : 0
            }
            #expect(inARow == 20)
            #expect(bed.clock.now - recoveredAt <= .seconds(10), "calls flowed again within the window after WeChat Pay answered")
        }
    }
}

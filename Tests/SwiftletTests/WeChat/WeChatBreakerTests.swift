import Foundation
import Hummingbird
import HummingbirdTesting
import SwiftletHTTP
import SwiftletResilience
import SwiftletSandbox
import SwiftletTransport
import SwiftletWeChat
import Synchronization
import Testing

/// The WeChat client's breaker against the sandbox over real HTTP, made to fail (-1),
/// hang (slow codes past the client's timeout) and recover. The breaker's time is moved by
/// hand: an outage of seconds runs in the time its few real calls take.
@Suite("WeChat client breaker against the sandbox")
struct WeChatBreakerTests {
    /// The requests the sandbox received, by path.
    final class Counter: Sendable {
        let counts = Mutex<[String: Int]>([:])

        func count(_ path: String) -> Int {
            counts.withLock { $0[WeChatSandbox.pathPrefix + path] ?? 0 }
        }
    }

    /// Counts each request in front of the sandbox's routes.
    struct Arrivals: RouterMiddleware {
        typealias Context = SwiftletRequestContext
        let counter: Counter

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            counter.counts.withLock { $0[request.uri.path, default: 0] += 1 }
            return try await next(request, context)
        }
    }

    struct Bed {
        let client: WeChatClient
        let sandbox: WeChatSandbox
        let counter: Counter
        let clock: ManualResilienceClock
        let changes: BreakerChanges
    }

    func withSandbox(
        timeout: Duration = .seconds(5), random: (@Sendable () -> Double)? = nil, _ body: @escaping @Sendable (Bed) async throws -> Void
    ) async throws {
        let sandbox = WeChatSandbox(appID: WeChatClientSandboxTests.appID, appSecret: WeChatClientSandboxTests.secret)
        let counter = Counter()
        let router = Router(context: SwiftletRequestContext.self)
        router.add(middleware: Arrivals(counter: counter))
        sandbox.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            let port = try #require(client.port)
            let clock = ManualResilienceClock()
            let changes = BreakerChanges(clock: clock)
            let breaker = DependencyBreaker(
                name: "wechat", configuration: WeChatClient.breakerConfiguration, now: clock.source,
                random: random ?? SeededDraws(seed: 1).source, onChange: changes.sink)
            let wechat = WeChatClient(configuration: WeChatConfiguration(
                appID: WeChatClientSandboxTests.appID, appSecret: WeChatClientSandboxTests.secret,
                baseURL: { "http://127.0.0.1:\(port)/sandbox/wechat" }, timeout: timeout), breaker: breaker)
            try await body(Bed(client: wechat, sandbox: sandbox, counter: counter, clock: clock, changes: changes))
        }
    }

    /// Calls that pass until `limit` of injected time, one every `spacing`; returns the
    /// injected time it took for `run` of them in a row to go through unrefused.
    static func timeUntilFlowing(
        _ bed: Bed, spacing: Duration, streak: Int = 50, limit: Duration = .seconds(30), call: (Int) async throws -> Void
    ) async throws -> Duration? {
        let start = bed.clock.now
        var inARow = 0
        var index = 0
        var flowingSince: ResilienceInstant?
        while bed.clock.now - start < limit {
            bed.clock.advance(by: spacing)
            index += 1
            do {
                try await call(index)
                if inARow == 0 { flowingSince = bed.clock.now }
                inARow += 1
                if inARow >= streak, let flowingSince { return flowingSince - start }
            } catch WeChatError.throttled {
                inARow = 0
            }
        }
        return nil
    }

    @Test("WeChat answering -1: calls are refused locally, then flow again within seconds of its recovery")
    func busyThenRecovered() async throws {
        try await withSandbox { bed in
            // Ten seconds of outage at 50 calls a second.
            var refused = 0
            for index in 0..<500 {
                bed.clock.advance(by: .milliseconds(20))
                do {
                    _ = try await bed.client.code2Session(code: "err:-1:\(index)")
                    Issue.record("a busy WeChat cannot log anyone in")
                } catch WeChatError.throttled {
                    refused += 1
                } catch WeChatError.busy {}
            }
            let reached = bed.counter.count("/sns/jscode2session")
            #expect(reached + refused == 500)
            #expect(reached <= 60, "WeChat saw \(reached) of 500 calls while failing")
            #expect(bed.client.breaker.snapshot().isRefusing)

            // WeChat answers again: every call flows within a few seconds of breaker time.
            let flowing = try await Self.timeUntilFlowing(bed, spacing: .milliseconds(20)) { index in
                _ = try await bed.client.code2Session(code: "back\(index):1")
            }
            let recovery = try #require(flowing, "calls never flowed again")
            #expect(recovery <= .seconds(5), "calls flowed again \(recovery) after WeChat recovered")
            let changes = bed.changes.all
            #expect(changes.count == 2, "one line when it starts refusing, one when it stops: \(changes)")
            guard case .startedRefusing(let started) = changes.first, case .stoppedRefusing(let stopped) = changes.last else {
                Issue.record("expected start then stop, got \(changes)")
                return
            }
            #expect(started.dependency == "wechat" && started.rejectProbability > 0.5)
            #expect(stopped.refusals >= refused)
        }
    }

    @Test("WeChat hanging past the client's timeout: calls are refused locally instead of each waiting the timeout")
    func hangingThenRecovered() async throws {
        try await withSandbox(timeout: .milliseconds(200)) { bed in
            var refused = 0
            var timedOut = 0
            for index in 0..<60 {
                bed.clock.advance(by: .milliseconds(100))
                do {
                    _ = try await bed.client.code2Session(code: "slow:1000:hang\(index)")
                } catch WeChatError.throttled {
                    refused += 1
                } catch WeChatError.timeout {
                    timedOut += 1
                }
            }
            let reached = bed.counter.count("/sns/jscode2session")
            #expect(timedOut == reached && reached + refused == 60)
            #expect(reached <= 20, "\(reached) of 60 calls waited the whole timeout")

            let flowing = try await Self.timeUntilFlowing(bed, spacing: .milliseconds(100), streak: 20) { index in
                _ = try await bed.client.code2Session(code: "awake\(index):1")
            }
            let recovery = try #require(flowing, "calls never flowed again")
            #expect(recovery <= .seconds(10), "calls flowed again \(recovery) after WeChat answered again")
        }
    }

    @Test("Calls WeChat leaves unanswered count against it while they wait: the next call is refused before any of them times out")
    func waitingCallsCountBeforeTheirTimeout() async throws {
        // Six at once: within the HTTP client's connections per host, so all six reach WeChat.
        let count = 6
        try await withSandbox(timeout: .seconds(3), random: { 0.5 }) { bed in
            let waiting = (0..<count).map { index in
                Task { try? await bed.client.code2Session(code: "slow:5000:wait\(index)") }
            }
            let deadline = ContinuousClock.now + .seconds(2)
            while bed.counter.count("/sns/jscode2session") < count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(bed.client.breaker.snapshot().inFlight == count)
            // Past the overdue limit (2 s of breaker time) while all six still wait: six
            // requests and no accept, 6 / 7.
            bed.clock.advance(by: .milliseconds(2_500))
            let snapshot = bed.client.breaker.snapshot()
            #expect(snapshot.overdue == count && snapshot.totals.failures == 0)
            let started = ContinuousClock.now
            await #expect(throws: WeChatError.throttled) { _ = try await bed.client.code2Session(code: "next:1") }
            #expect(ContinuousClock.now - started < .seconds(1), "refused at once, not after a timeout")
            #expect(bed.counter.count("/sns/jscode2session") == count)
            for task in waiting { _ = await task.value }
            #expect(bed.client.breaker.snapshot().totals.failures == count, "then each one's timeout counts as a failure")
        }
    }

    @Test("A token WeChat keeps refusing (40001): refresh-and-retry stays within a tenth of the calls, and nothing is shed")
    func staleTokenRetriesStayInBudget() async throws {
        try await withSandbox { bed in
            _ = try await bed.client.phoneNumber(code: "warm:1")
            let phoneBefore = bed.counter.count("/wxa/business/getuserphonenumber")
            let tokenBefore = bed.counter.count("/cgi-bin/stable_token")
            // Normal-mode stable_token keeps answering the refused token: every call would retry.
            bed.sandbox.rejectToken()
            let calls = 300
            for index in 0..<calls {
                bed.clock.advance(by: .milliseconds(10))
                await #expect(throws: WeChatError.accessTokenInvalid) {
                    _ = try await bed.client.phoneNumber(code: "p\(index):1")
                }
            }
            let phoneRequests = bed.counter.count("/wxa/business/getuserphonenumber") - phoneBefore
            let tokenRequests = bed.counter.count("/cgi-bin/stable_token") - tokenBefore
            let retries = phoneRequests - calls
            let snapshot = bed.client.breaker.snapshot()
            #expect(snapshot.totals.retries == retries)
            // First calls: the phone calls and the token fetches (3 s of breaker time, one window);
            // the budget grants a tenth of them plus 3 a second over its 10 s window.
            #expect(retries <= (calls + tokenRequests) / 10 + 30, "\(retries) retries for \(calls + tokenRequests) calls")
            #expect(retries >= 30, "the budget is spent, not withheld")
            #expect(retries < calls / 3, "without the budget every call would retry")
            #expect(snapshot.totals.retriesDenied == calls - retries)
            #expect(snapshot.totals.refusals == 0 && snapshot.rejectProbability == 0, "40001 is WeChat's answer, not its failure")
        }
    }
}

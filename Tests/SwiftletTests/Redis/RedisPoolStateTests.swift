import NIOCore
@testable import SwiftletRedis
import Testing

/// The pool's decisions without IO, with explicit times.
@Suite("Redis pool state")
struct RedisPoolStateTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let backoff = RedisBackoff(base: .milliseconds(100), cap: .seconds(2))

    @Test("never more connections than the bound; waiters are served in order")
    func boundAndOrder() {
        var pool = RedisPoolState(capacity: 2, backoff: backoff)
        #expect(pool.lease(1, now: start) == .connect)
        #expect(pool.lease(2, now: start) == .connect)
        #expect(pool.lease(3, now: start) == .wait)
        #expect(pool.lease(4, now: start) == .wait)
        #expect(pool.connectionCount == 2)
        #expect(pool.connected(10) == .handOver(10, to: 1))
        #expect(pool.connected(11) == .handOver(11, to: 2))
        #expect(pool.released(10, healthy: true, now: start) == .handOver(10, to: 3))
        #expect(pool.released(11, healthy: true, now: start) == .handOver(11, to: 4))
        #expect(pool.released(10, healthy: true, now: start) == .none)
        #expect(pool.lease(5, now: start) == .use(10))
    }

    @Test("a broken connection is replaced for a waiter; a timed-out waiter is forgotten")
    func brokenAndTimedOut() {
        var pool = RedisPoolState(capacity: 1, backoff: backoff)
        #expect(pool.lease(1, now: start) == .connect)
        #expect(pool.connected(10) == .handOver(10, to: 1))
        #expect(pool.lease(2, now: start) == .wait)
        #expect(pool.lease(3, now: start) == .wait)
        let first = pool.waitTimedOut(2), second = pool.waitTimedOut(2)
        #expect(first && !second, "a waiter times out once")
        #expect(pool.released(10, healthy: false, now: start) == .connect)
        #expect(pool.connectionCount == 1)
        #expect(pool.connected(11) == .handOver(11, to: 3))
    }

    @Test("after a failed connect, callers fail fast until the back-off has passed; success resets it")
    func backoffFailsFast() {
        var pool = RedisPoolState(capacity: 4, backoff: backoff)
        #expect(pool.lease(1, now: start) == .connect)
        #expect(pool.lease(2, now: start) == .connect)
        #expect(pool.connectFailed(now: start, jitter: 0) == [], "another attempt is still running")
        #expect(pool.connectFailed(now: start, jitter: 0) == [1, 2], "nothing left to serve the waiters")
        guard case .fail(let error) = pool.lease(3, now: start + .milliseconds(40)) else {
            Issue.record("expected a fast failure during back-off")
            return
        }
        #expect(error.code == .unavailable)
        // Two failures: the second delay is 100–200 ms (jitter 0: 100 ms).
        #expect(pool.lease(4, now: start + .milliseconds(100)) == .connect)
        #expect(pool.connected(10) == .handOver(10, to: 4))
        #expect(pool.consecutiveFailures == 0 && pool.retryAt == nil)
    }

    @Test("shut down: idle connections closed, waiters failed, returns closed")
    func shutdown() {
        var pool = RedisPoolState(capacity: 2, backoff: backoff)
        _ = pool.lease(1, now: start)
        _ = pool.lease(2, now: start)
        _ = pool.connected(10)
        _ = pool.connected(11)
        #expect(pool.released(10, healthy: true, now: start) == .none)
        #expect(pool.lease(3, now: start) == .use(10))
        #expect(pool.released(10, healthy: true, now: start) == .none)
        let stopped = pool.shutDown()
        #expect(stopped.close == [10] && stopped.fail.isEmpty)
        #expect(pool.released(11, healthy: true, now: start) == .close(11))
        guard case .fail(let error) = pool.lease(4, now: start) else { Issue.record("expected failure"); return }
        #expect(error.code == .shutDown)
        #expect(pool.connectionCount == 0)
    }

    @Test("back-off doubles from its base, is capped, and jitter stays within half of it")
    func backoffDelays() {
        let policy = RedisBackoff(base: .milliseconds(50), cap: .seconds(2))
        #expect(policy.delay(afterFailures: 1, jitter: 0) == .milliseconds(25))
        #expect(policy.delay(afterFailures: 1, jitter: 1) == .milliseconds(50))
        #expect(policy.delay(afterFailures: 3, jitter: 1) == .milliseconds(200))
        #expect(policy.delay(afterFailures: 50, jitter: 1) == .seconds(2))
        #expect(policy.delay(afterFailures: 50, jitter: 0) == .seconds(1))
    }
}

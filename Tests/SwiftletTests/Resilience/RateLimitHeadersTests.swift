import SwiftletResilience
import Testing

@Suite("Rate limit headers")
struct RateLimitHeadersTests {
    let start = ContinuousClock.now

    func at(_ offset: Duration) -> ContinuousClock.Instant { start.advanced(by: offset) }

    @Test func admittedRequestAdvertisesPolicyRemainingAndReset() throws {
        // 100 per minute (T = 600 ms), burst 49: limit 50.
        let policy = try GCRAPolicy(rate: 100, period: .seconds(60), burst: 49)
        var decision = policy.decide(tat: nil, now: at(.zero))
        for _ in 0..<7 { decision = policy.decide(tat: decision.tat, now: at(.zero)) }
        let headers = RateLimitHeaders(name: "default", policy: policy, decision: decision)
        #expect(headers.policy == #""default";q=100;w=60"#)
        // 8 spent: 42 left; 8 × 600 ms = 4.8 s until idle, rounded up.
        #expect(headers.rateLimit == #""default";r=42;t=5"#)
        #expect(headers.retryAfter == nil)
        #expect(headers.fields.map(\.name) == ["RateLimit-Policy", "RateLimit"])
    }

    @Test func refusalCarriesRetryAfterRoundedUpAndTheSameWindow() throws {
        let policy = try GCRAPolicy(rate: 2, period: .seconds(3), burst: 0)
        let first = policy.decide(tat: nil, now: at(.zero))
        let refused = policy.decide(tat: first.tat, now: at(.milliseconds(100)))
        #expect(refused.retryAfter == .milliseconds(1400))
        let headers = RateLimitHeaders(name: "login", policy: policy, decision: refused)
        #expect(headers.retryAfter == "2")
        #expect(headers.rateLimit == #""login";r=0;t=2"#)
        #expect(headers.policy == #""login";q=2;w=3"#)
        #expect(headers.fields.map(\.name) == ["RateLimit-Policy", "RateLimit", "Retry-After"])
        #expect(headers.fields.last?.value == "2")
        // A wait under one second is still at least 1.
        let tight = policy.decide(tat: first.tat, now: at(.milliseconds(1499)))
        #expect(RateLimitHeaders(name: "login", policy: policy, decision: tight).retryAfter == "1")
    }

    @Test func aCostThatNeverFitsHasNoRetryAfter() throws {
        let policy = try GCRAPolicy(rate: 10, period: .seconds(1), burst: 1)
        let decision = policy.decide(tat: nil, now: at(.zero), cost: 3)
        let headers = RateLimitHeaders(name: "upload", policy: policy, decision: decision)
        #expect(headers.retryAfter == nil)
        #expect(headers.rateLimit == #""upload";r=2;t=0"#)
    }

    @Test func subSecondPeriodIsAdvertisedOverAWholeSecond() throws {
        let halfSecond = try GCRAPolicy(rate: 5, period: .milliseconds(500), burst: 0)
        let decision = halfSecond.decide(tat: nil, now: at(.zero))
        #expect(RateLimitHeaders(name: "p", policy: halfSecond, decision: decision).policy == #""p";q=10;w=1"#)
        // 7 per 1.5 s is 9.33 per 2 s: advertised as 9, never more than admitted.
        let odd = try GCRAPolicy(rate: 7, period: .milliseconds(1500), burst: 0)
        #expect(RateLimitHeaders(name: "p", policy: odd, decision: decision).policy == #""p";q=9;w=2"#)
    }

    @Test func policyNameIsAValidStructuredString() throws {
        let policy = try GCRAPolicy(rate: 1, period: .seconds(1), burst: 0)
        let decision = policy.decide(tat: nil, now: at(.zero))
        let headers = RateLimitHeaders(name: "a\"b\\c\u{7}d é", policy: policy, decision: decision)
        #expect(headers.policy == #""a\"b\\cd ";q=1;w=1"#)
    }
}

import Foundation
import SwiftletWebhooks
import Testing

@Suite("Webhook retry schedule")
struct WebhookRetryScheduleTests {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    /// A schedule whose every random draw is `draw`.
    func schedule(draw: Double, jitter: Double = 0.2) -> WebhookRetrySchedule {
        WebhookRetrySchedule(jitter: jitter, random: { draw })
    }

    func seconds(_ date: Date?) -> Double? {
        date.map { $0.timeIntervalSince(now) }
    }

    @Test func theDefaultIsSvixsScheduleOfEightAttempts() {
        let schedule = schedule(draw: 0.5)
        #expect(schedule.maximumAttempts == 8)
        let delays = (1...7).map { seconds(schedule.nextAttempt(after: $0, now: now, retryAfter: nil)) }
        #expect(delays == [5, 300, 1800, 7200, 18_000, 36_000, 36_000])
        #expect(schedule.nextAttempt(after: 8, now: now, retryAfter: nil) == nil, "the eighth failure makes a dead letter")
        #expect(schedule.nextAttempt(after: 9, now: now, retryAfter: nil) == nil)
        // About 28 hours from the first failure to the last attempt.
        #expect(delays.compactMap { $0 }.reduce(0, +) == 99_305)
    }

    @Test func jitterSpreadsEachDelayByTwentyPercentEitherWay() {
        #expect(seconds(schedule(draw: 0).nextAttempt(after: 2, now: now, retryAfter: nil)) == 240)
        #expect(seconds(schedule(draw: 0.25).nextAttempt(after: 2, now: now, retryAfter: nil)) == 270)
        #expect(seconds(schedule(draw: 0.75).nextAttempt(after: 2, now: now, retryAfter: nil)) == 330)
        let highest = seconds(schedule(draw: 0.999_999).nextAttempt(after: 2, now: now, retryAfter: nil))!
        #expect(highest <= 360 && highest > 359.9, "kept to the millisecond, so the bound is reached")
        // A source out of its contract is clamped, never stretching past ±20 %.
        #expect(seconds(schedule(draw: 7).nextAttempt(after: 2, now: now, retryAfter: nil))! <= 360)
        #expect(seconds(schedule(draw: -1).nextAttempt(after: 2, now: now, retryAfter: nil)) == 240)
        #expect(seconds(schedule(draw: 0.5).nextAttempt(after: 1, now: now, retryAfter: nil)) == 5)
        #expect(seconds(schedule(draw: 0).nextAttempt(after: 1, now: now, retryAfter: nil)) == 4)
    }

    @Test func theSystemGeneratorStaysWithinTheBounds() {
        let schedule = WebhookRetrySchedule()
        var seen = Set<Double>()
        for _ in 0..<1_000 {
            let delay = seconds(schedule.nextAttempt(after: 3, now: now, retryAfter: nil))!
            #expect(delay >= 1440 && delay <= 2160)
            seen.insert(delay)
        }
        #expect(seen.count > 900, "delays are spread, not repeated")
    }

    @Test func retryAfterIsHonouredBetweenTheScheduleAndOneDay() {
        let schedule = schedule(draw: 0.5)
        // Longer than scheduled: honoured.
        #expect(seconds(schedule.nextAttempt(after: 1, now: now, retryAfter: "120")) == 120)
        #expect(seconds(schedule.nextAttempt(after: 2, now: now, retryAfter: "3600")) == 3600)
        // Shorter than scheduled: the schedule wins, a receiver cannot speed retries up.
        #expect(seconds(schedule.nextAttempt(after: 2, now: now, retryAfter: "1")) == 300)
        #expect(seconds(schedule.nextAttempt(after: 2, now: now, retryAfter: "0")) == 300)
        // Past a day: one day.
        #expect(seconds(schedule.nextAttempt(after: 1, now: now, retryAfter: "86401")) == 86_400)
        #expect(seconds(schedule.nextAttempt(after: 1, now: now, retryAfter: "31536000")) == 86_400)
        #expect(seconds(schedule.nextAttempt(after: 1, now: now, retryAfter: "99999999999999999999999")) == 86_400)
        // As a date.
        let inTwoHours = "Sun, 15 Jun 2025 17:06:40 GMT"
        #expect(seconds(schedule.nextAttempt(after: 1, now: now, retryAfter: inTwoHours)) == 7200)
        // Unreadable: ignored.
        #expect(seconds(schedule.nextAttempt(after: 1, now: now, retryAfter: "soon")) == 5)
        #expect(seconds(schedule.nextAttempt(after: 1, now: now, retryAfter: "")) == 5)
        // It never adds an attempt.
        #expect(schedule.nextAttempt(after: 8, now: now, retryAfter: "60") == nil)
    }

    @Test func aJitteredDelayAboveRetryAfterStillWins() {
        #expect(seconds(schedule(draw: 0.999_9).nextAttempt(after: 2, now: now, retryAfter: "355"))! > 355)
        #expect(seconds(schedule(draw: 0).nextAttempt(after: 2, now: now, retryAfter: "250")) == 250)
    }

    @Test func schedulesAreConfigurable() {
        let custom = WebhookRetrySchedule(
            delays: [.seconds(2), .seconds(4), .seconds(8)], jitter: 0, maximumRetryAfter: .seconds(60), random: { 0.9 }
        )
        #expect(custom.maximumAttempts == 4)
        #expect((1...4).map { seconds(custom.nextAttempt(after: $0, now: now, retryAfter: nil)) } == [2, 4, 8, nil])
        #expect(seconds(custom.nextAttempt(after: 1, now: now, retryAfter: "600")) == 60)
        #expect(custom.delay(after: 3, now: now, retryAfter: nil) == .seconds(8))

        // A delay longer than the Retry-After bound is kept: the bound caps what the
        // receiver asks for, not the schedule.
        let long = WebhookRetrySchedule(delays: [.seconds(2 * 86_400)], jitter: 0)
        #expect(seconds(long.nextAttempt(after: 1, now: now, retryAfter: "60")) == 172_800)

        let none = WebhookRetrySchedule(delays: [])
        #expect(none.maximumAttempts == 1)
        #expect(none.nextAttempt(after: 1, now: now, retryAfter: nil) == nil)
    }

    @Test func delaysAreKeptToTheMillisecond() {
        let schedule = WebhookRetrySchedule(delays: [.seconds(5)], jitter: 0.2, random: { 0.123_456_789 })
        // 5 × (1 + 0.2 × (2 × 0.123456789 − 1)) = 4.2469… s
        #expect(schedule.delay(after: 1, now: now, retryAfter: nil) == .milliseconds(4247))
    }
}

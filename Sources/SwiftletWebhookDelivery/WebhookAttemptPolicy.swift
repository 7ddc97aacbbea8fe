import Foundation
import SwiftletCore
import SwiftletWebhooks

/// What came back from one attempt.
public enum WebhookAnswer: Sendable, Equatable {
    /// The receiver answered: its status, its `Retry-After`, the first 1 KiB of its body.
    case response(status: Int, retryAfter: String?, body: String)
    /// No answer: timeout, refused connection, TLS failure, forbidden address.
    case failure(String)
    /// Not sent: the endpoint's breaker refused the attempt locally (the reason says why).
    case refused(String)
}

/// Decides, without IO, what an attempt's answer means for its message and its endpoint:
/// 2xx delivers; anything else (3xx included: redirects are not followed, a receiver
/// that moved must be updated by its operator) fails and is retried on the schedule
/// until it is a dead letter; `410 Gone` also disables the endpoint, and so does a
/// failure once the endpoint has failed continuously for `disableAfter`.
///
/// An attempt the endpoint's breaker refused locally is recorded as a failed attempt with
/// its reason and takes its place in the schedule like any other, but says nothing new
/// about the endpoint (its health is left as it is) and never makes a dead letter by
/// itself: past the schedule's last place it is tried again after the last delay, and
/// only an attempt that reached the receiver and failed ends a message.
public struct WebhookAttemptPolicy: Sendable {
    public var schedule: WebhookRetrySchedule
    public var disableAfter: TimeInterval

    public init(schedule: WebhookRetrySchedule = WebhookRetrySchedule(), disableAfter: TimeInterval = 5 * 86_400) {
        self.schedule = schedule
        self.disableAfter = disableAfter
    }

    /// The record to store, and the operator event to write when the endpoint is disabled.
    public func decide(_ delivery: WebhookDelivery, answer: WebhookAnswer, at now: Date, latencyMilliseconds: Int)
        -> (record: WebhookAttemptRecord, endpointEvent: DomainEvent?)
    {
        let message = delivery.message
        // The claim counted this attempt already.
        let number = max(1, message.attempts)
        var attempt = WebhookAttempt(
            messageID: message.id, endpointID: message.endpointID, number: number, attemptedAt: now, statusCode: nil,
            latencyMilliseconds: latencyMilliseconds, responseBody: nil, error: nil)
        let retryAfter: String?
        switch answer {
        case .refused(let reason):
            attempt.error = reason
            let next = schedule.nextAttempt(after: number, now: now, retryAfter: nil) ?? afterSchedule(now)
            return (WebhookAttemptRecord(attempt: attempt, outcome: .retry(at: next), endpoint: .unchanged), nil)
        case .response(let status, let asked, let body):
            attempt.statusCode = status
            attempt.responseBody = body
            if (200..<300).contains(status) {
                return (WebhookAttemptRecord(attempt: attempt, outcome: .delivered, endpoint: .healthy), nil)
            }
            attempt.error = (300..<400).contains(status) ? "redirects are not followed" : nil
            retryAfter = asked
        case .failure(let error):
            attempt.error = error
            retryAfter = nil
        }
        let outcome: WebhookMessageOutcome = schedule.nextAttempt(after: number, now: now, retryAfter: retryAfter)
            .map { .retry(at: $0) } ?? .dead
        let failingSince = delivery.endpointFailingSince ?? now
        let reason: String? = if attempt.statusCode == 410 {
            "the endpoint answered 410 Gone"
        } else if now.timeIntervalSince(failingSince) >= disableAfter {
            "every attempt failed for \(Self.describe(disableAfter))"
        } else {
            nil
        }
        guard let reason else {
            return (WebhookAttemptRecord(attempt: attempt, outcome: outcome, endpoint: .failing), nil)
        }
        let event = WebhookDomainEvents.endpointDisabled(
            message.endpointID, reason: reason, failingSince: delivery.endpointFailingSince, at: now)
        return (WebhookAttemptRecord(attempt: attempt, outcome: outcome, endpoint: .disable(reason: reason)), event)
    }

    /// A message whose event left the outbox (retention) cannot be sent: a dead letter
    /// that says so, with no request made and the endpoint's health untouched.
    public func eventMissing(_ delivery: WebhookDelivery, at now: Date) -> WebhookAttemptRecord {
        let message = delivery.message
        return WebhookAttemptRecord(
            attempt: WebhookAttempt(
                messageID: message.id, endpointID: message.endpointID, number: max(1, message.attempts), attemptedAt: now,
                statusCode: nil, latencyMilliseconds: 0, responseBody: nil, error: "the event is no longer in the outbox"),
            outcome: .dead, endpoint: .unchanged)
    }

    /// When a refused attempt past the schedule's last place is tried again: after the
    /// last delay (a minute when the schedule has none).
    private func afterSchedule(_ now: Date) -> Date {
        guard !schedule.delays.isEmpty else { return now.addingTimeInterval(60) }
        return schedule.nextAttempt(after: schedule.delays.count, now: now, retryAfter: nil) ?? now.addingTimeInterval(60)
    }

    static func describe(_ interval: TimeInterval) -> String {
        if interval >= 86_400, interval.truncatingRemainder(dividingBy: 86_400) == 0 { return "\(Int(interval / 86_400)) days" }
        if interval >= 3_600, interval.truncatingRemainder(dividingBy: 3_600) == 0 { return "\(Int(interval / 3_600)) hours" }
        return "\(Int(interval)) s"
    }
}

import Foundation

/// Subscribe-message send identifier: `sms_` + 26 base32 characters.
public struct SubscribeSendID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> SubscribeSendID { SubscribeSendID(rawValue: "sms_" + RandomID.base32(byteCount: 16)) }
}

/// One event's subscribe message to one user through one template: where it stands.
public struct SubscribeSend: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        /// Waiting for its job.
        case pending
        /// WeChat accepted it.
        case sent
        /// Not sent, by design: the user has no accepted subscription left for the
        /// template, or was online and the template does not send then.
        case skipped
        /// Given up: WeChat refused it for good (43101, 47003, …) or retries ran out.
        case dead
    }

    public var id: SubscribeSendID
    public var eventID: DomainEventID
    public var userID: UserID
    public var templateKey: String
    public var templateID: String
    public var status: Status
    /// Calls made to WeChat.
    public var attempts: Int
    /// Whether one accepted subscription was taken for this send (taken once, however
    /// often the job runs; given back when WeChat refused the message as invalid).
    public var quotaTaken: Bool
    /// WeChat's errcode of the last call, or why it was skipped (`no_subscription`, `online`).
    public var outcome: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: SubscribeSendID, eventID: DomainEventID, userID: UserID, templateKey: String, templateID: String,
                status: Status, attempts: Int, quotaTaken: Bool, outcome: String?, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.eventID = eventID
        self.userID = userID
        self.templateKey = templateKey
        self.templateID = templateID
        self.status = status
        self.attempts = attempts
        self.quotaTaken = quotaTaken
        self.outcome = outcome
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A user's accepted subscriptions left for one template.
public struct SubscriptionQuota: Sendable, Equatable {
    public var templateID: String
    public var remaining: Int
    public init(templateID: String, remaining: Int) {
        self.templateID = templateID
        self.remaining = remaining
    }
}

import Foundation

/// Storage port for WeChat subscribe messages: each user's accepted subscriptions per
/// template (one acceptance allows one send, as WeChat counts them), the sends made from
/// domain events, and the dispatch cursor through the outbox.
public protocol SubscriptionRepository: Sendable {
    /// Adds `accepted` acceptances per template (capped at `cap` each); returns the
    /// user's quotas for those templates afterwards.
    func addAcceptances(user: UserID, accepted: [String: Int], cap: Int, now: Date) async throws -> [SubscriptionQuota]
    /// The user's quotas with something left, by template id.
    func quotas(user: UserID) async throws -> [SubscriptionQuota]

    /// The outbox position up to which events have been turned into sends.
    func dispatchCursor() async throws -> Int64
    /// Stores `sends` with a job each (kind `jobKind`, key the send id, payload the send
    /// id) and moves the cursor from `from` to `to`, in one transaction, if the cursor is
    /// still at `from`; false (nothing stored) when another node moved it.
    func dispatch(from: Int64, to: Int64, sends: [SubscribeSend], jobKind: String) async throws -> Bool

    func send(_ id: SubscribeSendID) async throws -> SubscribeSend?
    /// Sends of a user, newest first.
    func sends(user: UserID, limit: Int) async throws -> [SubscribeSend]
    /// Takes one acceptance for the send, once: true when the send holds one (taken now
    /// or earlier), false when the user has none left for its template.
    func takeQuota(for send: SubscribeSendID, now: Date) async throws -> Bool
    /// Gives the send's acceptance back (WeChat did not use it).
    func returnQuota(for send: SubscribeSendID, now: Date) async throws
    /// WeChat says the user has no subscription left for the template: forget what we counted.
    func clearQuota(user: UserID, templateID: String, now: Date) async throws
    /// Records a call's result and the send's new status.
    func finish(_ id: SubscribeSendID, status: SubscribeSend.Status, outcome: String?, countAttempt: Bool, now: Date) async throws
}

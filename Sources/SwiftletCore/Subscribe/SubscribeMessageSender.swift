/// What WeChat said to one subscribe message, as the service acts on it.
public enum SubscribeSendResult: Sendable, Equatable {
    case sent
    /// 43101: the user has no accepted subscription left for the template. Never retried.
    case noSubscription
    /// WeChat refused the message itself (47003 naming the field, 40003, 40037, 41030, …).
    /// Never retried: the same message would be refused again.
    case invalid(errcode: Int, message: String)
    /// WeChat is busy (-1), did not answer, or the access_token kept failing after one
    /// refresh: worth trying again later.
    case retryable(String)
}

/// Sends one subscribe message through WeChat (the server adapts the WeChat client; the
/// client refreshes the shared access_token once on 40001/42001).
public protocol SubscribeMessageSender: Sendable {
    func send(openid: String, templateID: String, page: String?, data: [(key: String, value: String)]) async -> SubscribeSendResult
}

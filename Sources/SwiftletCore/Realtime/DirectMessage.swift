import Foundation

/// A direct message as a sender submits it, already validated (`DirectMessageService`).
public struct DirectMessageRequest: Sendable, Equatable {
    public var senderID: UserID
    public var recipientID: UserID
    /// Chosen by the sender's client; the same id again is the same message (a retry).
    public var clientMessageID: String
    /// SHA-256 of the canonical content: the same client id with other content is a conflict.
    public var requestHash: String
    /// The message id the server gives a new message.
    public var messageID: String
    /// The JSON object that goes to both inboxes (`id`, `from`, `to`, `text`/`payload`, …).
    public var payload: String

    public init(senderID: UserID, recipientID: UserID, clientMessageID: String, requestHash: String,
                messageID: String, payload: String) {
        self.senderID = senderID
        self.recipientID = recipientID
        self.clientMessageID = clientMessageID
        self.requestHash = requestHash
        self.messageID = messageID
        self.payload = payload
    }
}

/// What storing a direct message produced.
public struct DirectMessageReceipt: Sendable, Equatable {
    public var messageID: String
    /// The message in the recipient's inbox and its copy in the sender's.
    public var delivered: InboxMessage
    public var echoed: InboxMessage
    /// True when this client message id was stored before: nothing new was written.
    public var replayed: Bool

    public init(messageID: String, delivered: InboxMessage, echoed: InboxMessage, replayed: Bool) {
        self.messageID = messageID
        self.delivered = delivered
        self.echoed = echoed
        self.replayed = replayed
    }
}

import Crypto
import Foundation
import Logging

/// A direct message as a client submits it (over REST or the socket), before checks.
public struct DirectMessageSubmission: Sendable, Equatable {
    public var to: String
    public var text: String?
    /// A JSON object as text (the HTTP and socket layers parse and re-serialise it).
    public var payload: String?
    public var clientMessageID: String

    public init(to: String, text: String?, payload: String?, clientMessageID: String) {
        self.to = to
        self.text = text
        self.payload = payload
        self.clientMessageID = clientMessageID
    }
}

/// Limits on direct messages.
public struct DirectMessageLimits: Sendable, Equatable {
    /// Characters of `text`.
    public var maxTextCharacters: Int
    /// UTF-8 bytes of a `payload` object.
    public var maxPayloadBytes: Int
    /// Messages one user may send per minute, over every node.
    public var perMinute: Int

    public init(maxTextCharacters: Int = 2_000, maxPayloadBytes: Int = 4_096, perMinute: Int = 60) {
        self.maxTextCharacters = maxTextCharacters
        self.maxPayloadBytes = maxPayloadBytes
        self.perMinute = perMinute
    }
}

/// Checks, limits and stores direct messages; one path for REST and the socket.
///
/// The send rate is counted per user and minute in the cluster state (Redis with several
/// nodes, so the limit holds over all of them). If the cluster state cannot be reached,
/// the count falls back to this node alone and says so in the log: the limit then holds
/// per node rather than not at all.
public struct DirectMessageService: Sendable {
    let inbox: any InboxRepository
    let cluster: any ClusterState
    let fallbackCounter: InProcessClusterState
    let limits: DirectMessageLimits
    let clock: SwiftletClock
    let logger: Logger

    public init(inbox: any InboxRepository, cluster: any ClusterState, limits: DirectMessageLimits, clock: SwiftletClock,
                logger: Logger) {
        self.inbox = inbox
        self.cluster = cluster
        self.fallbackCounter = InProcessClusterState(clock: clock)
        self.limits = limits
        self.clock = clock
        self.logger = logger
    }

    public func send(from sender: UserID, _ submission: DirectMessageSubmission) async throws -> DirectMessageReceipt {
        let recipient = try Self.recipient(submission.to, sender: sender)
        try Self.checkClientMessageID(submission.clientMessageID)
        let content = try checkContent(submission)
        try await checkRate(sender)
        let now = clock.now
        let messageID = "m_" + RandomID.base32(byteCount: 16)
        var payload = JSONObjectWriter()
        payload.field("id", messageID)
        payload.field("from", sender.rawValue)
        payload.field("to", recipient.rawValue)
        payload.field("clientMsgId", submission.clientMessageID)
        payload.field("sentAt", RFC3339.string(now))
        let object = content.completing(payload)
        return try await inbox.storeDirectMessage(DirectMessageRequest(
            senderID: sender, recipientID: recipient, clientMessageID: submission.clientMessageID,
            requestHash: Self.hash(recipient, content), messageID: messageID, payload: object), now: now)
    }

    /// Checked message content, shared by direct and room messages.
    enum Content {
        case text(String)
        case payload(String)

        /// The message object: `writer`'s fields followed by `text` or `payload` (an
        /// object embedded as JSON, not as a string).
        func completing(_ writer: consuming JSONObjectWriter) -> String {
            var object = writer.finish()
            object.removeLast()
            switch self {
            case .text(let text):
                object += ",\"text\":"
                JSONText.appendString(text, to: &object)
            case .payload(let json):
                object += ",\"payload\":" + json
            }
            return object + "}"
        }

        /// SHA-256 (hex) of `prefix` and the content: what makes a retry recognisable.
        func hash(prefix: String = "") -> String {
            let canonical = switch self {
            case .text(let text): prefix + "t\u{0}" + text
            case .payload(let json): prefix + "p\u{0}" + json
            }
            return SHA256.hash(data: Data(canonical.utf8)).map { String(format: "%02x", $0) }.joined()
        }
    }

    static func recipient(_ to: String, sender: UserID) throws -> UserID {
        guard (1...64).contains(to.utf8.count), to.utf8.allSatisfy({ RandomID.isIdentifierByte($0) }) else {
            throw SwiftletError.invalid("messages.invalid_recipient", "`to` must be a user id.")
        }
        guard to != sender.rawValue else {
            throw SwiftletError.invalid("messages.to_self", "A direct message cannot be sent to oneself.")
        }
        return UserID(rawValue: to)
    }

    static func checkClientMessageID(_ id: String) throws {
        guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ RandomID.isIdentifierByte($0) || $0 == UInt8(ascii: ":") }) else {
            throw SwiftletError.invalid("messages.invalid_client_msg_id",
                                        "`clientMsgId` must be 1–64 characters of letters, digits, `-`, `_`, `.` and `:`.")
        }
    }

    func checkContent(_ submission: DirectMessageSubmission) throws -> Content {
        switch (submission.text, submission.payload) {
        case (let text?, nil):
            guard Validation.fits(text, characters: 1...limits.maxTextCharacters),
                  !text.unicodeScalars.contains(where: Self.isForbiddenInText) else {
                throw SwiftletError.invalid(
                    "messages.invalid_text",
                    "`text` must be 1–\(limits.maxTextCharacters) characters with no control characters other than line breaks and tabs.")
            }
            return .text(text)
        case (nil, let payload?):
            guard payload.utf8.count <= limits.maxPayloadBytes else {
                throw SwiftletError(.payloadTooLarge, code: "messages.payload_too_large",
                                    message: "`payload` must be at most \(limits.maxPayloadBytes) bytes of JSON.")
            }
            return .payload(payload)
        default:
            throw SwiftletError.invalid("messages.invalid_content", "Send exactly one of `text` and `payload`.")
        }
    }

    static func isForbiddenInText(_ scalar: Unicode.Scalar) -> Bool {
        // Line breaks as any platform writes them (\n, \r\n) and tabs are text.
        if scalar == "\n" || scalar == "\r" || scalar == "\t" { return false }
        let category = scalar.properties.generalCategory
        return category == .control || (category == .format && scalar != "\u{200D}")
    }

    func checkRate(_ sender: UserID) async throws {
        let minute = Int64(clock.now.timeIntervalSince1970 / 60)
        let key = "rl:dm:\(sender.rawValue):\(minute)"
        let count: Int64
        do {
            count = try await cluster.increment(key, by: 1, window: 60)
        } catch {
            logger.warning("direct message rate counted on this node only: the cluster state is unreachable",
                           metadata: ["error": .string(ErrorLog.describe(error))])
            count = try await fallbackCounter.increment(key, by: 1, window: 60)
        }
        if count > limits.perMinute {
            let retryAfter = max(1, 60 - Int(clock.now.timeIntervalSince1970) % 60)
            throw SwiftletError(.rateLimited, code: "messages.rate_limited",
                                message: "Too many direct messages; at most \(limits.perMinute) a minute.",
                                retryAfterSeconds: retryAfter)
        }
    }

    static func hash(_ recipient: UserID, _ content: Content) -> String {
        content.hash(prefix: recipient.rawValue + "\u{0}")
    }
}

import Foundation
import SwiftletCore

/// A frame the server sends, as JSON text. Every frame carries `seq`: for `message` the
/// message's own number, for every other frame the number of the last message this
/// connection delivered, so a client always knows where it would resume.
public enum ServerFrame: Sendable, Equatable {
    case welcome(seq: Int64, userID: UserID, connectionID: String, pingIntervalSeconds: Int)
    case message(InboxMessage)
    /// The requested `since` is older than what the inbox keeps (or unknown): delivery
    /// goes on from `oldest`, and the client must drop what it cached.
    case reset(seq: Int64, oldest: Int64, requested: Int64)
    /// Everything stored when the catch-up started (and since) has been delivered.
    case caughtUp(seq: Int64)
    case tokenExpired(seq: Int64, graceSeconds: Int)
    case tokenRefreshed(seq: Int64, expiresAt: Date)
    case pong(seq: Int64)
    case acked(seq: Int64, device: String, ackedSeq: Int64)
    /// A direct message sent over the socket was stored.
    case sent(seq: Int64, clientMessageID: String, messageID: String, messageSeq: Int64)
    case error(seq: Int64, code: String, message: String, clientMessageID: String?)

    public var text: String {
        var writer = JSONObjectWriter()
        switch self {
        case .welcome(let seq, let userID, let connectionID, let pingInterval):
            writer.field("type", "welcome")
            writer.field("seq", Int(seq))
            writer.field("userId", userID.rawValue)
            writer.field("connectionId", connectionID)
            writer.field("pingInterval", pingInterval)
        case .message(let message):
            var text = "{\"type\":\"message\",\"seq\":\(message.seq),\"kind\":"
            JSONText.appendString(message.kind, to: &text)
            text += ",\"payload\":" + message.payload + ",\"createdAt\":"
            JSONText.appendString(RFC3339.string(message.createdAt), to: &text)
            return text + "}"
        case .reset(let seq, let oldest, let requested):
            writer.field("type", "reset")
            writer.field("seq", Int(seq))
            writer.field("oldest", Int(oldest))
            writer.field("requested", Int(requested))
        case .caughtUp(let seq):
            writer.field("type", "caught_up")
            writer.field("seq", Int(seq))
        case .tokenExpired(let seq, let grace):
            writer.field("type", "token_expired")
            writer.field("seq", Int(seq))
            writer.field("grace", grace)
        case .tokenRefreshed(let seq, let expiresAt):
            writer.field("type", "token_refreshed")
            writer.field("seq", Int(seq))
            writer.field("expiresAt", RFC3339.string(expiresAt))
        case .pong(let seq):
            writer.field("type", "pong")
            writer.field("seq", Int(seq))
        case .acked(let seq, let device, let ackedSeq):
            writer.field("type", "acked")
            writer.field("seq", Int(seq))
            writer.field("device", device)
            writer.field("acked", Int(ackedSeq))
        case .sent(let seq, let clientMessageID, let messageID, let messageSeq):
            writer.field("type", "sent")
            writer.field("seq", Int(seq))
            writer.field("clientMsgId", clientMessageID)
            writer.field("id", messageID)
            writer.field("messageSeq", Int(messageSeq))
        case .error(let seq, let code, let message, let clientMessageID):
            writer.field("type", "error")
            writer.field("seq", Int(seq))
            writer.field("code", code)
            writer.field("message", message)
            writer.field("clientMsgId", clientMessageID)
        }
        return writer.finish()
    }
}

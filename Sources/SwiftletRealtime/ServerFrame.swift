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
    /// Following the room from `head`'s epoch; its messages follow (`room_message`).
    case joined(seq: Int64, room: RoomID, epoch: String, head: Int64, online: Int)
    case roomMessage(seq: Int64, epoch: String, RoomMessage)
    /// The room position the client gave cannot be continued exactly (another epoch,
    /// older than the history kept, or unknown): delivery goes on from `oldest`.
    case roomReset(seq: Int64, room: RoomID, epoch: String, oldest: Int64, requested: Int64)
    case roomCaughtUp(seq: Int64, room: RoomID, offset: Int64)
    case roomSent(seq: Int64, room: RoomID, clientMessageID: String, offset: Int64)
    case left(seq: Int64, room: RoomID)
    case roomError(seq: Int64, room: RoomID, code: String, message: String, clientMessageID: String?)

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
        case .joined(let seq, let room, let epoch, let head, let online):
            writer.field("type", "joined")
            writer.field("seq", Int(seq))
            writer.field("room", room.rawValue)
            writer.field("epoch", epoch)
            writer.field("head", Int(head))
            writer.field("online", online)
        case .roomMessage(let seq, let epoch, let message):
            var text = "{\"type\":\"room_message\",\"seq\":\(seq),\"room\":"
            JSONText.appendString(message.roomID.rawValue, to: &text)
            text += ",\"offset\":\(message.offset),\"epoch\":"
            JSONText.appendString(epoch, to: &text)
            text += ",\"from\":"
            JSONText.appendString(message.senderID.rawValue, to: &text)
            text += ",\"payload\":" + message.payload + ",\"createdAt\":"
            JSONText.appendString(RFC3339.string(message.createdAt), to: &text)
            return text + "}"
        case .roomReset(let seq, let room, let epoch, let oldest, let requested):
            writer.field("type", "room_reset")
            writer.field("seq", Int(seq))
            writer.field("room", room.rawValue)
            writer.field("epoch", epoch)
            writer.field("oldest", Int(oldest))
            writer.field("requested", Int(requested))
        case .roomCaughtUp(let seq, let room, let offset):
            writer.field("type", "room_caught_up")
            writer.field("seq", Int(seq))
            writer.field("room", room.rawValue)
            writer.field("offset", Int(offset))
        case .roomSent(let seq, let room, let clientMessageID, let offset):
            writer.field("type", "room_sent")
            writer.field("seq", Int(seq))
            writer.field("room", room.rawValue)
            writer.field("clientMsgId", clientMessageID)
            writer.field("offset", Int(offset))
        case .left(let seq, let room):
            writer.field("type", "left")
            writer.field("seq", Int(seq))
            writer.field("room", room.rawValue)
        case .roomError(let seq, let room, let code, let message, let clientMessageID):
            writer.field("type", "error")
            writer.field("seq", Int(seq))
            writer.field("room", room.rawValue)
            writer.field("code", code)
            writer.field("message", message)
            writer.field("clientMsgId", clientMessageID)
        }
        return writer.finish()
    }
}

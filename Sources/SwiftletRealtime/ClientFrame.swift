import Foundation
import SwiftletCore

/// A frame a client sends: a JSON object whose `type` says what it is.
public enum ClientFrame: Sendable, Equatable {
    /// The first-frame token (when the upgrade carried none) or a fresh token mid-connection.
    case auth(token: String)
    /// This device has shown everything up to `seq`.
    case ack(seq: Int64)
    /// A direct message, as `POST /api/v1/messages` takes it.
    case send(DirectMessageSubmission)
    case ping
    /// Join the room (if allowed; a member already is) and follow it from `offset` in `epoch`.
    case join(room: String, offset: Int64, epoch: String?)
    /// Stop following the room and leave it.
    case leave(room: String)
    /// Stop following the room, staying a member.
    case unsubscribe(room: String)
    /// A message to a room, with the fields of a direct message besides `to`.
    case roomSend(room: String, DirectMessageSubmission)
    /// A JSON object of a type this server does not know (answered with an error frame,
    /// not a close, so newer clients can talk to older servers).
    case unknown(type: String)

    /// Parses a text frame; nil when it is not a JSON object with a string `type` (a
    /// protocol violation).
    public static func parse(_ text: String) -> ClientFrame? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let type = object["type"] as? String else { return nil }
        switch type {
        case "auth":
            guard let token = object["token"] as? String else { return .unknown(type: type) }
            return .auth(token: token)
        case "ack":
            guard let seq = (object["seq"] as? NSNumber)?.int64Value else { return .unknown(type: type) }
            return .ack(seq: seq)
        case "send":
            return .send(submission(object, to: object["to"] as? String ?? ""))
        case "ping":
            return .ping
        case "join":
            guard let room = object["room"] as? String else { return .unknown(type: type) }
            let offset = (object["offset"] as? NSNumber)?.int64Value ?? 0
            return .join(room: room, offset: max(0, offset), epoch: object["epoch"] as? String)
        case "leave", "unsubscribe":
            guard let room = object["room"] as? String else { return .unknown(type: type) }
            return type == "leave" ? .leave(room: room) : .unsubscribe(room: room)
        case "room_send":
            guard let room = object["room"] as? String else { return .unknown(type: type) }
            return .roomSend(room: room, submission(object, to: ""))
        default:
            return .unknown(type: String(type.prefix(64)))
        }
    }

    /// The message fields of `send` and `room_send`. A `payload` is re-serialised with
    /// sorted keys: the same object is the same text whichever path or node it came
    /// through, so a retry is recognised as one (the idempotency hash). A payload that is
    /// not an object becomes neither text nor payload, refused as `messages.invalid_content`.
    static func submission(_ object: [String: Any], to: String) -> DirectMessageSubmission {
        let clientMessageID = object["clientMsgId"] as? String ?? ""
        guard let value = object["payload"] else {
            return DirectMessageSubmission(to: to, text: object["text"] as? String, payload: nil, clientMessageID: clientMessageID)
        }
        guard value is [String: Any], let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else {
            return DirectMessageSubmission(to: to, text: nil, payload: nil, clientMessageID: clientMessageID)
        }
        return DirectMessageSubmission(to: to, text: object["text"] as? String, payload: String(decoding: data, as: UTF8.self),
                                       clientMessageID: clientMessageID)
    }
}

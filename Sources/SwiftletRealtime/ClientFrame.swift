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
            var payload: String?
            if let value = object["payload"] {
                guard value is [String: Any], let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else {
                    // Neither text nor an object: refused as `messages.invalid_content`, as over REST.
                    return .send(DirectMessageSubmission(
                        to: object["to"] as? String ?? "", text: nil, payload: nil,
                        clientMessageID: object["clientMsgId"] as? String ?? ""))
                }
                // Sorted keys: the same object is the same text whichever path or node it
                // came through, so a retry is recognised as one (the idempotency hash).
                payload = String(decoding: data, as: UTF8.self)
            }
            return .send(DirectMessageSubmission(
                to: object["to"] as? String ?? "", text: object["text"] as? String, payload: payload,
                clientMessageID: object["clientMsgId"] as? String ?? ""))
        case "ping":
            return .ping
        default:
            return .unknown(type: String(type.prefix(64)))
        }
    }
}

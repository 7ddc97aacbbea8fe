import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Wire types for the inbox, direct messages and block lists.
struct InboxAckRequest: Decodable {
    let device: String
    let seq: Int64
}

/// The typed fields of a direct message; `payload` (any JSON object) is read from the
/// same body separately (`RealtimeRoutes.payloadText`), since a `Decodable` cannot hold
/// an arbitrary object.
struct SendMessageRequest: Decodable {
    let to: String
    let text: String?
    let clientMsgId: String
}

struct BlockRequest: Decodable {
    let userId: String
}

struct InboxCursorDTO: ResponseEncodable {
    let device: String
    let acked: Int64
    let updatedAt: String
    let unread: Int64

    init(_ cursor: InboxCursor, unread: Int64) {
        device = cursor.device
        acked = cursor.ackedSeq
        updatedAt = RFC3339.string(cursor.updatedAt)
        self.unread = unread
    }
}

struct MessageReceiptDTO: ResponseEncodable {
    let id: String
    /// The sender's copy, so the sending device can mark its own inbox as read up to it.
    let seq: Int64
    let recipientSeq: Int64
    let createdAt: String

    init(_ receipt: DirectMessageReceipt) {
        id = receipt.messageID
        seq = receipt.echoed.seq
        recipientSeq = receipt.delivered.seq
        createdAt = RFC3339.string(receipt.echoed.createdAt)
    }
}

struct BlockListDTO: ResponseEncodable {
    let blocked: [String]
}

/// The `GET /api/v1/inbox` body, written by hand: each message's payload is stored as
/// JSON object text and goes into the answer as that object, not re-encoded as a string.
enum InboxPageJSON {
    static func render(_ page: InboxPage, since: Int64, cursors: [InboxCursor]) -> String {
        var text = #"{"messages":["#
        for (index, message) in page.messages.enumerated() {
            if index > 0 { text += "," }
            text += #"{"seq":"# + String(message.seq)
            text += #","kind":"#
            JSONText.appendString(message.kind, to: &text)
            text += #","payload":"# + message.payload
            text += #","createdAt":"#
            JSONText.appendString(RFC3339.string(message.createdAt), to: &text)
            text += "}"
        }
        text += #"],"head":"# + String(page.head)
        text += #","oldest":"# + String(page.oldest)
        // Past the head nothing can have been removed; clamping also keeps `since + 1` from overflowing.
        text += #","reset":"# + (page.isReset(since: min(since, page.head)) ? "true" : "false")
        text += #","cursors":["#
        for (index, cursor) in cursors.enumerated() {
            if index > 0 { text += "," }
            text += #"{"device":"#
            JSONText.appendString(cursor.device, to: &text)
            text += #","acked":"# + String(cursor.ackedSeq)
            text += #","updatedAt":"#
            JSONText.appendString(RFC3339.string(cursor.updatedAt), to: &text)
            text += "}"
        }
        text += #"],"unread":"# + String(InboxUnread.count(head: page.head, cursors: cursors)) + "}"
        return text
    }
}

/// What the user has not seen on any device: the head less the furthest cursor.
enum InboxUnread {
    static func count(head: Int64, cursors: [InboxCursor]) -> Int64 {
        // The head and the cursors are read by two statements; a cursor that moved past the
        // head read before it counts as nothing unread, never as a negative number.
        max(0, head - (cursors.map(\.ackedSeq).max() ?? 0))
    }
}

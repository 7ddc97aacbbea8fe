import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Wire types for rooms (group chats and live rooms).
struct CreateRoomRequest: Decodable {
    let name: String
    /// `open` or `invite`; read as text so an unknown value gets its own code, not a decoding error.
    let policy: String?
}

struct AddRoomMemberRequest: Decodable {
    let userId: String
}

/// The typed fields of a room message; `payload` (any JSON object) is read from the same
/// body separately (`RealtimeRoutes.payloadText`), as for direct messages.
struct RoomMessageRequest: Decodable {
    let text: String?
    let clientMsgId: String
}

struct RoomDTO: ResponseEncodable {
    let id: String
    let name: String
    let policy: String
    let epoch: String
    let lastOffset: Int64
    let createdBy: String
    let createdAt: String

    init(_ room: Room) {
        id = room.id.rawValue
        name = room.name
        policy = room.policy.rawValue
        epoch = room.epoch
        lastOffset = room.lastOffset
        createdBy = room.createdBy.rawValue
        createdAt = RFC3339.string(room.createdAt)
    }
}

struct RoomListDTO: ResponseEncodable {
    let rooms: [RoomDTO]
}

struct RoomMemberDTO: Encodable, Sendable {
    let userId: String
    let role: String
    let joinedAt: String

    init(_ member: RoomMember) {
        userId = member.userID.rawValue
        role = member.role.rawValue
        joinedAt = RFC3339.string(member.joinedAt)
    }
}

struct RoomMembersDTO: ResponseEncodable {
    let members: [RoomMemberDTO]
}

struct RoomMessageReceiptDTO: ResponseEncodable {
    let offset: Int64
    let epoch: String
    let id: String
    let createdAt: String

    init(_ message: RoomMessage, epoch: String) {
        offset = message.offset
        self.epoch = epoch
        id = Self.messageID(message.payload)
        createdAt = RFC3339.string(message.createdAt)
    }

    /// The `id` inside the stored payload: a replay answers with the first send's id,
    /// which only the stored message knows.
    static func messageID(_ payload: String) -> String {
        struct Envelope: Decodable { let id: String }
        return (try? JSONDecoder().decode(Envelope.self, from: Data(payload.utf8)).id) ?? ""
    }
}

struct RoomPresenceDTO: ResponseEncodable {
    let online: Int
    let users: [String]
}

/// The `GET /api/v1/rooms/{id}/messages` body, written by hand: each message's payload
/// is stored as JSON object text and goes into the answer as that object. `reset` is
/// decided against the client's position before the page was read (`RoomRoutes`).
enum RoomHistoryJSON {
    static func render(_ page: RoomHistoryPage, reset: Bool) -> String {
        var text = #"{"messages":["#
        for (index, message) in page.messages.enumerated() {
            if index > 0 { text += "," }
            text += #"{"offset":"# + String(message.offset)
            text += #","payload":"# + message.payload
            text += #","createdAt":"#
            JSONText.appendString(RFC3339.string(message.createdAt), to: &text)
            text += #","from":"#
            JSONText.appendString(message.senderID.rawValue, to: &text)
            text += "}"
        }
        text += #"],"epoch":"#
        JSONText.appendString(page.epoch, to: &text)
        text += #","head":"# + String(page.head)
        text += #","oldest":"# + String(page.oldest)
        text += #","reset":"# + (reset ? "true" : "false") + "}"
        return text
    }
}

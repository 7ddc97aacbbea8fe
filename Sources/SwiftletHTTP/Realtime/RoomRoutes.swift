import Foundation
import HTTPTypes
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Rooms (group chats and live rooms) over REST under `/api/v1/rooms`: creation,
/// membership, messages and history through the same `RoomService` the socket uses, so a
/// message posted either way is checked, limited and numbered alike.
public struct RoomRoutes: Sendable {
    /// Room ids as `RoomID.generate` makes them: `r_` and 16 random bytes in base32.
    static let roomIDLength = 2 + 26
    static let base32: Set<UInt8> = Set("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    let rooms: RoomService
    /// Who is connected to a room right now. The realtime gateway knows, not the service
    /// or the database, so it is handed in by whoever composes both.
    let presence: @Sendable (RoomID) async -> [UserID]

    public init(rooms: RoomService, presence: @escaping @Sendable (RoomID) async -> [UserID]) {
        self.rooms = rooms
        self.presence = presence
    }

    public func register(buyer api: RouterGroup<SwiftletRequestContext>) {
        api.post("/rooms") { request, context -> EditedResponse<RoomDTO> in
            let userID = try context.requirePrincipal().userID
            let body = try await request.decodeJSON(CreateRoomRequest.self, context: context)
            let room = try await rooms.create(name: body.name, policy: try Self.policy(body.policy), by: userID)
            return EditedResponse(status: .created, headers: [.location: "/api/v1/rooms/\(room.id)"], response: RoomDTO(room))
        }
        api.get("/rooms") { _, context -> RoomListDTO in
            RoomListDTO(rooms: try await rooms.rooms(of: try context.requirePrincipal().userID).map(RoomDTO.init))
        }
        api.get("/rooms/{id}") { _, context -> RoomDTO in
            let userID = try context.requirePrincipal().userID
            let id = try Self.roomID(context)
            try await rooms.requireMember(userID, of: id)
            return RoomDTO(try await rooms.room(id))
        }

        api.post("/rooms/{id}/join") { _, context -> RoomDTO in
            let userID = try context.requirePrincipal().userID
            return RoomDTO(try await rooms.join(try Self.roomID(context), user: userID))
        }
        api.post("/rooms/{id}/leave") { _, context -> HTTPResponse.Status in
            let userID = try context.requirePrincipal().userID
            try await rooms.leave(try Self.roomID(context), user: userID)
            return .noContent
        }
        api.post("/rooms/{id}/members") { request, context -> HTTPResponse.Status in
            let userID = try context.requirePrincipal().userID
            let id = try Self.roomID(context)
            let added = try Self.member(try await request.decodeJSON(AddRoomMemberRequest.self, context: context).userId)
            try await rooms.add(added, to: id, by: userID)
            return .noContent
        }
        api.get("/rooms/{id}/members") { _, context -> RoomMembersDTO in
            let userID = try context.requirePrincipal().userID
            return RoomMembersDTO(members: try await rooms.members(of: try Self.roomID(context), asker: userID).map(RoomMemberDTO.init))
        }

        api.post("/rooms/{id}/messages") { request, context -> EditedResponse<RoomMessageReceiptDTO> in
            let userID = try context.requirePrincipal().userID
            let id = try Self.roomID(context)
            var request = request
            let buffer = try await request.collectBody(upTo: context.maxUploadSize)
            let body = try await request.decodeJSON(RoomMessageRequest.self, context: context)
            // `to` is a direct message's field; a room message goes to the room named in the path.
            let receipt = try await rooms.post(to: id, from: userID, DirectMessageSubmission(
                to: id.rawValue, text: body.text, payload: try RealtimeRoutes.payloadText(buffer), clientMessageID: body.clientMsgId))
            // A stored message does not carry its epoch; the room's, read after the post, is it
            // (an epoch changes only when a room's history is replaced).
            let answer = RoomMessageReceiptDTO(receipt.message, epoch: try await rooms.room(id).epoch)
            if receipt.replayed {
                return EditedResponse(status: .ok, headers: [.idempotentReplayed: "true"], response: answer)
            }
            return EditedResponse(status: .created, response: answer)
        }
        api.get("/rooms/{id}/messages") { request, context -> Response in
            let userID = try context.requirePrincipal().userID
            let id = try Self.roomID(context)
            let query = request.uri.queryParameters
            let offset = try Self.offset(query)
            let limit = try RealtimeRoutes.limit(query)
            var page = try await rooms.history(of: id, asker: userID, after: offset, limit: limit)
            let reset = page.isReset(offset: offset, epoch: query.get("epoch"))
            // A position that cannot be continued (another epoch, past the head) is worth
            // nothing: the answer starts over from the oldest kept, as the socket does. A
            // position older than the oldest kept already got that page.
            if reset, offset >= page.oldest {
                page = try await rooms.history(of: id, asker: userID, after: 0, limit: limit)
            }
            return InlineResponse.json(RoomHistoryJSON.render(page, reset: reset)).response
        }

        api.get("/rooms/{id}/presence") { _, context -> RoomPresenceDTO in
            let userID = try context.requirePrincipal().userID
            let id = try Self.roomID(context)
            try await rooms.requireMember(userID, of: id)
            let users = await presence(id)
            return RoomPresenceDTO(online: users.count, users: users.map(\.rawValue))
        }
    }

    // MARK: Input

    /// The path's room id. Anything not shaped like one cannot name a room: it is answered
    /// as an unknown room without asking the database.
    static func roomID(_ context: SwiftletRequestContext) throws -> RoomID {
        let text = try context.parameters.require("id")
        guard isRoomID(text) else { throw RoomService.notFound }
        return RoomID(rawValue: text)
    }

    static func isRoomID(_ text: String) -> Bool {
        text.utf8.count == roomIDLength && text.hasPrefix("r_") && text.utf8.dropFirst(2).allSatisfy(base32.contains)
    }

    static func policy(_ text: String?) throws -> RoomJoinPolicy {
        guard let text else { return .invite }
        guard let policy = RoomJoinPolicy(rawValue: text) else {
            throw SwiftletError.invalid("rooms.invalid_policy", "`policy` must be `open` or `invite`.")
        }
        return policy
    }

    static func member(_ text: String) throws -> UserID {
        guard RealtimeRoutes.isIdentifier(text) else {
            throw SwiftletError.invalid("rooms.invalid_user", "`userId` must be a user id.")
        }
        return UserID(rawValue: text)
    }

    static func offset(_ query: Parameters) throws -> Int64 {
        guard let text = query.get("offset") else { return 0 }
        guard let offset = Int64(text), offset >= 0 else {
            throw SwiftletError.invalid("rooms.invalid_offset", "offset must be a room offset (0 or more).")
        }
        return offset
    }
}

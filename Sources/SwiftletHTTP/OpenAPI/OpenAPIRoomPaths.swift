import SwiftletCore

/// Operations and schemas of rooms: group chats and live rooms (`RoomRoutes`).
enum OpenAPIRoomPaths {
    typealias Op = OpenAPIOperation
    static let ref = OpenAPISchemas.ref
    static let tag = "rooms"

    /// `RoomRoutes.isRoomID`: `r_` and 26 characters of the server's base32 alphabet.
    static let roomID: OpenAPIJSON = ["type": "string", "pattern": "^r_[0-9a-hjkmnp-tv-z]{26}$"]
    static let policy: OpenAPIJSON = [
        "type": "string", "enum": .array(RoomJoinPolicy.allCases.map { .string($0.rawValue) }),
        "description": "`open`: anyone signed in may join. `invite`: only people the owner adds.",
    ]
    static let unknown: [Int: [String]] = [404: ["rooms.not_found"]]
    static let membersOnly: [Int: [String]] = [403: ["rooms.not_member"], 404: ["rooms.not_found"]]

    static let operations: [OpenAPIOperation] = [
        Op(method: "post", path: "/api/v1/rooms", operationID: "createRoom",
           summary: "Create a room; the caller is its owner and first member.", tag: tag, security: .bearer, body: ref("RoomCreate"),
           responses: [(201, Op.json("Created.", ref("Room"), headers: [("Location", [
               "description": "The room's URL.", "required": true, "schema": ["type": "string", "pattern": "^/api/v1/rooms/r_"],
           ])]))],
           errors: [400: ["rooms.invalid_name", "rooms.invalid_policy"]]),
        Op(method: "get", path: "/api/v1/rooms", operationID: "listRooms",
           summary: "The rooms the caller is a member of, newest first (at most 200).", tag: tag, security: .bearer,
           responses: [(200, Op.json("The caller's rooms.", ref("RoomList")))]),
        Op(method: "get", path: "/api/v1/rooms/{id}", operationID: "getRoom", summary: "A room the caller is a member of.",
           tag: tag, security: .bearer, responses: [(200, Op.json("The room.", ref("Room")))], errors: membersOnly),

        Op(method: "post", path: "/api/v1/rooms/{id}/join", operationID: "joinRoom",
           summary: "Join an open room (again is fine).", tag: tag, security: .bearer,
           responses: [(200, Op.json("The room joined.", ref("Room")))],
           errors: [403: ["rooms.join_forbidden"], 404: ["rooms.not_found"], 409: ["rooms.full"]],
           notes: "An `invite` room refuses with 403 `rooms.join_forbidden`: its owner adds members. A deployment may decide joins by its own rules instead of the room's policy."),
        Op(method: "post", path: "/api/v1/rooms/{id}/leave", operationID: "leaveRoom",
           summary: "Leave a room (one the caller is not in is fine too).", tag: tag, security: .bearer,
           responses: [(204, Op.empty("Not a member."))], errors: unknown),
        Op(method: "post", path: "/api/v1/rooms/{id}/members", operationID: "addRoomMember",
           summary: "The owner adds a member (how `invite` rooms get theirs; one already in is fine).", tag: tag,
           security: .bearer, body: ref("RoomMemberAdd"), responses: [(204, Op.empty("A member."))],
           errors: [400: ["rooms.invalid_user"], 403: ["rooms.not_owner"], 404: ["rooms.not_found"], 409: ["rooms.full"]]),
        Op(method: "get", path: "/api/v1/rooms/{id}/members", operationID: "listRoomMembers",
           summary: "A room's members in join order.", tag: tag, security: .bearer,
           responses: [(200, Op.json("The members.", ref("RoomMembers")))], errors: membersOnly),

        Op(method: "post", path: "/api/v1/rooms/{id}/messages", operationID: "postRoomMessage",
           summary: "Post a message to a room the caller is a member of; it gets the room's next offset.", tag: tag,
           security: .bearer, body: ref("RoomMessageRequest"),
           responses: [
               (201, Op.json("Stored.", ref("RoomMessageReceipt"))),
               (200, Op.json("A retry of a message already posted with this `clientMsgId`; nothing new was stored.",
                             ref("RoomMessageReceipt"), headers: [("Idempotent-Replayed", [
                                 "required": true, "schema": ["type": "string", "const": "true"],
                             ])])),
           ],
           errors: [400: ["messages.invalid_client_msg_id", "messages.invalid_text", "messages.invalid_content"],
                    403: ["rooms.not_member"], 404: ["rooms.not_found"],
                    409: ["rooms.client_msg_id_conflict", "rooms.client_msg_id_expired"],
                    413: ["messages.payload_too_large"], 429: ["messages.rate_limited"]],
           notes: "Send exactly one of `text` and `payload`, as for direct messages, which share the limits: `payload` is at most 4096 bytes as JSON, and room messages and direct messages together count against `realtime.messagesPerMinute` (default 60) a minute; past it the answer is 429 with `Retry-After`. A `clientMsgId` the caller used before in this room with other content is a conflict. A retry is recognised while the room's history keeps its message (the last `realtime.roomHistory`, default 500); one that comes later is a new message, and one whose message is trimmed while it is answered gets `rooms.client_msg_id_expired`."),
        Op(method: "get", path: "/api/v1/rooms/{id}/messages", operationID: "readRoomMessages",
           summary: "A room's messages after an offset.", tag: tag, security: .bearer,
           parameters: [
               OpenAPICommercePaths.query("offset", OpenAPISchemas.integer(minimum: 0, maximum: Int(Int64.max)),
                                          "The last offset this client has; default 0 (from the oldest kept)."),
               OpenAPICommercePaths.query("epoch", OpenAPISchemas.string(),
                                          "The room's `epoch` the offset belongs to; leave it out on a first read."),
               OpenAPICommercePaths.query("limit", OpenAPISchemas.integer(minimum: 1, maximum: RealtimeRoutes.maxLimit),
                                          "At most this many messages, default \(RealtimeRoutes.defaultLimit)."),
           ],
           responses: [(200, Op.json("Messages after `offset`, in order.", ref("RoomHistory")))],
           errors: [400: ["rooms.invalid_offset", "request.invalid_limit"], 403: ["rooms.not_member"], 404: ["rooms.not_found"]],
           notes: "Read again from the last `offset` received until it reaches `head`. `reset` says the client's position cannot be continued exactly: `epoch` is not the room's (its history was replaced), `offset` is past `head`, or messages right after it are no longer kept. The page then starts at `oldest`; drop what the client holds for the room and keep the new `epoch`."),

        Op(method: "get", path: "/api/v1/rooms/{id}/presence", operationID: "roomPresence",
           summary: "Who in a room is connected to the realtime gateway right now.", tag: tag, security: .bearer,
           responses: [(200, Op.json("Users online.", ref("RoomPresence")))], errors: membersOnly),
    ]

    static let schemas: [(String, OpenAPIJSON)] = [
        ("Room", OpenAPISchemas.object(["id", "name", "policy", "epoch", "lastOffset", "createdBy", "createdAt"], [
            ("id", roomID),
            ("name", OpenAPISchemas.string(minLength: 1)),
            ("policy", policy),
            ("epoch", OpenAPISchemas.string("Labels the room's sequence of offsets; a new one means offsets of the old one mean nothing.",
                                            minLength: 1)),
            ("lastOffset", OpenAPISchemas.integer("The newest offset; 0 before the first message.", minimum: 0)),
            ("createdBy", OpenAPISchemas.string("The owner's user id.")),
            ("createdAt", OpenAPISchemas.timestamp),
        ])),
        ("RoomList", OpenAPISchemas.object(["rooms"], [("rooms", OpenAPISchemas.array(ref("Room")))])),
        ("RoomCreate", OpenAPISchemas.input(["name"], [
            ("name", OpenAPISchemas.string("1–64 \(OpenAPISchemas.printable).", minLength: 1, maxLength: 64,
                                           pattern: OpenAPISchemas.noControlCharacters)),
            ("policy", policy.merging(["default": "invite"])),
        ])),
        ("RoomMemberAdd", OpenAPISchemas.input(["userId"], [("userId", OpenAPIRealtimePaths.identifier)])),
        ("RoomMember", OpenAPISchemas.object(["userId", "role", "joinedAt"], [
            ("userId", OpenAPISchemas.string()),
            ("role", ["type": "string", "enum": ["owner", "member"]]),
            ("joinedAt", OpenAPISchemas.timestamp),
        ])),
        ("RoomMembers", OpenAPISchemas.object(["members"], [("members", OpenAPISchemas.array(ref("RoomMember")))])),
        ("RoomMessageRequest", OpenAPISchemas.input(["clientMsgId"], [
            ("text", OpenAPISchemas.string(
                "1–\(DirectMessageLimits().maxTextCharacters) characters (`realtime.maxMessageCharacters`) with no control characters but line feeds and tabs, and no format characters but the zero-width joiner.",
                minLength: 1, maxLength: DirectMessageLimits().maxTextCharacters, pattern: OpenAPIRealtimePaths.messageText)),
            ("payload", ["type": "object", "description": .string("Any JSON object, at most \(DirectMessageLimits().maxPayloadBytes) bytes.")]),
            ("clientMsgId", OpenAPISchemas.string("Chosen by the client; the same id again in this room is a retry of the same message.",
                                                  pattern: "^[A-Za-z0-9._:-]{1,64}$")),
        ], description: "Exactly one of `text` and `payload`.").merging([
            "oneOf": [["required": ["text"]], ["required": ["payload"]]],
        ])),
        ("RoomMessageReceipt", OpenAPISchemas.object(["offset", "epoch", "id", "createdAt"], [
            ("offset", OpenAPISchemas.integer("The message's place in the room.", minimum: 1)),
            ("epoch", OpenAPISchemas.string("The epoch `offset` belongs to.", minLength: 1)),
            ("id", OpenAPISchemas.string(pattern: "^rm_")),
            ("createdAt", OpenAPISchemas.timestamp),
        ])),
        ("RoomMessage", OpenAPISchemas.object(["offset", "payload", "createdAt", "from"], [
            ("offset", OpenAPISchemas.integer(minimum: 1)),
            ("payload", ["type": "object", "description": "The message: `id`, `room`, `from`, `clientMsgId`, `sentAt`, and `text` or `payload`."]),
            ("createdAt", OpenAPISchemas.timestamp),
            ("from", OpenAPISchemas.string("The sender's user id.")),
        ])),
        ("RoomHistory", OpenAPISchemas.object(["messages", "epoch", "head", "oldest", "reset"], [
            ("messages", OpenAPISchemas.array(ref("RoomMessage"))),
            ("epoch", OpenAPISchemas.string("The room's epoch; keep it with the offsets read.", minLength: 1)),
            ("head", OpenAPISchemas.integer("The newest offset; 0 before the first message.", minimum: 0)),
            ("oldest", OpenAPISchemas.integer("The oldest offset still kept; `head + 1` when none is.", minimum: 1)),
            ("reset", ["type": "boolean", "description": "The client's `offset` and `epoch` cannot be continued exactly; the page starts at `oldest`."]),
        ])),
        ("RoomPresence", OpenAPISchemas.object(["online", "users"], [
            ("online", OpenAPISchemas.integer("How many users are connected.", minimum: 0)),
            ("users", OpenAPISchemas.array(OpenAPISchemas.string())),
        ])),
    ]
}

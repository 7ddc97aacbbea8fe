import SwiftletCore

/// Operations and schemas of the inbox, direct messages, block lists and the realtime
/// gateway's endpoint (`RealtimeRoutes`).
enum OpenAPIRealtimePaths {
    typealias Op = OpenAPIOperation
    static let ref = OpenAPISchemas.ref
    static let tag = "realtime"

    /// User ids, devices and recipients: `RealtimeRoutes.isIdentifier`.
    static let identifier: OpenAPIJSON = ["type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"]
    static let sequence = OpenAPISchemas.integer("Position in the user's inbox: 1, 2, 3, … without gaps.", minimum: 1)
    /// Control characters other than line feeds and tabs refused (`DirectMessageService`).
    static let messageText = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$"

    static let operations: [OpenAPIOperation] = [
        Op(method: "get", path: "/api/v1/inbox", operationID: "readInbox",
           summary: "The caller's inbox after a sequence number, with the devices' cursors.", tag: tag, security: .bearer,
           parameters: [
               OpenAPICommercePaths.query("since", OpenAPISchemas.integer(minimum: 0, maximum: Int(Int64.max)),
                                          "The last sequence number this device has; default 0 (from the oldest kept)."),
               OpenAPICommercePaths.query("limit", OpenAPISchemas.integer(minimum: 1, maximum: RealtimeRoutes.maxLimit),
                                          "At most this many messages, default \(RealtimeRoutes.defaultLimit)."),
           ],
           responses: [(200, Op.json("Messages after `since`, in order.", ref("InboxPage")))],
           errors: [400: ["inbox.invalid_since", "request.invalid_limit"]],
           notes: "Read again from the last `seq` received until it reaches `head`. `reset` says that messages right after `since` were removed by retention: the page starts at `oldest`, and what came before it is gone."),
        Op(method: "post", path: "/api/v1/inbox/ack", operationID: "ackInbox",
           summary: "This device has shown the inbox up to `seq`.", tag: tag, security: .bearer, body: ref("InboxAck"),
           responses: [(200, Op.json("The device's cursor.", ref("InboxCursor")))],
           errors: [400: ["inbox.invalid_device", "inbox.invalid_seq"]],
           notes: "A cursor only moves forward and never past the head: a smaller `seq` leaves it where it is, a larger one stops at the head."),

        Op(method: "post", path: "/api/v1/messages", operationID: "sendMessage",
           summary: "Send a direct message; it goes to the recipient's inbox and a copy to the sender's.", tag: tag,
           security: .bearer, body: ref("DirectMessageRequest"),
           responses: [
               (201, Op.json("Stored in both inboxes.", ref("DirectMessageReceipt"))),
               (200, Op.json("A retry of a message already sent with this `clientMsgId`; nothing new was stored.",
                             ref("DirectMessageReceipt"), headers: [("Idempotent-Replayed", [
                                 "required": true, "schema": ["type": "string", "const": "true"],
                             ])])),
           ],
           errors: [400: ["messages.invalid_recipient", "messages.to_self", "messages.invalid_client_msg_id", "messages.invalid_text",
                          "messages.invalid_content"],
                    403: ["messages.blocked"], 404: ["messages.recipient_not_found"],
                    409: ["messages.client_msg_id_conflict", "messages.client_msg_id_expired"],
                    413: ["messages.payload_too_large"], 429: ["messages.rate_limited"]],
           notes: "Send exactly one of `text` and `payload`. `payload` is at most 4096 bytes as JSON. A user sends at most `realtime.messagesPerMinute` (default 60) a minute over all nodes; past it the answer is 429 with `Retry-After`. A `clientMsgId` used before with other content is a conflict; once retention removed both copies of its message it is `messages.client_msg_id_expired`."),

        Op(method: "get", path: "/api/v1/blocks", operationID: "listBlocks", summary: "The users the caller blocked.", tag: tag,
           security: .bearer, responses: [(200, Op.json("Blocked user ids, oldest block first.", ref("BlockList")))]),
        Op(method: "post", path: "/api/v1/blocks", operationID: "blockUser",
           summary: "Stop direct messages from a user (again is fine).", tag: tag, security: .bearer, body: ref("BlockRequest"),
           responses: [(204, Op.empty("Blocked."))], errors: [400: ["blocks.invalid_user", "blocks.self"]]),
        Op(method: "delete", path: "/api/v1/blocks/{userId}", operationID: "unblockUser",
           summary: "Accept direct messages from a user again (one not blocked is fine too).", tag: tag, security: .bearer,
           responses: [(204, Op.empty("Not blocked."))], errors: [400: ["blocks.invalid_user"]],
           notes: "A `userId` that is not 1–64 of `[A-Za-z0-9._-]` is answered 400."),

        Op(method: "get", path: RealtimeRoutes.upgradePath, operationID: "realtime",
           summary: "The realtime gateway: a WebSocket carrying the inbox live.", tag: tag, usesStorage: false,
           responses: [(101, [
               "description": "Switched to WebSocket (`Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Version: 13`).",
           ])],
           errors: [426: ["realtime.upgrade_required"]],
           notes: "Open with `wx.connectSocket`. Query: `since` (the last sequence number the device has, default 0) and `device` (1–64 of `[A-Za-z0-9._-]`, default `default`). The access token goes in `Authorization: Bearer …` or in a first frame `{\"type\":\"auth\",\"token\":…}`. A GET without `Upgrade` is answered 426 with `Upgrade: websocket`."),
    ]

    static let schemas: [(String, OpenAPIJSON)] = [
        ("InboxMessage", OpenAPISchemas.object(["seq", "kind", "payload", "createdAt"], [
            ("seq", sequence),
            ("kind", OpenAPISchemas.string("`dm` (to the caller), `dm.sent` (the caller's own, for their other devices), `order.paid`, `order.shipped`, `order.refunded`, `order.closed`; more may come.")),
            ("payload", ["type": "object", "description": "The message itself; its fields depend on `kind`."]),
            ("createdAt", OpenAPISchemas.timestamp),
        ])),
        ("InboxDeviceCursor", OpenAPISchemas.object(["device", "acked", "updatedAt"], [
            ("device", OpenAPISchemas.string()),
            ("acked", OpenAPISchemas.integer(minimum: 0)),
            ("updatedAt", OpenAPISchemas.timestamp),
        ])),
        ("InboxPage", OpenAPISchemas.object(["messages", "head", "oldest", "reset", "cursors", "unread"], [
            ("messages", OpenAPISchemas.array(ref("InboxMessage"))),
            ("head", OpenAPISchemas.integer("The newest sequence number; 0 before the first message.", minimum: 0)),
            ("oldest", OpenAPISchemas.integer("The oldest sequence number still kept; `head + 1` when none is.", minimum: 1)),
            ("reset", ["type": "boolean", "description": "Messages right after `since` were removed by retention."]),
            ("cursors", OpenAPISchemas.array(ref("InboxDeviceCursor"))),
            ("unread", OpenAPISchemas.integer("`head` less the furthest cursor of any device.", minimum: 0)),
        ])),
        ("InboxCursor", OpenAPISchemas.object(["device", "acked", "updatedAt", "unread"], [
            ("device", OpenAPISchemas.string()),
            ("acked", OpenAPISchemas.integer(minimum: 0)),
            ("updatedAt", OpenAPISchemas.timestamp),
            ("unread", OpenAPISchemas.integer("`head` less the furthest cursor of any device.", minimum: 0)),
        ])),
        ("InboxAck", OpenAPISchemas.input(["device", "seq"], [
            ("device", identifier),
            ("seq", OpenAPISchemas.integer(minimum: 0, maximum: Int(Int64.max))),
        ])),
        ("DirectMessageRequest", OpenAPISchemas.input(["to", "clientMsgId"], [
            ("to", identifier),
            ("text", OpenAPISchemas.string(
                "1–\(DirectMessageLimits().maxTextCharacters) characters (`realtime.maxMessageCharacters`) with no control characters but line feeds and tabs, and no format characters but the zero-width joiner.",
                minLength: 1, maxLength: DirectMessageLimits().maxTextCharacters, pattern: messageText)),
            ("payload", ["type": "object", "description": .string("Any JSON object, at most \(DirectMessageLimits().maxPayloadBytes) bytes.")]),
            ("clientMsgId", OpenAPISchemas.string("Chosen by the client; the same id again is a retry of the same message.",
                                                  pattern: "^[A-Za-z0-9._:-]{1,64}$")),
        ], description: "Exactly one of `text` and `payload`.").merging([
            "oneOf": [["required": ["text"]], ["required": ["payload"]]],
        ])),
        ("DirectMessageReceipt", OpenAPISchemas.object(["id", "seq", "recipientSeq", "createdAt"], [
            ("id", OpenAPISchemas.string(pattern: "^m_")),
            ("seq", OpenAPISchemas.integer("The sender's copy in their own inbox.", minimum: 1)),
            ("recipientSeq", OpenAPISchemas.integer("The message in the recipient's inbox.", minimum: 1)),
            ("createdAt", OpenAPISchemas.timestamp),
        ])),
        ("BlockRequest", OpenAPISchemas.input(["userId"], [("userId", identifier)])),
        ("BlockList", OpenAPISchemas.object(["blocked"], [("blocked", OpenAPISchemas.array(OpenAPISchemas.string()))])),
    ]
}

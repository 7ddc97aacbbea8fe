import SwiftletCore

/// Operations and schemas of outbound webhooks for operators (`WebhookRoutes`).
enum OpenAPIWebhookPaths {
    typealias Op = OpenAPIOperation
    static let ref = OpenAPISchemas.ref
    static let tag = "admin webhooks"

    static let eventType: OpenAPIJSON = [
        "type": "string", "enum": .array(DomainEventTypes.all.map { .string($0) }),
        "description": "An event type of docs/events.md.",
    ]
    static let status: OpenAPIJSON = [
        "type": "string", "enum": .array(WebhookMessageStatus.allCases.map { .string($0.rawValue) }),
        "description": "`pending`: not tried yet; `failed`: a retry is scheduled; `delivered`: a 2xx came back; `dead`: every attempt failed (a dead letter).",
    ]
    static let endpointInput = ["webhooks.url_invalid", "webhooks.url_forbidden", "webhooks.url_unresolvable",
                                "webhooks.invalid_url", "webhooks.invalid_description", "webhooks.unknown_event_type"]
    static let unknown: [Int: [String]] = [404: ["webhooks.not_found"]]
    static let unknownMessage: [Int: [String]] = [404: ["webhooks.message_not_found"]]
    static let urlNote = "In production the URL must be https and its host must resolve only to public addresses (loopback, private, link-local, CGNAT and cloud metadata addresses are refused, also after DNS), unless the host or its network is on `webhooks.allowList`; other profiles also accept http and loopback. The check runs again before every delivery."

    static let operations: [OpenAPIOperation] = [
        Op(method: "post", path: "/admin/v1/webhooks", operationID: "adminCreateWebhook",
           summary: "Register a webhook endpoint; the answer shows its signing secret, once.", tag: tag, security: .adminKey,
           body: ref("WebhookCreate"),
           responses: [(201, Op.json("Registered.", ref("WebhookWithSecret"), headers: [("Location", [
               "description": "The endpoint's URL.", "required": true, "schema": ["type": "string", "pattern": "^/admin/v1/webhooks/ep_"],
           ])]))],
           errors: [400: endpointInput, 409: ["webhooks.too_many_endpoints"]], notes: urlNote),
        Op(method: "get", path: "/admin/v1/webhooks", operationID: "adminListWebhooks",
           summary: "Every webhook endpoint (never a secret).", tag: tag, security: .adminKey,
           responses: [(200, Op.json("The endpoints, oldest first.", ref("WebhookEndpointList")))]),
        Op(method: "get", path: "/admin/v1/webhooks/{id}", operationID: "adminGetWebhook", summary: "One webhook endpoint.",
           tag: tag, security: .adminKey, responses: [(200, Op.json("The endpoint.", ref("WebhookEndpoint")))], errors: unknown),
        Op(method: "patch", path: "/admin/v1/webhooks/{id}", operationID: "adminUpdateWebhook",
           summary: "Change an endpoint: URL, description, event types, enabled, ordered.", tag: tag, security: .adminKey,
           body: ref("WebhookPatch"), responses: [(200, Op.json("The endpoint.", ref("WebhookEndpoint")))],
           errors: [400: endpointInput, 404: ["webhooks.not_found"]],
           notes: "Enabling a disabled endpoint clears its disabled reason and failing streak; what it missed meanwhile is sent by a replay from its `disabledAt`."),
        Op(method: "delete", path: "/admin/v1/webhooks/{id}", operationID: "adminDeleteWebhook",
           summary: "Delete an endpoint with its messages and attempts.", tag: tag, security: .adminKey,
           responses: [(204, Op.empty("Deleted."))], errors: unknown),
        Op(method: "post", path: "/admin/v1/webhooks/{id}/rotate-secret", operationID: "adminRotateWebhookSecret",
           summary: "A new signing secret, shown once; the old one keeps signing for `webhooks.secretOverlap`.", tag: tag,
           security: .adminKey, responses: [(200, Op.json("The endpoint and its new secret.", ref("WebhookWithSecret")))],
           errors: unknown),
        Op(method: "get", path: "/admin/v1/webhooks/{id}/messages", operationID: "adminListWebhookMessages",
           summary: "An endpoint's messages, newest event first.", tag: tag, security: .adminKey,
           parameters: [
               OpenAPICommercePaths.query("status", status, "Only messages in this status."),
               OpenAPICommercePaths.query("before", OpenAPISchemas.string("`nextCursor` of the previous page.", pattern: "^[1-9][0-9]{0,18}$"),
                                          "Continue after the previous page."),
               OpenAPICommercePaths.query("limit", OpenAPISchemas.integer(minimum: 1, maximum: 100), "At most this many, default 50."),
           ],
           responses: [(200, Op.json("A page of messages.", ref("WebhookMessagePage")))],
           errors: [400: ["webhooks.invalid_status"] + ErrorCodes.paging, 404: ["webhooks.not_found"]]),
        Op(method: "post", path: "/admin/v1/webhooks/{id}/replay", operationID: "adminReplayWebhook",
           summary: "Send an endpoint's messages again: by status, by time range, or every event since a time.", tag: tag,
           security: .adminKey, body: ref("WebhookReplay"), responses: [(200, Op.json("How many became due.", ref("WebhookReplayResult")))],
           errors: [400: ["webhooks.invalid_status", "webhooks.invalid_time", "webhooks.invalid_range", "webhooks.replay_needs_scope"],
                    404: ["webhooks.not_found"]],
           notes: "With `status`, messages in those statuses whose event occurred in `from`..`to` are sent again. Without it, `from` is required and every event of the endpoint's types that occurred since then (until `to`) is sent, including events the endpoint never got because it was disabled: replay a re-enabled endpoint from its `disabledAt`. Replayed messages count their attempts from 0 again; past attempts stay recorded."),
        Op(method: "get", path: "/admin/v1/webhook-messages/{id}", operationID: "adminGetWebhookMessage",
           summary: "A message with every attempt (time, status, latency, the first 1 KiB of the answer, error).", tag: tag,
           security: .adminKey, responses: [(200, Op.json("The message and its attempts.", ref("WebhookMessageDetail")))],
           errors: unknownMessage),
        Op(method: "post", path: "/admin/v1/webhook-messages/{id}/replay", operationID: "adminReplayWebhookMessage",
           summary: "Send one message again now.", tag: tag, security: .adminKey,
           responses: [(200, Op.json("The message, due now.", ref("WebhookMessage")))], errors: unknownMessage),
    ]

    static let endpointProperties: [(String, OpenAPIJSON)] = [
        ("id", OpenAPISchemas.string(pattern: "^ep_")),
        ("url", OpenAPISchemas.string()),
        ("description", OpenAPISchemas.string()),
        ("eventTypes", OpenAPISchemas.array(eventType)),
        ("enabled", OpenAPISchemas.boolean),
        ("ordered", OpenAPISchemas.boolean),
        ("createdAt", OpenAPISchemas.timestamp),
        ("updatedAt", OpenAPISchemas.timestamp),
        ("disabledAt", OpenAPISchemas.timestamp),
        ("disabledReason", OpenAPISchemas.string("Why: by an operator, `410 Gone`, or failing for `webhooks.disableAfter`.")),
        ("failingSince", OpenAPISchemas.timestamp),
        ("previousSecretExpiresAt", OpenAPISchemas.timestamp),
    ]

    static let schemas: [(String, OpenAPIJSON)] = [
        ("WebhookCreate", OpenAPISchemas.input(["url"], [
            ("url", OpenAPISchemas.string("Where events are POSTed.", minLength: 1, maxLength: 2048)),
            ("description", OpenAPISchemas.string(maxLength: 500, pattern: OpenAPISchemas.noControlCharacters)),
            ("eventTypes", OpenAPISchemas.array(eventType, maxItems: DomainEventTypes.all.count)
                .merging(["description": "The types it receives; empty or absent: every type."])),
            ("enabled", OpenAPISchemas.boolean.merging(["default": true])),
            ("ordered", OpenAPISchemas.boolean.merging([
                "default": false, "description": "FIFO per aggregate: a later event about the same order waits until the earlier one is delivered or dead.",
            ])),
        ])),
        ("WebhookPatch", OpenAPISchemas.input([], [
            ("url", OpenAPISchemas.string(minLength: 1, maxLength: 2048)),
            ("description", OpenAPISchemas.string(maxLength: 500, pattern: OpenAPISchemas.noControlCharacters)),
            ("eventTypes", OpenAPISchemas.array(eventType, maxItems: DomainEventTypes.all.count)),
            ("enabled", OpenAPISchemas.boolean),
            ("ordered", OpenAPISchemas.boolean),
        ])),
        ("WebhookEndpoint", OpenAPISchemas.object(
            ["id", "url", "description", "eventTypes", "enabled", "ordered", "createdAt", "updatedAt"], endpointProperties)),
        ("WebhookWithSecret", OpenAPISchemas.object(["endpoint", "secret"], [
            ("endpoint", ref("WebhookEndpoint")),
            ("secret", OpenAPISchemas.string("`whsec_` + base64 of 32 random bytes. Shown only here.", pattern: "^whsec_[A-Za-z0-9+/]+=*$")),
        ])),
        ("WebhookEndpointList", OpenAPISchemas.object(["items"], [("items", OpenAPISchemas.array(ref("WebhookEndpoint")))])),
        ("WebhookMessage", OpenAPISchemas.object(
            ["id", "endpointId", "eventId", "eventType", "eventPosition", "eventOccurredAt", "aggregateId", "status", "attempts", "createdAt"], [
                ("id", OpenAPISchemas.string(pattern: "^msg_")),
                ("endpointId", OpenAPISchemas.string(pattern: "^ep_")),
                ("eventId", OpenAPISchemas.string("The event's id: the `webhook-id` of every attempt.", pattern: "^evt_")),
                ("eventType", OpenAPISchemas.string()),
                ("eventPosition", OpenAPISchemas.integer(minimum: 1)),
                ("eventOccurredAt", OpenAPISchemas.timestamp),
                ("aggregateId", OpenAPISchemas.string()),
                ("status", status),
                ("attempts", OpenAPISchemas.integer("Attempts since it was created or last replayed.", minimum: 0)),
                ("nextAttemptAt", OpenAPISchemas.timestamp),
                ("lastStatusCode", OpenAPISchemas.integer(minimum: 100, maximum: 599)),
                ("lastError", OpenAPISchemas.string()),
                ("createdAt", OpenAPISchemas.timestamp),
                ("deliveredAt", OpenAPISchemas.timestamp),
            ])),
        ("WebhookMessagePage", OpenAPISchemas.object(["items"], [
            ("items", OpenAPISchemas.array(ref("WebhookMessage"))),
            ("nextCursor", OpenAPISchemas.string("Pass as `before` for the next page; absent on the last page.")),
        ])),
        ("WebhookAttempt", OpenAPISchemas.object(["number", "attemptedAt", "latencyMs"], [
            ("number", OpenAPISchemas.integer(minimum: 1)),
            ("attemptedAt", OpenAPISchemas.timestamp),
            ("statusCode", OpenAPISchemas.integer("Absent when no answer came.", minimum: 100, maximum: 599)),
            ("latencyMs", OpenAPISchemas.integer(minimum: 0)),
            ("responseBody", OpenAPISchemas.string("The first 1 KiB of the answer.")),
            ("error", OpenAPISchemas.string()),
        ])),
        ("WebhookMessageDetail", OpenAPISchemas.object(["message", "attempts"], [
            ("message", ref("WebhookMessage")),
            ("attempts", OpenAPISchemas.array(ref("WebhookAttempt"))),
        ])),
        ("WebhookReplay", OpenAPISchemas.input([], [
            ("status", OpenAPISchemas.array(status, minItems: 1)),
            ("from", OpenAPISchemas.string(format: "date-time")),
            ("to", OpenAPISchemas.string(format: "date-time")),
        ])),
        ("WebhookReplayResult", OpenAPISchemas.object(["replayed"], [("replayed", OpenAPISchemas.integer(minimum: 0))])),
    ]
}

import SwiftletCore
import SwiftletTransport

/// The request and response bodies of the API as JSON Schemas (`components.schemas`).
///
/// Limits are the server's own (`Validation`, `CommerceValidation`). The server counts
/// text in user-perceived characters and UTF-8 bytes (4 a character), which JSON Schema
/// cannot; `maxLength` counts code points, so text within it always fits both. A value
/// inside the schema can still be refused when it is blank after trimming or holds a
/// format character; those answers are the documented 400s. Optional fields are left
/// out of an answer, never `null`.
enum OpenAPISchemas {
    static func ref(_ name: String) -> OpenAPIJSON {
        ["$ref": .string("#/components/schemas/\(name)")]
    }

    static let timestamp: OpenAPIJSON = ["type": "string", "format": "date-time", "description": "UTC, RFC 3339 with milliseconds."]
    static let fen: OpenAPIJSON = ["type": "integer", "minimum": 0, "description": "Integer fen (1/100 yuan)."]
    static let identifier: OpenAPIJSON = ["type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"]

    static func string(_ description: String? = nil, minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil,
                       nullable: Bool = false, format: String? = nil) -> OpenAPIJSON {
        var members: [OpenAPIJSON.Member] = [.init(key: "type", value: nullable ? ["string", "null"] : "string")]
        if let minLength { members.append(.init(key: "minLength", value: .integer(minLength))) }
        if let maxLength { members.append(.init(key: "maxLength", value: .integer(maxLength))) }
        if let pattern { members.append(.init(key: "pattern", value: .string(pattern))) }
        if let format { members.append(.init(key: "format", value: .string(format))) }
        if let description { members.append(.init(key: "description", value: .string(description))) }
        return .object(members)
    }

    static func integer(_ description: String? = nil, minimum: Int? = nil, maximum: Int? = nil, nullable: Bool = false) -> OpenAPIJSON {
        var members: [OpenAPIJSON.Member] = [.init(key: "type", value: nullable ? ["integer", "null"] : "integer")]
        if let minimum { members.append(.init(key: "minimum", value: .integer(minimum))) }
        if let maximum { members.append(.init(key: "maximum", value: .integer(maximum))) }
        if let description { members.append(.init(key: "description", value: .string(description))) }
        return .object(members)
    }

    static let boolean: OpenAPIJSON = ["type": "boolean"]
    static let nullableBoolean: OpenAPIJSON = ["type": ["boolean", "null"]]

    /// An answer's object: exactly these properties, `required` among them.
    static func object(_ required: [String], _ properties: [(String, OpenAPIJSON)], description: String? = nil) -> OpenAPIJSON {
        var members: [OpenAPIJSON.Member] = [
            .init(key: "type", value: "object"),
            .init(key: "required", value: .array(required.map(OpenAPIJSON.string))),
            .init(key: "additionalProperties", value: false),
            .init(key: "properties", value: .object(properties.map { .init(key: $0.0, value: $0.1) })),
        ]
        if let description { members.append(.init(key: "description", value: .string(description))) }
        return .object(members)
    }

    /// A request body's object: these properties, `required` among them; the server
    /// ignores any other field (so older servers accept newer clients).
    static func input(_ required: [String], _ properties: [(String, OpenAPIJSON)], description: String? = nil) -> OpenAPIJSON {
        var members: [OpenAPIJSON.Member] = [
            .init(key: "type", value: "object"),
            .init(key: "required", value: .array(required.map(OpenAPIJSON.string))),
            .init(key: "properties", value: .object(properties.map { .init(key: $0.0, value: $0.1) })),
        ]
        if let description { members.append(.init(key: "description", value: .string(description))) }
        return .object(members)
    }

    static func array(_ items: OpenAPIJSON, minItems: Int? = nil, maxItems: Int? = nil) -> OpenAPIJSON {
        var members: [OpenAPIJSON.Member] = [.init(key: "type", value: "array"), .init(key: "items", value: items)]
        if let minItems { members.append(.init(key: "minItems", value: .integer(minItems))) }
        if let maxItems { members.append(.init(key: "maxItems", value: .integer(maxItems))) }
        return .object(members)
    }

    static func page(of item: String) -> OpenAPIJSON {
        object(["items"], [
            ("items", array(ref(item))),
            ("nextCursor", string("Pass as `cursor` for the next page; absent on the last page.")),
        ])
    }

    static let titleMax = 120
    static let printable = "printable characters (no control or format characters but the zero-width joiner), trimmed; the server counts user-perceived characters and also allows at most 4 bytes of UTF-8 per character, so text within `maxLength` code points always fits"
    /// No C0 or C1 control characters (the server also refuses format characters).
    static let noControlCharacters = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    /// Control characters other than line breaks and tabs refused.
    static let textWithLineBreaks = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    /// An http(s) URL with a host (the server trims surrounding whitespace first).
    static let httpURL = "^\\s*[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+"
    /// The same, or empty (meaning no image).
    static let httpURLOrEmpty = "^$|^\\s*[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+"

    static var all: OpenAPIJSON {
        .object(definitions.map { .init(key: $0.0, value: $0.1) })
    }

    static let definitions: [(String, OpenAPIJSON)] = identity + commerce + OpenAPIRealtimePaths.schemas + OpenAPIRoomPaths.schemas + OpenAPIWebhookPaths.schemas + OpenAPISigningPaths.schemas + OpenAPISubscriptionPaths.schemas + operational

    // MARK: Identity

    static let identity: [(String, OpenAPIJSON)] = [
        ("User", object(["id", "openid", "createdAt", "updatedAt"], [
            ("id", string()),
            ("openid", string("The user's openid for this mini-program.")),
            ("unionid", string()),
            ("nickname", string()),
            ("avatarUrl", string()),
            ("phone", string("Bound with `POST /api/v1/me/phone`.")),
            ("createdAt", timestamp),
            ("updatedAt", timestamp),
        ])),
        ("Tokens", object(["accessToken", "refreshToken", "expiresIn", "tokenType"], [
            ("accessToken", string("A JWT; send as `Authorization: Bearer …`.", minLength: 1)),
            ("refreshToken", string("Single use: trade it for a new pair at `POST /api/v1/auth/refresh`.", pattern: "^rt_")),
            ("expiresIn", integer("Seconds until the access token expires.", minimum: 1)),
            ("tokenType", ["type": "string", "const": "Bearer"]),
        ])),
        ("LoginResult", object(["accessToken", "refreshToken", "expiresIn", "tokenType", "user"], [
            ("accessToken", string(minLength: 1)),
            ("refreshToken", string(pattern: "^rt_")),
            ("expiresIn", integer(minimum: 1)),
            ("tokenType", ["type": "string", "const": "Bearer"]),
            ("user", ref("User")),
        ])),
        ("Session", object(["id", "createdAt", "lastUsedAt", "expiresAt", "current"], [
            ("id", string()),
            ("device", string("The label sent at login.")),
            ("createdAt", timestamp),
            ("lastUsedAt", timestamp),
            ("expiresAt", timestamp),
            ("current", ["type": "boolean", "description": "Whether this is the session of the token making the call."]),
        ])),
        ("SessionList", object(["sessions"], [("sessions", array(ref("Session")))])),
        ("AdminKey", object(["id", "name", "createdAt", "revoked"], [
            ("id", string()),
            ("name", string()),
            ("createdAt", timestamp),
            ("lastUsedAt", timestamp),
            ("revoked", boolean),
        ])),
        ("AdminKeyList", object(["keys"], [("keys", array(ref("AdminKey")))])),
        ("LoginRequest", input(["code"], [
            ("code", string("The code from `wx.login()`: 1–256 bytes without whitespace.", minLength: 1, maxLength: 256, pattern: "^\\S+$")),
            ("device", string("A label for this device's session: at most 128 \(printable); blank means none.", maxLength: 128, pattern: noControlCharacters, nullable: true)),
        ])),
        ("RefreshRequest", input(["refreshToken"], [
            ("refreshToken", string(maxLength: 128, pattern: "^rt_")),
        ])),
        ("PhoneRequest", input(["code"], [
            ("code", string("The code from a `getPhoneNumber` button: 1–256 bytes without whitespace.", minLength: 1, maxLength: 256, pattern: "^\\S+$")),
        ])),
        ("ProfilePatch", input([], [
            ("nickname", string("1–64 \(printable).", minLength: 1, maxLength: 64, pattern: noControlCharacters, nullable: true)),
            ("avatarUrl", string("An http(s) URL of at most 1024 bytes.", maxLength: 1024, pattern: httpURL, nullable: true)),
        ], description: "Send at least one of the fields.").merging([
            "anyOf": [
                ["required": ["nickname"], "properties": ["nickname": ["type": "string"]]],
                ["required": ["avatarUrl"], "properties": ["avatarUrl": ["type": "string"]]],
            ],
        ])),
    ]

    // MARK: Commerce

    static let skuDraftProperties: [(String, OpenAPIJSON)] = [
        ("title", string("1–\(titleMax) \(printable).", minLength: 1, maxLength: titleMax, pattern: noControlCharacters)),
        ("priceFen", integer("Integer fen.", minimum: 1, maximum: CommerceValidation.maxAmountFen)),
        ("stock", integer(minimum: 0, maximum: CommerceValidation.maxStock)),
        ("flashSale", ["type": ["boolean", "null"], "description": "Sell this SKU in a flash sale: one unit per order, one live order per buyer. Default false."]),
    ]

    static let commerce: [(String, OpenAPIJSON)] = [
        ("SKU", object(["id", "title", "priceFen", "stock"], [
            ("id", string()),
            ("title", string()),
            ("priceFen", fen),
            ("stock", integer(minimum: 0)),
            ("flashSale", ["type": "boolean", "description": "Present (true) only on a flash-sale SKU."]),
        ])),
        ("Product", object(["id", "title", "description", "onShelf", "skus", "createdAt", "updatedAt"], [
            ("id", string()),
            ("title", string()),
            ("description", string()),
            ("imageUrl", string()),
            ("onShelf", boolean),
            ("priceFen", integer("Lowest SKU price, for list views; absent without SKUs.", minimum: 0)),
            ("skus", array(ref("SKU"))),
            ("createdAt", timestamp),
            ("updatedAt", timestamp),
        ])),
        ("ProductPage", page(of: "Product")),
        ("OrderItem", object(["skuId", "productId", "title", "unitPriceFen", "quantity", "subtotalFen"], [
            ("skuId", string()),
            ("productId", string()),
            ("title", string()),
            ("unitPriceFen", fen),
            ("quantity", integer(minimum: 1)),
            ("subtotalFen", fen),
        ])),
        ("Order", object(["id", "outTradeNo", "status", "items", "totalFen", "refundedFen", "expiresAt", "createdAt", "updatedAt"], [
            ("id", string()),
            ("outTradeNo", string("The merchant order number WeChat Pay knows the order by.")),
            ("status", ["type": "string", "enum": .array(OrderStatus.allCases.map { .string($0.rawValue) })]),
            ("items", array(ref("OrderItem"))),
            ("totalFen", fen),
            ("refundedFen", fen),
            ("expiresAt", timestamp),
            ("paidAt", timestamp),
            ("cancelledAt", timestamp),
            ("cancelReason", ["type": "string", "enum": .array(CancelReason.allCases.map { .string($0.rawValue) })]),
            ("shippedAt", timestamp),
            ("trackingNumber", string()),
            ("completedAt", timestamp),
            ("createdAt", timestamp),
            ("updatedAt", timestamp),
            ("userId", string("Admin views only.")),
            ("transactionId", string("WeChat Pay's transaction id; admin views only.")),
        ])),
        ("OrderPage", page(of: "Order")),
        ("Refund", object(["id", "orderId", "amountFen", "status", "createdAt", "updatedAt"], [
            ("id", string("Also WeChat Pay's `out_refund_no`.")),
            ("orderId", string()),
            ("amountFen", fen),
            ("reason", string()),
            ("status", ["type": "string", "enum": .array(RefundStatus.allCases.map { .string($0.rawValue) })]),
            ("createdAt", timestamp),
            ("updatedAt", timestamp),
        ])),
        ("LedgerEntry", object(["kind", "outcome", "createdAt"], [
            ("kind", ["type": "string", "enum": .array(PaymentLedgerEntry.Kind.allCases.map { .string($0.rawValue) })]),
            ("reference", string()),
            ("gatewayState", string()),
            ("amountFen", integer()),
            ("outcome", string()),
            ("createdAt", timestamp),
        ])),
        ("AdminOrderDetail", object(["order", "refunds", "ledger"], [
            ("order", ref("Order")),
            ("refunds", array(ref("Refund"))),
            ("ledger", array(ref("LedgerEntry"))),
        ])),
        ("RefundResult", object(["order", "refund"], [("order", ref("Order")), ("refund", ref("Refund"))])),
        ("PaymentParameters", object(["timeStamp", "nonceStr", "package", "signType", "paySign"], [
            ("timeStamp", string()),
            ("nonceStr", string()),
            ("package", string()),
            ("signType", string()),
            ("paySign", string()),
        ], description: "Pass to `wx.requestPayment` as they are.")),
        ("Payment", object(["order", "payment"], [("order", ref("Order")), ("payment", ref("PaymentParameters"))])),
        ("ProductCreateRequest", input(["title", "skus"], [
            ("title", string("1–\(titleMax) \(printable).", minLength: 1, maxLength: titleMax, pattern: noControlCharacters)),
            ("description", string("At most 4000 characters; no control characters but line breaks and tabs.", maxLength: 4000, pattern: textWithLineBreaks, nullable: true)),
            ("imageUrl", string("An http(s) URL of at most 1024 bytes; empty means none.", maxLength: 1024, pattern: httpURLOrEmpty, nullable: true)),
            ("onShelf", ["type": ["boolean", "null"], "description": "Default true."]),
            ("skus", array(ref("SKUDraft"), minItems: 1, maxItems: 100)),
        ])),
        ("SKUDraft", input(["title", "priceFen", "stock"], skuDraftProperties)),
        ("ProductPatch", input([], [
            ("title", string("1–\(titleMax) \(printable).", minLength: 1, maxLength: titleMax, pattern: noControlCharacters, nullable: true)),
            ("description", string(maxLength: 4000, pattern: textWithLineBreaks, nullable: true)),
            ("imageUrl", string("An http(s) URL; empty removes the image.", maxLength: 1024, pattern: httpURLOrEmpty, nullable: true)),
            ("onShelf", nullableBoolean),
        ], description: "Only the fields sent change.")),
        ("SKUPatch", input([], [
            ("title", string("1–\(titleMax) \(printable).", minLength: 1, maxLength: titleMax, pattern: noControlCharacters, nullable: true)),
            ("priceFen", integer(minimum: 1, maximum: CommerceValidation.maxAmountFen, nullable: true)),
            ("stock", integer(minimum: 0, maximum: CommerceValidation.maxStock, nullable: true)),
            ("flashSale", nullableBoolean),
        ], description: "Only the fields sent change.")),
        ("StockAdjustment", input(["delta"], [
            ("delta", ["type": "integer", "minimum": .integer(-CommerceValidation.maxStock), "maximum": .integer(CommerceValidation.maxStock),
                       "not": ["const": 0], "description": "Units to add (positive) or take away (negative); stock never goes below 0."]),
        ])),
        ("OrderCreateRequest", input(["items"], [
            ("items", array(ref("OrderLine"), minItems: 1, maxItems: 50)),
        ], description: "Each SKU at most once.")),
        ("OrderLine", input(["skuId", "quantity"], [
            ("skuId", identifier),
            ("quantity", integer("At most `commerce.maxQuantityPerItem` (default 99).", minimum: 1)),
        ])),
        ("ShipRequest", input([], [
            ("trackingNumber", string("1–64 \(printable).", minLength: 1, maxLength: 64, pattern: noControlCharacters, nullable: true)),
        ])),
        ("RefundRequest", input([], [
            ("amountFen", integer("Omitted: everything still refundable.", minimum: 1, nullable: true)),
            ("reason", string("At most 80 characters, no control or format characters, no emoji or other characters beyond U+FFFF (WeChat Pay refuses them).", maxLength: 80, pattern: noControlCharacters, nullable: true)),
        ])),
    ]

    // MARK: Operational

    static let operational: [(String, OpenAPIJSON)] = [
        ("Live", object(["status"], [("status", ["type": "string", "const": "ok"])])),
        ("Ready", object(["status", "checks"], [
            ("status", ["type": "string", "const": "ok"]),
            ("checks", object(["database"], [("database", ["type": "string", "enum": ["sqlite", "postgres"]])])),
        ])),
        ("JWKS", object(["keys"], [
            ("keys", array(object(["kty", "crv", "use", "alg", "kid", "x", "y"], [
                ("kty", ["type": "string", "const": "EC"]),
                ("crv", ["type": "string", "const": "P-256"]),
                ("use", ["type": "string", "const": "sig"]),
                ("alg", ["type": "string", "const": "ES256"]),
                ("kid", string()),
                ("x", string()),
                ("y", string()),
            ]))),
        ], description: "ES256 verification keys; empty when tokens are signed with HS256 (its secret is never published).")),
        ("OpenAPIDocument", ["type": "object", "required": ["openapi", "info", "paths"]]),
        ("NotifyFailure", object(["code", "message"], [
            ("code", ["type": "string", "const": "FAIL"]),
            ("message", string()),
        ], description: "WeChat Pay's own failure shape, which its notification retries expect.")),
        ("WeChatPayNotification", [
            "type": "object",
            "description": "WeChat Pay's notification envelope; `resource` is AES-256-GCM encrypted with the APIv3 key.",
            "properties": [
                "id": ["type": "string"],
                "create_time": ["type": "string"],
                "event_type": ["type": "string"],
                "resource_type": ["type": "string"],
                "summary": ["type": "string"],
                "resource": [
                    "type": "object",
                    "properties": [
                        "algorithm": ["type": "string"],
                        "ciphertext": ["type": "string"],
                        "associated_data": ["type": "string"],
                        "original_type": ["type": "string"],
                        "nonce": ["type": "string"],
                    ],
                ],
            ],
        ]),
    ]
}

import SwiftletCore

/// Operations and schemas of WeChat subscribe messages for the mini-program (`SubscriptionRoutes`).
enum OpenAPISubscriptionPaths {
    typealias Op = OpenAPIOperation
    static let ref = OpenAPISchemas.ref
    static let tag = "subscribe messages"

    static let operations: [OpenAPIOperation] = [
        Op(method: "post", path: "/api/v1/me/subscriptions", operationID: "reportSubscriptions",
           summary: "Report what the user accepted in wx.requestSubscribeMessage.", tag: tag, security: .bearer,
           body: ref("SubscribeMessageResult"),
           responses: [(200, Op.json("The user's subscriptions left for the configured templates named.", ref("SubscriptionList")))],
           errors: [400: ["subscriptions.invalid_result", "subscriptions.invalid_template_id", "subscriptions.invalid_answer"]],
           notes: "Send the success result of `wx.requestSubscribeMessage` as it is: template ids with `accept`, `reject`, `ban` or `filter`, and `errMsg`. Each `accept` of a template the server is configured with allows one more subscribe message with it (WeChat's one-time subscriptions); other templates are ignored."),
        Op(method: "get", path: "/api/v1/me/subscriptions", operationID: "listSubscriptions",
           summary: "The user's subscriptions left, per configured template.", tag: tag, security: .bearer,
           responses: [(200, Op.json("Templates with something left.", ref("SubscriptionList")))]),
    ]

    static let schemas: [(String, OpenAPIJSON)] = [
        ("SubscribeMessageResult", [
            "type": "object", "minProperties": 1, "maxProperties": 21,
            "additionalProperties": ["type": "string", "enum": ["accept", "reject", "ban", "filter"]],
            "properties": ["errMsg": ["type": "string"]],
            "propertyNames": ["pattern": "^(errMsg|[A-Za-z0-9_-]{1,128})$"],
            "description": "The `wx.requestSubscribeMessage` success result: `{\"<templateId>\":\"accept\", …, \"errMsg\":\"requestSubscribeMessage:ok\"}`.",
        ]),
        ("Subscription", OpenAPISchemas.object(["templateId", "remaining"], [
            ("templateId", OpenAPISchemas.string()),
            ("remaining", OpenAPISchemas.integer("Subscribe messages that may still be sent with it.", minimum: 0)),
        ])),
        ("SubscriptionList", OpenAPISchemas.object(["subscriptions"], [("subscriptions", OpenAPISchemas.array(ref("Subscription")))])),
    ]
}

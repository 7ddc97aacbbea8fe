/// Operations of health, key publication, identity and operator keys
/// (`HealthRoutes`, `JWKSRoute`, `OpenAPIRoute`, `IdentityRoutes`, `AdminRoutes`).
enum OpenAPIIdentityPaths {
    typealias Op = OpenAPIOperation
    static let ref = OpenAPISchemas.ref

    static let operations: [OpenAPIOperation] = [
        Op(method: "get", path: "/health/live", operationID: "healthLive", summary: "Liveness: the process serves HTTP.",
           tag: "operations", usesStorage: false, responses: [(200, Op.json("Alive.", ref("Live")))]),
        Op(method: "get", path: "/health/ready", operationID: "healthReady",
           summary: "Readiness: the database answers too.", tag: "operations", usesStorage: false,
           responses: [(200, Op.json("Ready.", ref("Ready")))], errors: [503: ["health.database_unavailable"]]),
        Op(method: "get", path: "/.well-known/jwks.json", operationID: "jwks", summary: "Access-token verification keys.",
           tag: "operations", usesStorage: false, responses: [(200, Op.json("The key set.", ref("JWKS")))]),
        Op(method: "get", path: "/openapi.json", operationID: "openAPIDocument", summary: "This document.",
           tag: "operations", usesStorage: false, responses: [(200, Op.json("OpenAPI 3.1.", ref("OpenAPIDocument")))]),

        Op(method: "post", path: "/api/v1/auth/wechat/login", operationID: "login",
           summary: "Log in with a `wx.login()` code; starts a device session.", tag: "identity",
           body: ref("LoginRequest"),
           responses: [(200, Op.json("Tokens and the user.", ref("LoginResult")))],
           errors: [400: ["auth.invalid_code", "auth.code_used", "auth.invalid_device"], 403: ["auth.high_risk_user"],
                    429: ["wechat.rate_limited"], 503: ErrorCodes.wechatUnavailable]),
        Op(method: "post", path: "/api/v1/auth/refresh", operationID: "refresh",
           summary: "Trade a refresh token for a new pair (the old one stops working).", tag: "identity",
           body: ref("RefreshRequest"),
           responses: [(200, Op.json("A new token pair.", ref("Tokens")))],
           errors: [401: ["auth.refresh_invalid", "auth.refresh_expired", "auth.refresh_reused", "auth.session_revoked"]],
           notes: "Presenting a refresh token again after it was traded revokes its whole session (`auth.refresh_reused`)."),
        Op(method: "post", path: "/api/v1/auth/logout", operationID: "logout",
           summary: "End this session: its refresh token and every access token it issued stop working.", tag: "identity",
           security: .bearer, responses: [(204, Op.empty("Logged out."))], errors: [404: ["auth.session_not_found"]]),
        Op(method: "get", path: "/api/v1/auth/sessions", operationID: "listSessions", summary: "The caller's active device sessions.",
           tag: "identity", security: .bearer, responses: [(200, Op.json("Sessions.", ref("SessionList")))]),
        Op(method: "delete", path: "/api/v1/auth/sessions/{id}", operationID: "revokeSession",
           summary: "End one of the caller's sessions.", tag: "identity", security: .bearer,
           responses: [(204, Op.empty("Revoked."))], errors: [404: ["auth.session_not_found"]]),
        Op(method: "get", path: "/api/v1/me", operationID: "me", summary: "The caller's profile.", tag: "identity",
           security: .bearer, responses: [(200, Op.json("The user.", ref("User")))], errors: [404: ["user.not_found"]]),
        Op(method: "patch", path: "/api/v1/me", operationID: "updateMe", summary: "Change nickname or avatar.", tag: "identity",
           security: .bearer, body: ref("ProfilePatch"),
           responses: [(200, Op.json("The updated user.", ref("User")))],
           errors: [400: ["profile.empty_update", "profile.invalid_nickname", "profile.invalid_avatar_url"], 404: ["user.not_found"]]),
        Op(method: "post", path: "/api/v1/me/phone", operationID: "bindPhone",
           summary: "Bind the phone number of a `getPhoneNumber` code.", tag: "identity", security: .bearer,
           body: ref("PhoneRequest"),
           responses: [(200, Op.json("The updated user.", ref("User")))],
           errors: [400: ["profile.invalid_phone_code", "profile.phone_code_used"], 403: ["auth.high_risk_user"],
                    404: ["user.not_found"], 429: ["wechat.rate_limited"], 503: ErrorCodes.wechatUnavailable]),

        Op(method: "get", path: "/admin/v1/keys", operationID: "adminListKeys", summary: "Admin keys (names, never the keys).",
           tag: "admin", security: .adminKey, responses: [(200, Op.json("Keys.", ref("AdminKeyList")))]),
        Op(method: "get", path: "/admin/v1/users/{id}", operationID: "adminUser", summary: "One user.", tag: "admin",
           security: .adminKey, responses: [(200, Op.json("The user.", ref("User")))], errors: [404: ["user.not_found"]]),
    ]
}

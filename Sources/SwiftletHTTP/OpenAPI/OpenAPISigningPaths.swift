import SwiftletCore

/// Operations and schemas of request-signing keys for operators (`SigningKeyRoutes`).
enum OpenAPISigningPaths {
    typealias Op = OpenAPIOperation
    static let ref = OpenAPISchemas.ref
    static let tag = "admin signing keys"
    static let unknown: [Int: [String]] = [404: ["signing.key_not_found"]]

    static let operations: [OpenAPIOperation] = [
        Op(method: "post", path: "/admin/v1/signing-keys", operationID: "adminCreateSigningKey",
           summary: "Create a key client apps sign requests with; the answer shows its secret, once.", tag: tag,
           security: .adminKey, body: ref("SigningKeyCreate"),
           responses: [(201, Op.json("Created.", ref("IssuedSigningKey"), headers: [("Location", [
               "description": "The key's URL.", "required": true, "schema": ["type": "string", "pattern": "^/admin/v1/signing-keys/ck_"],
           ])]))],
           errors: [400: ["signing.invalid_name"], 409: ["signing.key_exists"]]),
        Op(method: "get", path: "/admin/v1/signing-keys", operationID: "adminListSigningKeys",
           summary: "Every signing key, active and revoked (never a secret).", tag: tag, security: .adminKey,
           responses: [(200, Op.json("The keys, oldest first.", ref("SigningKeyList")))]),
        Op(method: "post", path: "/admin/v1/signing-keys/{id}/rotate", operationID: "adminRotateSigningKey",
           summary: "A new secret, shown once; the old one keeps verifying for `signing.secretOverlap`.", tag: tag,
           security: .adminKey, responses: [(200, Op.json("The key and its new secret.", ref("IssuedSigningKey")))],
           errors: unknown),
        Op(method: "delete", path: "/admin/v1/signing-keys/{id}", operationID: "adminRevokeSigningKey",
           summary: "Revoke a key: its signatures stop verifying (within 5 s on other nodes).", tag: tag,
           security: .adminKey, responses: [(204, Op.empty("Revoked."))], errors: unknown),
    ]

    static let schemas: [(String, OpenAPIJSON)] = [
        ("SigningKeyCreate", OpenAPISchemas.input(["name"], [
            ("name", OpenAPISchemas.string("Which client app holds it; unique among active keys.", minLength: 1, maxLength: 64,
                                           pattern: OpenAPISchemas.noControlCharacters)),
        ])),
        ("SigningKey", OpenAPISchemas.object(["id", "name", "createdAt"], [
            ("id", OpenAPISchemas.string("What clients send in `X-Swiftlet-Key`.", pattern: "^ck_")),
            ("name", OpenAPISchemas.string()),
            ("createdAt", OpenAPISchemas.timestamp),
            ("rotatedAt", OpenAPISchemas.timestamp),
            ("previousSecretValidUntil", OpenAPISchemas.timestamp),
            ("revokedAt", OpenAPISchemas.timestamp),
        ])),
        ("IssuedSigningKey", OpenAPISchemas.object(["key", "secret"], [
            ("key", ref("SigningKey")),
            ("secret", OpenAPISchemas.string("`cks_` + base32 of 32 random bytes. Shown only here.", pattern: "^cks_[0-9a-z]+$")),
        ])),
        ("SigningKeyList", OpenAPISchemas.object(["items"], [("items", OpenAPISchemas.array(ref("SigningKey")))])),
    ]
}

/// The OpenAPI 3.1 description of every public route: what each takes, what it answers,
/// and every error code it can give.
///
/// Declared next to the routes it describes and checked against the router by a test
/// (a route missing here, or an operation here without a route, fails it); the live
/// server is fuzzed against it (`scripts/schemathesis.sh`). The WeChat sandboxes
/// (`/sandbox/…`) and the benchmark endpoints are development tools and left out.
public enum OpenAPIDocument {
    static let operations: [OpenAPIOperation] = OpenAPIIdentityPaths.operations + OpenAPICommercePaths.operations + OpenAPIRealtimePaths.operations
        + OpenAPIRoomPaths.operations
        + OpenAPIWebhookPaths.operations
        + OpenAPISigningPaths.operations
        + OpenAPISubscriptionPaths.operations

    /// Every documented operation as (method, path), e.g. `("GET", "/api/v1/me")`.
    public static var routes: [(method: String, path: String)] {
        operations.map { ($0.method.uppercased(), $0.path) }
    }

    /// The document as compact JSON, rendered once.
    public static let json: String = document.rendered()

    static var document: OpenAPIJSON {
        var paths: [OpenAPIJSON.Member] = []
        for operation in operations {
            let entry = OpenAPIJSON.object([.init(key: operation.method, value: operation.rendered())])
            if let index = paths.firstIndex(where: { $0.key == operation.path }) {
                paths[index] = .init(key: operation.path, value: paths[index].value.merging(entry))
            } else {
                paths.append(.init(key: operation.path, value: entry))
            }
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Swiftlet API",
                "version": "1",
                "description": "Backend for WeChat mini-programs. Money is integer fen; times are UTC RFC 3339. Every failure answers `{\"error\":{\"code\",\"message\",\"requestId\"}}`; `code` is stable and each operation lists the codes it can give (`x-error-codes` and the `enum` of each error answer). A database that is busy or unreachable answers 503 `storage.unavailable` with `Retry-After`. Any path also answers 404 `route.not_found` when no route matches it (or, with `proxy.legacyUpstream` set, is forwarded to that backend, whose failures are 502 `proxy.upstream_unavailable` / `proxy.upstream_response_too_large` and 504 `proxy.upstream_timeout`), 405 `route.method_not_allowed` (with `Allow`) when the path exists for other methods, and 413 `request.body_too_large` (with `Connection: close`) for a body over `http.maxBodySize`. Routes configured in `signing.routes` also answer 401 `signature.missing`, `signature.invalid`, `signature.expired`, `signature.replayed` or `signature.unknown_key` (and 503 `signature.unavailable`) to a request whose signature does not verify (docs/security.md, \"Signed requests\"). With mTLS required for operator routes, `/admin/v1` answers 403 `admin.client_certificate_required` to a connection without a verified client certificate.",
            ],
            "paths": .object(paths),
            "components": [
                "schemas": OpenAPISchemas.all,
                "securitySchemes": [
                    "bearerAuth": [
                        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                        "description": "The access token from `POST /api/v1/auth/wechat/login` or `/api/v1/auth/refresh`.",
                    ],
                    "adminKey": [
                        "type": "http", "scheme": "bearer",
                        "description": "An admin key (`swk_…`) created with `swiftlet admin create-key`; user access tokens are never accepted here.",
                    ],
                ],
            ],
        ]
    }
}

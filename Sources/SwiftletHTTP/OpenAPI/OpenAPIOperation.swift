/// One operation of the OpenAPI document: what a route takes and every answer it can give.
///
/// Error answers are declared as status → codes; each renders as the one error body
/// `{"error":{"code","message","requestId"}}` with `code` restricted to exactly those
/// codes, so a client (or a fuzzer) can tell an undocumented failure from a documented
/// one. The failures every operation of a kind shares (a missing token, an unreadable
/// JSON body, a database that does not answer) are added here, not at each route.
struct OpenAPIOperation {
    enum Security {
        case none
        /// A user's access token (JWT) from login or refresh.
        case bearer
        /// An operator's admin key (`swk_…`).
        case adminKey
    }

    let method: String
    let path: String
    let operationID: String
    let summary: String
    let tag: String
    var security: Security = .none
    var parameters: [OpenAPIJSON] = []
    /// The JSON request body's schema, if the operation takes one.
    var body: OpenAPIJSON? = nil
    /// Whether the body may be left out entirely.
    var bodyOptional = false
    /// Whether the body is read as raw bytes rather than decoded as JSON (so only the
    /// size limit applies, not the JSON decoding failures).
    var rawBody = false
    /// Whether it reads the database (and so can answer 503 `storage.unavailable`).
    var usesStorage = true
    /// Success answers (status → response object).
    var responses: [(status: Int, response: OpenAPIJSON)]
    /// Failure answers beyond the shared ones (status → codes).
    var errors: [Int: [String]] = [:]
    /// Extra description text.
    var notes: String? = nil

    /// Every failure status and its codes, shared ones included.
    var allErrors: [Int: [String]] {
        var all = errors
        func add(_ status: Int, _ codes: [String]) { all[status, default: []].append(contentsOf: codes) }
        switch security {
        case .none: break
        case .bearer: add(401, ErrorCodes.bearer)
        case .adminKey:
            add(401, ErrorCodes.adminKey)
            add(403, ["admin.client_certificate_required"])
        }
        if body != nil {
            if !rawBody { add(400, ErrorCodes.jsonBody) }
            add(413, ["request.body_too_large"])
        }
        if usesStorage {
            add(503, ErrorCodes.storage)
        }
        return all.mapValues { Array(Set($0)).sorted() }
    }

    func rendered() -> OpenAPIJSON {
        var members: [OpenAPIJSON.Member] = [
            .init(key: "operationId", value: .string(operationID)),
            .init(key: "summary", value: .string(summary)),
            .init(key: "tags", value: [.string(tag)]),
        ]
        if let notes { members.append(.init(key: "description", value: .string(notes))) }
        switch security {
        case .none: members.append(.init(key: "security", value: []))
        case .bearer: members.append(.init(key: "security", value: [["bearerAuth": []]]))
        case .adminKey: members.append(.init(key: "security", value: [["adminKey": []]]))
        }
        let pathParameters = Self.pathParameterNames(path).map { name -> OpenAPIJSON in
            ["name": .string(name), "in": "path", "required": true,
             "description": "An id as the server issued it; any other value is answered 404.",
             "schema": ["type": "string", "minLength": 1]]
        }
        if !(pathParameters + parameters).isEmpty {
            members.append(.init(key: "parameters", value: .array(pathParameters + parameters)))
        }
        if let body {
            members.append(.init(key: "requestBody", value: [
                "required": .bool(!bodyOptional),
                "content": ["application/json": ["schema": body]],
            ]))
        }
        var answers: [OpenAPIJSON.Member] = responses.map { .init(key: String($0.status), value: $0.response) }
        for (status, codes) in allErrors.sorted(by: { $0.key < $1.key }) {
            answers.append(.init(key: String(status), value: Self.errorResponse(status: status, codes: codes)))
        }
        members.append(.init(key: "responses", value: .object(answers)))
        members.append(.init(key: "x-error-codes", value: .object(allErrors.sorted(by: { $0.key < $1.key }).map {
            .init(key: String($0.key), value: .array($0.value.map(OpenAPIJSON.string)))
        })))
        return .object(members)
    }

    static func pathParameterNames(_ path: String) -> [String] {
        path.split(separator: "/").compactMap { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? String(segment.dropFirst().dropLast()) : nil
        }
    }

    // MARK: Response objects

    /// The `X-Request-Id` every answer carries.
    static let requestIDHeader: OpenAPIJSON = [
        "description": "The request id: the client's own `X-Request-Id` when it is 1–128 characters of `[A-Za-z0-9._:-]`, otherwise a new one. Quote it when reporting a problem.",
        "required": true,
        "schema": ["type": "string", "minLength": 1, "maxLength": 128],
    ]

    /// A JSON success answer.
    static func json(_ description: String, _ schema: OpenAPIJSON, headers: [(String, OpenAPIJSON)] = []) -> OpenAPIJSON {
        [
            "description": .string(description),
            "headers": .object([.init(key: "X-Request-Id", value: requestIDHeader)] + headers.map { .init(key: $0.0, value: $0.1) }),
            "content": ["application/json": ["schema": schema]],
        ]
    }

    /// A plain-text success answer of the given media type.
    static func text(_ description: String, mediaType: String) -> OpenAPIJSON {
        [
            "description": .string(description),
            "headers": ["X-Request-Id": requestIDHeader],
            "content": .object([.init(key: mediaType, value: ["schema": ["type": "string"]])]),
        ]
    }

    /// An answer without a body (204).
    static func empty(_ description: String) -> OpenAPIJSON {
        ["description": .string(description), "headers": ["X-Request-Id": requestIDHeader]]
    }

    static func errorResponse(status: Int, codes: [String]) -> OpenAPIJSON {
        var headers: [OpenAPIJSON.Member] = [.init(key: "X-Request-Id", value: requestIDHeader)]
        if status == 503 {
            headers.append(.init(key: "Retry-After", value: [
                "description": "Seconds to wait before trying again, when the server can tell.",
                "required": false, "schema": ["type": "string", "pattern": "^[0-9]+$"],
            ]))
        }
        return [
            "description": .string("\(reason(status)): " + codes.map { "`\($0)`" }.joined(separator: ", ")),
            "headers": .object(headers),
            "content": ["application/json": ["schema": [
                "type": "object",
                "required": ["error"],
                "additionalProperties": false,
                "properties": ["error": [
                    "type": "object",
                    "required": ["code", "message", "requestId"],
                    "additionalProperties": false,
                    "properties": [
                        "code": ["type": "string", "enum": .array(codes.map(OpenAPIJSON.string))],
                        "message": ["type": "string"],
                        "requestId": ["type": "string", "minLength": 1, "maxLength": 128],
                    ],
                ]],
            ]]],
        ]
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 400: "Bad request"
        case 401: "Not authenticated"
        case 403: "Forbidden"
        case 404: "Not found"
        case 409: "Conflict"
        case 413: "Body too large"
        case 429: "Too many requests"
        case 500: "Server error"
        case 503: "Unavailable, try again"
        case 504: "Upstream timeout"
        default: "Error"
        }
    }
}

/// Error codes several operations share.
enum ErrorCodes {
    /// A JSON request body that cannot be read (`request.decodeJSON`).
    static let jsonBody = ["request.empty_body", "request.malformed_json", "request.missing_field", "request.invalid_type", "request.invalid_field"]
    static let bearer = [
        "auth.token_missing", "auth.token_invalid", "auth.token_expired", "auth.token_not_yet_valid", "auth.token_revoked",
        "auth.token_audience", "auth.token_issuer",
    ]
    static let adminKey = ["admin.key_missing", "admin.key_invalid"]
    /// The database is busy, unreachable or shutting down.
    static let storage = ["storage.unavailable", "storage.closed"]
    /// WeChat's API failing (login, phone number).
    static let wechatUnavailable = ["wechat.quota_exceeded", "wechat.busy", "wechat.timeout", "wechat.unavailable"]
    /// WeChat Pay failing or refusing.
    static let payUnavailable = ["pay.not_configured", "wechatpay.unreachable", "wechatpay.busy", "wechatpay.bad_response"]
    static let payRefused = ["wechatpay.rejected", "wechatpay.order_not_found"]
    static let paging = ["request.invalid_limit", "request.invalid_cursor"]
}

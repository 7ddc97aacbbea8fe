import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwiftletCore

/// The one place that decides how a failure looks on the wire:
/// `{"error":{"code":…,"message":…,"requestId":…}}` with the matching status.
public enum ErrorResponse {
    /// A failure reduced to what the client may see.
    public struct Rendered: Sendable, Equatable {
        public let status: HTTPResponse.Status
        public let code: String
        public let message: String
        /// True for failures we did not anticipate; their detail goes only to the log.
        public let isUnexpected: Bool
        /// Headers the failure carries to the client, e.g. `WWW-Authenticate` or `Allow`
        /// of a framework `HTTPError` (never its `Content-Type`/`Content-Length`: the
        /// body is ours).
        public let headers: HTTPFields
        /// Sent as `Retry-After` (seconds) when set.
        public let retryAfterSeconds: Int?

        public init(status: HTTPResponse.Status, code: String, message: String, isUnexpected: Bool,
                    headers: HTTPFields = [:], retryAfterSeconds: Int? = nil) {
            self.status = status
            self.code = code
            self.message = message
            self.isUnexpected = isUnexpected
            self.headers = headers
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// A framework error already reduced to its rendering inside the router, so that it
    /// reaches `SwiftletResponder` with its status and headers instead of being rendered
    /// by Hummingbird (see `HTTPErrorEscapeMiddleware`).
    public struct Escaped: Error, Sendable {
        public let rendered: Rendered
    }

    public static func classify(_ error: any Error) -> Rendered {
        switch error {
        case let error as SwiftletError:
            var headers = HTTPFields()
            for (name, value) in error.headers {
                if let name = HTTPField.Name(name) { headers[name] = value }
            }
            return Rendered(status: status(for: error.kind), code: error.code, message: error.message,
                            isUnexpected: error.kind == .internalFailure, headers: headers, retryAfterSeconds: error.retryAfterSeconds)
        case let error as Escaped:
            return error.rendered
        case let error as HTTPError:
            return classify(status: error.status, body: error.body, headers: error.headers)
        case let error as any HTTPResponseError:
            // Hummingbird/NIO errors that carry a status, e.g. NIOTooManyBytesError → 413.
            return classify(status: error.status, body: nil)
        case let error as DecodingError:
            let failure = JSONBodyDecoding.describe(error)
            return Rendered(status: .badRequest, code: failure.code, message: failure.message, isUnexpected: false)
        default:
            return Rendered(status: .internalServerError, code: "internal.error",
                            message: genericMessage, isUnexpected: true)
        }
    }

    static let genericMessage = "An internal error occurred; quote the request id when reporting it."

    /// A status chosen by the framework or a route keeps its status and headers; only
    /// a bare 500 is treated as a failure we did not anticipate.
    static func classify(status: HTTPResponse.Status, body: String?, headers: HTTPFields = [:]) -> Rendered {
        let kept = headers.filter { $0.name != .contentType && $0.name != .contentLength && $0.name != .transferEncoding }
        let code = frameworkCode(for: status)
        let message: String = switch status {
        case .notFound: body ?? "No route matches this path."
        case .contentTooLarge: "The request body is larger than the server accepts."
        case .badRequest: body ?? "The request is malformed."
        case .unsupportedMediaType: body ?? "Unsupported Content-Type."
        case .internalServerError: genericMessage
        default: body ?? status.reasonPhrase
        }
        return Rendered(status: status, code: code, message: message, isUnexpected: status == .internalServerError,
                        headers: HTTPFields(kept))
    }

    /// Stable codes for statuses the framework or a route raises as `HTTPError`; clients
    /// branch on them, so they never change once published.
    static func frameworkCode(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "request.bad_request"
        case 401: "request.unauthorized"
        case 403: "request.forbidden"
        case 404: "route.not_found"
        case 405: "route.method_not_allowed"
        case 406: "request.not_acceptable"
        case 408: "request.timeout"
        case 409: "request.conflict"
        case 410: "request.gone"
        case 411: "request.length_required"
        case 412: "request.precondition_failed"
        case 413: "request.body_too_large"
        case 414: "request.uri_too_long"
        case 415: "request.unsupported_media_type"
        case 416: "request.range_not_satisfiable"
        case 422: "request.unprocessable"
        case 428: "request.precondition_required"
        case 429: "request.rate_limited"
        case 431: "request.headers_too_large"
        case 500: "internal.error"
        case 501: "request.not_implemented"
        case 502: "upstream.bad_gateway"
        case 503: "service.unavailable"
        case 504: "upstream.timeout"
        default: "http.\(status.code)"
        }
    }

    public static func status(for kind: SwiftletError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .invalidInput: .badRequest
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .badGateway: .badGateway
        case .timeout: .gatewayTimeout
        case .internalFailure: .internalServerError
        }
    }

    /// Builds the JSON error response. Written by hand (not JSONEncoder) because it is on
    /// every failure path, including under attack, and must not fail itself.
    public static func response(_ rendered: Rendered, requestID: String, extraHeaders: HTTPFields = [:]) -> Response {
        let encoded = encode(rendered, requestID: requestID, extraHeaders: extraHeaders)
        return Response(status: encoded.status, headers: encoded.headers, body: .init(byteBuffer: ByteBuffer(string: encoded.body)))
    }

    /// The error response as status, headers and body text: what `response` sends, and
    /// what the inline lane writes itself when a guard refuses a request there, so both
    /// paths answer a refusal byte for byte alike.
    public static func encode(
        _ rendered: Rendered, requestID: String, extraHeaders: HTTPFields = [:]
    ) -> (status: HTTPResponse.Status, headers: HTTPFields, body: String) {
        var body = #"{"error":{"code":"#
        JSONText.appendString(rendered.code, to: &body)
        body += #","message":"#
        JSONText.appendString(rendered.message, to: &body)
        body += #","requestId":"#
        JSONText.appendString(requestID, to: &body)
        body += "}}"
        var headers = rendered.headers
        for field in extraHeaders {
            headers[field.name] = field.value
        }
        if let seconds = rendered.retryAfterSeconds {
            headers[.retryAfter] = String(seconds)
        }
        headers[.contentType] = "application/json; charset=utf-8"
        return (rendered.status, headers, body)
    }

}

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
    }

    public static func classify(_ error: any Error) -> Rendered {
        switch error {
        case let error as SwiftletError:
            return Rendered(status: status(for: error.kind), code: error.code, message: error.message,
                            isUnexpected: error.kind == .internalFailure)
        case let error as HTTPError:
            return classify(status: error.status, body: error.body)
        case let error as any HTTPResponseError:
            // Hummingbird/NIO errors that carry a status, e.g. NIOTooManyBytesError → 413.
            return classify(status: error.status, body: nil)
        case let error as DecodingError:
            let failure = JSONBodyDecoding.describe(error)
            return Rendered(status: .badRequest, code: failure.code, message: failure.message, isUnexpected: false)
        default:
            return Rendered(status: .internalServerError, code: "internal.error",
                            message: "An internal error occurred; quote the request id when reporting it.", isUnexpected: true)
        }
    }

    static func classify(status: HTTPResponse.Status, body: String?) -> Rendered {
        switch status {
        case .notFound:
            return Rendered(status: .notFound, code: "route.not_found", message: body ?? "No route matches this path.", isUnexpected: false)
        case .contentTooLarge:
            return Rendered(status: .contentTooLarge, code: "request.body_too_large",
                            message: "The request body is larger than the server accepts.", isUnexpected: false)
        case .badRequest:
            return Rendered(status: .badRequest, code: "request.bad_request", message: body ?? "The request is malformed.", isUnexpected: false)
        case .unsupportedMediaType:
            return Rendered(status: .unsupportedMediaType, code: "request.unsupported_media_type",
                            message: body ?? "Unsupported Content-Type.", isUnexpected: false)
        default:
            let isServerSide = status.code >= 500
            return Rendered(
                status: status,
                code: "http.\(status.code)",
                message: isServerSide ? "An internal error occurred; quote the request id when reporting it." : (body ?? status.reasonPhrase),
                isUnexpected: isServerSide)
        }
    }

    /// The `SwiftletError` equivalent of an error Hummingbird would render itself.
    static func domainError(from error: any HTTPResponseError) -> SwiftletError {
        let rendered = classify(error)
        let kind: SwiftletError.Kind = switch rendered.status {
        case .notFound: .notFound
        case .contentTooLarge: .payloadTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .methodNotAllowed: .methodNotAllowed
        case .tooManyRequests: .rateLimited
        case .serviceUnavailable: .unavailable
        case _ where rendered.status.code >= 500: .internalFailure
        default: .invalidInput
        }
        return SwiftletError(kind, code: rendered.code, message: rendered.message)
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
        var headers = extraHeaders
        headers[.contentType] = "application/json; charset=utf-8"
        return (rendered.status, headers, body)
    }

}

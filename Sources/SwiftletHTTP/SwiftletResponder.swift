import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The outermost layer every request passes through: request id, body-size limit, the
/// single error mapping (including 405 for a known path with the wrong method) and the
/// access log.
///
/// It wraps the router's responder rather than being router middleware so it also
/// covers requests no route matched, and costs one layer instead of four.
public struct SwiftletResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == SwiftletRequestContext {
    public typealias Context = SwiftletRequestContext

    let inner: Inner
    let methodIndex: RouteMethodIndex
    let maxBodyBytes: Int
    let requestIDs: RequestIDs
    let logger: Logger
    let accessLog: (any AccessLog)?

    public init(inner: Inner, methodIndex: RouteMethodIndex, maxBodyBytes: Int, requestIDs: RequestIDs,
                logger: Logger, accessLog: (any AccessLog)?) {
        self.inner = inner
        self.methodIndex = methodIndex
        self.maxBodyBytes = maxBodyBytes
        self.requestIDs = requestIDs
        self.logger = logger
        self.accessLog = accessLog
    }

    public func respond(to request: Request, context: SwiftletRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        let requestID = requestIDs.resolve(supplied: request.headers[.requestID])
        context.requestID = requestID
        context.maxUploadSize = maxBodyBytes

        var response: Response
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBodyBytes {
            // Refuse before reading a byte, and close: the rest of the body is not wanted.
            response = failure(ErrorResponse.classify(HTTPError(.contentTooLarge)), request: request,
                               requestID: requestID, extraHeaders: [.connection: "close"], error: nil)
        } else {
            do {
                response = try await inner.respond(to: request, context: context)
            } catch {
                response = render(error, request: request, requestID: requestID)
            }
        }
        response.headers[.requestID] = requestID
        if let accessLog {
            let elapsed = ContinuousClock.now - started
            accessLog.record(
                method: request.method, path: request.uri.path, status: response.status,
                durationMicroseconds: elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000,
                requestID: requestID)
        }
        return response
    }

    private func render(_ error: any Error, request: Request, requestID: String) -> Response {
        var rendered = ErrorResponse.classify(error)
        var headers: HTTPFields = [:]
        if rendered.status == .notFound, rendered.code == "route.not_found" {
            let allowed = methodIndex.allowedMethods(for: request.uri.path)
            if !allowed.isEmpty {
                let list = allowed.map(\.rawValue).sorted().joined(separator: ", ")
                headers[.allow] = list
                rendered = .init(status: .methodNotAllowed, code: "route.method_not_allowed",
                                 message: "\(request.method.rawValue) is not allowed here; use \(list).", isUnexpected: false)
            }
        }
        if rendered.status == .contentTooLarge {
            headers[.connection] = "close"
        }
        return failure(rendered, request: request, requestID: requestID, extraHeaders: headers, error: error)
    }

    private func failure(
        _ rendered: ErrorResponse.Rendered, request: Request, requestID: String, extraHeaders: HTTPFields, error: (any Error)?
    ) -> Response {
        if rendered.isUnexpected {
            logger.error("unhandled error", metadata: [
                "requestId": .string(requestID),
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "error": .string(error.map { String(reflecting: $0) } ?? rendered.code),
            ])
        }
        return ErrorResponse.response(rendered, requestID: requestID, extraHeaders: extraHeaders)
    }
}

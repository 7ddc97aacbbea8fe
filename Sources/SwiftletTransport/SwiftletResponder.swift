import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwiftletCore

/// The outermost layer every request the router answers passes through: request id,
/// the seam (observers and guards: access log, metrics, limits), body-size limit, and the
/// single error mapping (including 405 for a known path with the wrong method).
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
    let seam: RequestSeam
    let mountedAPIs: [MountedAPIErrorShape]
    let upstream: (any UpstreamForwarder)?
    let tracing: RequestTracing

    public init(inner: Inner, methodIndex: RouteMethodIndex, maxBodyBytes: Int, requestIDs: RequestIDs,
                logger: Logger, seam: RequestSeam, mountedAPIs: [MountedAPIErrorShape] = [],
                upstream: (any UpstreamForwarder)? = nil, tracing: RequestTracing = .off) {
        self.tracing = tracing
        self.inner = inner
        self.methodIndex = methodIndex
        self.maxBodyBytes = maxBodyBytes
        self.requestIDs = requestIDs
        self.logger = logger
        self.seam = seam
        self.mountedAPIs = mountedAPIs
        self.upstream = upstream
    }

    public func respond(to request: Request, context: SwiftletRequestContext) async throws -> Response {
        let started = NIODeadline.now()
        var context = context
        let requestID = requestIDs.resolve(supplied: request.headers[.requestID])
        context.requestID = requestID
        context.maxUploadSize = maxBodyBytes
        let path = request.uri.path
        let start = RequestStart(
            method: request.method, route: methodIndex.template(for: path) ?? RequestStart.unmatchedRoute, path: path,
            client: context.client, requestID: requestID, headers: .fields(request.headers), started: started,
            query: request.uri.query)
        guard tracing.enabled else {
            return try await answer(request, context: context, start: start)
        }
        let prepared = context
        return try await tracing.traced(start, fields: request.headers) { traced in
            try await answer(request, context: prepared, start: start, traced: traced)
        }
    }

    /// Everything after the request's start: the seam, the body limit, the handler (or the
    /// upstream) and the error mapping.
    private func answer(
        _ request: Request, context: SwiftletRequestContext, start: RequestStart, traced: Bool = false
    ) async throws -> Response {
        let requestID = start.requestID
        let started = start.started
        let passage = seam.begin(start)

        var response: Response
        if let refusal = passage.refusal {
            response = render(refusal, request: request, requestID: requestID)
        } else if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBodyBytes {
            // Refuse before reading a byte, and close: the rest of the body is not wanted.
            response = failure(ErrorResponse.classify(HTTPError(.contentTooLarge)), request: request,
                               requestID: requestID, extraHeaders: [.connection: "close"], error: nil)
        } else {
            do {
                var request = request
                if let refusal = try await admit(&request, start, passage) {
                    response = render(refusal, request: request, requestID: requestID)
                } else if let upstream, start.route != RequestStart.unmatchedRoute,
                          upstream.diverts(request, route: start.route, client: start.client?.ipAddress) {
                    response = try await upstream.forward(request, requestID: requestID, client: start.client?.ipAddress)
                } else {
                    response = try await respondOrForward(request, context: context, start: start)
                }
            } catch {
                response = render(error, request: request, requestID: requestID)
            }
        }
        response.headers[.requestID] = requestID
        seam.end(start, passage, RequestOutcome(
            status: response.status, bodyBytes: response.body.contentLength,
            durationNanoseconds: (NIODeadline.now() - started).nanoseconds, traced: traced))
        return response
    }

    /// The router's answer; a path it has no route for at all goes to the upstream when
    /// there is one (a path it serves with other methods stays a 405 here).
    private func respondOrForward(_ request: Request, context: SwiftletRequestContext, start: RequestStart) async throws -> Response {
        do {
            return try await inner.respond(to: request, context: context)
        } catch {
            guard let upstream, start.route == RequestStart.unmatchedRoute,
                  ErrorResponse.classify(error).code == "route.not_found",
                  methodIndex.allowedMethods(for: request.uri.path).isEmpty,
                  !mountedAPIs.contains(where: { $0.covers(request.uri.path) }) else { throw error }
            return try await upstream.forward(request, requestID: start.requestID, client: start.client?.ipAddress)
        }
    }

    /// The guards' decision (see `RequestGuard`). When one needs the body it is read here,
    /// within the body limit, and put back so the handler reads the same bytes.
    private func admit(_ request: inout Request, _ start: RequestStart, _ passage: RequestSeam.Passage) async throws -> SwiftletError? {
        let body: ByteBuffer?
        switch seam.admission(route: start.route) {
        case .none:
            return nil
        case .headOnly:
            body = nil
        case .withBody:
            let collected = try await request.body.collect(upTo: maxBodyBytes)
            request.body = RequestBody(buffer: collected)
            body = collected
        }
        return await seam.admit(start, passage, body: body)
    }

    private func render(_ error: any Error, request: Request, requestID: String) -> Response {
        var rendered = ErrorResponse.classify(error)
        var headers: HTTPFields = [:]
        if rendered.status == .notFound, rendered.code == "route.not_found" {
            let allowed = methodIndex.allowedMethods(for: request.uri.path)
            if let mounted = mountedAPIs.first(where: { $0.covers(request.uri.path) }) {
                return mounted.answer(request, allowed.isEmpty ? .unknownPath : .methodNotAllowed(allowed: allowed.sorted { $0.rawValue < $1.rawValue }))
            }
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
                "error": .string(error.map(ErrorLog.describe) ?? rendered.code),
            ])
        }
        return ErrorResponse.response(rendered, requestID: requestID, extraHeaders: extraHeaders)
    }
}

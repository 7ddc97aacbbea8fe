import Hummingbird

/// Turns errors Hummingbird renders itself (`HTTPError` for an unknown route or thrown by
/// a route, `NIOTooManyBytesError` for a body over the limit) into their rendering
/// (`ErrorResponse.Escaped`) inside the router.
///
/// The router renders those itself as a bare status with an empty body; converting
/// it lets the error reach `SwiftletResponder`, the one place that renders failures, so
/// a 404 looks like every other error and can become a 405 when the path exists, and a
/// 401, 409 or 504 keeps its status and headers (`WWW-Authenticate`, `Retry-After`).
public struct HTTPErrorEscapeMiddleware: RouterMiddleware {
    public typealias Context = SwiftletRequestContext

    public init() {}

    public func handle(
        _ request: Request, context: SwiftletRequestContext,
        next: (Request, SwiftletRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw ErrorResponse.Escaped(rendered: ErrorResponse.classify(error))
        }
    }
}

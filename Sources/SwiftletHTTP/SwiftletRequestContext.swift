import Hummingbird
import Logging
import NIOCore

/// Per-request state shared by middleware and handlers.
public struct SwiftletRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id echoed in `X-Request-Id` and in every error body and log line.
    public var requestID: String = ""
    /// Set by the request pipeline from `http.maxBodySize`; Hummingbird's body collection
    /// enforces it.
    public var maxUploadSize: Int = 1_048_576

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}

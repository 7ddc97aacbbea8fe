import HTTPTypes
import Logging

/// Receives one record per request, after the response is ready (as an observer on the
/// seam).
///
/// A protocol rather than a `Logger` call because it runs on every request: the JSON
/// implementation writes the line's bytes directly instead of building a metadata
/// dictionary, sorting it and formatting it (which was most of the access log's cost).
public protocol AccessLog: RequestObserver {
    /// `traced`: the request ran in a span, so its line may carry a trace id.
    func record(method: HTTPRequest.Method, path: String, status: HTTPResponse.Status,
                durationMicroseconds: Int64, requestID: String, traced: Bool)
}

/// An access log is the seam's first observer: one line per request, router or inline.
/// Its `end` is written here once, so the seam calls the log's `record` directly.
extension AccessLog {
    public func end(_ request: RequestStart, _ outcome: RequestOutcome) {
        record(method: request.method, path: request.path, status: outcome.status,
               durationMicroseconds: outcome.durationNanoseconds / 1000, requestID: request.requestID,
               traced: outcome.traced)
    }
}

/// The access log through swift-log, for the text log format and for embedders.
public struct LoggerAccessLog: AccessLog {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func record(method: HTTPRequest.Method, path: String, status: HTTPResponse.Status,
                       durationMicroseconds: Int64, requestID: String, traced: Bool) {
        logger.info("request", metadata: [
            "method": .string(method.rawValue),
            "path": .string(path),
            "status": .stringConvertible(status.code),
            "durationMs": .stringConvertible(Double(durationMicroseconds) / 1000),
            "requestId": .string(requestID),
        ])
    }
}

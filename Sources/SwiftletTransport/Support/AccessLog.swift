import HTTPTypes
import Logging

/// Receives one record per request, after the response is ready (through
/// `AccessLogObserver`, on the seam).
///
/// A protocol rather than a `Logger` call because it runs on every request: the JSON
/// implementation writes the line's bytes directly instead of building a metadata
/// dictionary, sorting it and formatting it (which was most of the access log's cost).
public protocol AccessLog: Sendable {
    func record(method: HTTPRequest.Method, path: String, status: HTTPResponse.Status,
                durationMicroseconds: Int64, requestID: String)
}

/// The access log through swift-log, for the text log format and for embedders.
public struct LoggerAccessLog: AccessLog {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func record(method: HTTPRequest.Method, path: String, status: HTTPResponse.Status,
                       durationMicroseconds: Int64, requestID: String) {
        logger.info("request", metadata: [
            "method": .string(method.rawValue),
            "path": .string(path),
            "status": .stringConvertible(status.code),
            "durationMs": .stringConvertible(Double(durationMicroseconds) / 1000),
            "requestId": .string(requestID),
        ])
    }
}

/// The access log as the seam's first observer: one line per request, router or inline.
public struct AccessLogObserver: RequestObserver {
    let log: any AccessLog

    public init(_ log: any AccessLog) {
        self.log = log
    }

    public func end(_ request: RequestStart, _ outcome: RequestOutcome) {
        log.record(method: request.method, path: request.path, status: outcome.status,
                   durationMicroseconds: outcome.durationNanoseconds / 1000, requestID: request.requestID)
    }
}

import Hummingbird
import HummingbirdCore
import Logging

extension HTTPServerBuilder {
    /// HTTP/1.1 with keep-alive and Swiftlet's connection deadlines (idle, header, body)
    /// in place of Hummingbird's plain idle timeout.
    public static func swiftletHTTP1(timeouts: ConnectionTimeouts, logger: Logger) -> HTTPServerBuilder {
        .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionDeadlineHandler(timeouts: timeouts, logger: logger)],
            idleTimeout: nil))
    }
}

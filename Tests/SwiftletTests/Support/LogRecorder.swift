import Logging
import Synchronization

/// Keeps every log record of a logger in memory, so a test can assert what was logged
/// (and that nothing personal was).
final class LogRecorder: Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
        var source = ""
    }

    private let records = Mutex<[Record]>([])

    var logged: [Record] { records.withLock { $0 } }

    /// A logger at `.info` whose records land here.
    var logger: Logger {
        var logger = Logger(label: "swiftlet-test") { _ in Handler(recorder: self) }
        logger.logLevel = .info
        return logger
    }

    func append(_ record: Record) {
        records.withLock { $0.append(record) }
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            recorder.append(Record(level: event.level, message: event.message.description,
                                   metadata: merged.mapValues { $0.description }, source: event.source))
        }
    }
}

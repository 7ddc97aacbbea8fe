import Logging
import SwiftletCore

/// swift-log handler writing one JSON object per line to standard output, the shape log
/// collectors (Loki, CloudWatch, ELK) ingest without parsing rules:
/// `{"ts":"…Z","level":"info","logger":"swiftlet","msg":"request",…metadata}`.
///
/// Lines go through `LogOutput`, whole, so lines from concurrent requests never
/// interleave; warnings and errors are written out at once.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: LogOutput

    public init(label: String, level: Logger.Level, output: LogOutput = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = #"{"ts":"#
        line += "\"" + RFC3339.now + "\""
        line += #","level":""# + event.level.rawValue + "\""
        line += #","logger":"#
        JSONText.appendString(label, to: &line)
        line += #","msg":"#
        JSONText.appendString(event.message.description, to: &line)

        // Merge only when there is more than one source: the access log line has just
        // the event's own metadata, and this runs once per request.
        var merged = event.metadata ?? [:]
        // Precedence as swift-log defines it: event > metadata provider > handler metadata.
        if let provided = metadataProvider?.get() { merged.merge(provided) { kept, _ in kept } }
        if !metadata.isEmpty { merged.merge(metadata) { kept, _ in kept } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += ","
            JSONText.appendString(key, to: &line)
            line += ":"
            Self.appendValue(value, to: &line)
        }
        line += "}\n"
        output.append(line.utf8, urgent: event.level >= .warning)
    }

    static func appendValue(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let text): JSONText.appendString(text, to: &line)
        case .stringConvertible(let convertible):
            let text = convertible.description
            if convertible is any BinaryInteger || convertible is Double || convertible is Bool {
                line += text
            } else {
                JSONText.appendString(text, to: &line)
            }
        case .array(let values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                appendValue(element, to: &line)
            }
            line += "]"
        case .dictionary(let dictionary):
            line += "{"
            for (index, (key, element)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { line += "," }
                JSONText.appendString(key, to: &line)
                line += ":"
                appendValue(element, to: &line)
            }
            line += "}"
        }
    }


}

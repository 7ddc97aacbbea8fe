import Foundation
import HTTPTypes
import Synchronization
import SwiftletCore
import SwiftletHTTP

/// The access log in the JSON log format, written straight to bytes.
///
/// Each line has exactly the shape `JSONLogHandler` gives a `logger.info("request", …)`
/// call — `{"ts":…,"level":"info","logger":"swiftlet","msg":"request","durationMs":…,
/// "method":…,"path":…,"requestId":…,"status":…}` — so collectors see one format, but
/// without a metadata dictionary per request, and with the timestamp's date-and-second
/// part formatted once per second.
public final class JSONAccessLog: AccessLog {
    private let output: LogOutput
    private let secondPrefix = Mutex<(second: Int64, bytes: [UInt8])>((-1, []))

    public init(output: LogOutput) {
        self.output = output
    }

    public func record(method: HTTPRequest.Method, path: String, status: HTTPResponse.Status,
                durationMicroseconds: Int64, requestID: String) {
        var line: [UInt8] = []
        line.reserveCapacity(192 + path.utf8.count)
        line.append(contentsOf: #"{"ts":""#.utf8)
        appendTimestamp(to: &line)
        line.append(contentsOf: #"","level":"info","logger":"swiftlet","msg":"request","durationMs":"#.utf8)
        Self.appendDecimal(durationMicroseconds / 1000, to: &line)
        line.append(UInt8(ascii: "."))
        let fraction = durationMicroseconds % 1000
        if fraction < 100 { line.append(UInt8(ascii: "0")) }
        if fraction < 10 { line.append(UInt8(ascii: "0")) }
        Self.appendDecimal(fraction, to: &line)
        line.append(contentsOf: #","method":"#.utf8)
        JSONText.appendString(method.rawValue, to: &line)
        line.append(contentsOf: #","path":"#.utf8)
        JSONText.appendString(path, to: &line)
        line.append(contentsOf: #","requestId":"#.utf8)
        JSONText.appendString(requestID, to: &line)
        line.append(contentsOf: #","status":"#.utf8)
        Self.appendDecimal(Int64(status.code), to: &line)
        line.append(contentsOf: "}\n".utf8)
        output.append(line)
    }

    private func appendTimestamp(to line: inout [UInt8]) {
        let milliseconds = Date().unixMilliseconds
        let second = milliseconds / 1000
        let prefix = secondPrefix.withLock { cached -> [UInt8] in
            if cached.second != second {
                // "2026-11-21T09:05:01.000Z" → keep "2026-11-21T09:05:01."
                let text = RFC3339.string(Date(unixMilliseconds: second * 1000))
                cached = (second, Array(text.utf8.dropLast(4)))
            }
            return cached.bytes
        }
        line.append(contentsOf: prefix)
        let fraction = milliseconds % 1000
        line.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        line.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        line.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        line.append(UInt8(ascii: "Z"))
    }

    static func appendDecimal(_ value: Int64, to line: inout [UInt8]) {
        guard value != 0 else {
            line.append(UInt8(ascii: "0"))
            return
        }
        var digits: [UInt8] = []
        var remaining = value.magnitude
        while remaining > 0 {
            digits.append(UInt8(ascii: "0") + UInt8(remaining % 10))
            remaining /= 10
        }
        if value < 0 { line.append(UInt8(ascii: "-")) }
        line.append(contentsOf: digits.reversed())
    }
}

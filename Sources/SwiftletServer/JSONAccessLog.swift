#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPTypes
import SwiftletCore
import SwiftletHTTP
import SwiftletTransport

/// The access log in the JSON log format, written straight to bytes.
///
/// Each line has exactly the shape `JSONLogHandler` gives a `logger.info("request", …)`
/// call — `{"ts":…,"level":"info","logger":"swiftlet","msg":"request","durationMs":…,
/// "method":…,"path":…,"requestId":…,"status":…}` — so collectors see one format, but
/// without a metadata dictionary, an allocation or a lock of its own per request: the
/// line is written straight into the output buffer.
///
/// With tracing on, `traceID` reads the request's trace id (the seam's `end` runs inside
/// the request's span) and the line carries it as `traceId`.
public final class JSONAccessLog: AccessLog {
    private let output: LogOutput
    private let traceID: (@Sendable () -> String?)?

    public init(output: LogOutput, traceID: (@Sendable () -> String?)? = nil) {
        self.output = output
        self.traceID = traceID
    }

    public func record(method: HTTPRequest.Method, path: String, status: HTTPResponse.Status,
                       durationMicroseconds: Int64, requestID: String, traced: Bool) {
        let milliseconds = Self.wallClockMilliseconds()
        let trace = traced ? traceID?() : nil
        output.appendLine { line in
            line.append(contentsOf: #"{"ts":""#.utf8)
            RFC3339.append(unixMilliseconds: milliseconds, to: &line)
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
            if let trace {
                line.append(contentsOf: #","traceId":"#.utf8)
                JSONText.appendString(trace, to: &line)
            }
            line.append(contentsOf: "}\n".utf8)
        }
    }

    /// Milliseconds since the Unix epoch from the real-time clock, without Foundation.
    static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Appends `value` in decimal, digits written in place (no temporary array).
    static func appendDecimal(_ value: Int64, to line: inout [UInt8]) {
        if value < 0 { line.append(UInt8(ascii: "-")) }
        var remaining = value.magnitude
        let start = line.count
        repeat {
            line.append(UInt8(ascii: "0") + UInt8(remaining % 10))
            remaining /= 10
        } while remaining > 0
        var low = start
        var high = line.count - 1
        while low < high {
            line.swapAt(low, high)
            low += 1
            high -= 1
        }
    }
}

import Foundation
import Logging
import SwiftletServer
import SwiftletTransport
import Synchronization
import Testing

@Suite("JSON log lines")
struct AccessLogTests {
    /// Reads what a `LogOutput` writes, through a pipe.
    static func captured(_ write: (LogOutput) -> Void) throws -> [[String: Any]] {
        let descriptors = try TestPipe.make()
        let output = LogOutput(fileDescriptor: descriptors.write)
        write(output)
        output.flush()
        close(descriptors.write)
        let data = FileHandle(fileDescriptor: descriptors.read, closeOnDealloc: true).readDataToEndOfFile()
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func accessLinesHaveTheLogHandlersShape() throws {
        let lines = try Self.captured { output in
            JSONAccessLog(output: output).record(
                method: .get, path: #"/a"b\c"#, status: .ok, durationMicroseconds: 1_234, requestID: "r-1", traced: false)
            var logger = Logger(label: "swiftlet") { label in JSONLogHandler(label: label, level: .info, output: output) }
            logger.logLevel = .info
            logger.info("request", metadata: [
                "method": "GET", "path": "/x", "status": .stringConvertible(200), "durationMs": .stringConvertible(0.5),
                "requestId": "r-2",
            ])
        }
        #expect(lines.count == 2)
        let direct = lines[0], viaLogger = lines[1]
        #expect(Set(direct.keys) == Set(viaLogger.keys))
        #expect(direct["msg"] as? String == "request" && direct["level"] as? String == "info")
        #expect(direct["logger"] as? String == "swiftlet")
        #expect(direct["path"] as? String == #"/a"b\c"#, "quotes and backslashes escaped")
        #expect(direct["durationMs"] as? Double == 1.234)
        #expect(direct["status"] as? Int == 200)
        #expect(direct["requestId"] as? String == "r-1")
        let timestamp = direct["ts"] as? String ?? ""
        #expect(timestamp.count == 24 && timestamp.hasSuffix("Z"))
        #expect(RFC3339Check.parse(timestamp) != nil)
    }
}

extension AccessLogTests {
    @Test("only a request that ran in a span looks up its trace id")
    func traceIDOnlyWhenTraced() throws {
        let lookups = Mutex(0)
        let lines = try Self.captured { output in
            let log = JSONAccessLog(output: output, traceID: {
                lookups.withLock { $0 += 1 }
                return "4bf92f3577b34da6a3ce929d0e0e4736"
            })
            log.record(method: .get, path: "/a", status: .ok, durationMicroseconds: 1, requestID: "r-1", traced: true)
            log.record(method: .get, path: "/b", status: .ok, durationMicroseconds: 1, requestID: "r-2", traced: false)
        }
        #expect(lines.map { $0["traceId"] as? String } == ["4bf92f3577b34da6a3ce929d0e0e4736", nil])
        #expect(lookups.withLock { $0 } == 1, "the unsampled request did not look")
    }
}

enum RFC3339Check {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

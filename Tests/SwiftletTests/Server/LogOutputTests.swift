import Foundation
import SwiftletServer
import Testing

@Suite("Log output never blocks its callers")
struct LogOutputTests {
    static let tasks = 4
    static let linesPerTask = 25_000
    static let capacity = 64 * 1024

    /// A pipe nobody reads, filled up to its 64 KiB with filler lines: every later write
    /// to it blocks (or, non-blocking, would block) until the test starts reading.
    static func fullPipe(nonBlocking: Bool) throws -> (read: Int32, write: Int32) {
        let descriptors = try TestPipe.make()
        let flags = fcntl(descriptors.write, F_GETFL)
        _ = fcntl(descriptors.write, F_SETFL, flags | O_NONBLOCK)
        var filler = Array(#"{"filler":""#.utf8)
        filler += Array(repeating: UInt8(ascii: "x"), count: 4096 - filler.count - 3)
        filler += Array(#""}"#.utf8) + [UInt8(ascii: "\n")]
        while filler.withUnsafeBytes({ write(descriptors.write, $0.baseAddress, $0.count) }) > 0 {}
        if !nonBlocking { _ = fcntl(descriptors.write, F_SETFL, flags) }
        return (descriptors.read, descriptors.write)
    }

    /// Reads a descriptor to its end on a plain thread.
    final class Reader: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var data = Data()

        init(_ descriptor: Int32) {
            Thread {
                self.data = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true).readDataToEndOfFile()
                self.done.signal()
            }.start()
        }

        func lines() -> [[String: Any]] {
            done.wait()
            return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    @Test(.timeLimit(.minutes(1)), arguments: [false, true])
    func blockedOutputDropsAndCountsLinesThenReportsThem(nonBlocking: Bool) async throws {
        let pipe = try Self.fullPipe(nonBlocking: nonBlocking)
        let output = LogOutput(fileDescriptor: pipe.write, capacity: Self.capacity)
        output.startBuffering()

        // 100,000 appends from several tasks while nobody reads: if an append waited
        // for the output, this group would never finish (the reader starts after it).
        let peak = await withTaskGroup(of: Int.self) { group in
            for task in 0..<Self.tasks {
                group.addTask {
                    var peak = 0
                    for sequence in 0..<Self.linesPerTask {
                        output.append(#"{"level":"info","task":\#(task),"seq":\#(sequence)}"#.utf8 + [10],
                                      urgent: sequence % 1000 == 0)
                        peak = max(peak, output.bufferedByteCount)
                    }
                    return peak
                }
            }
            return await group.reduce(0) { max($0, $1) }
        }
        #expect(peak <= Self.capacity, "held bytes stay within the ring")
        #expect(output.bufferedByteCount <= Self.capacity)
        let dropped = output.droppedLineCount
        #expect(dropped > 0)

        let reader = Reader(pipe.read)
        output.flush()
        for index in 0..<100 {
            output.append(#"{"level":"info","after":\#(index)}"#.utf8 + [10])
        }
        output.flush()
        #expect(output.droppedLineCount == dropped, "nothing is dropped once the output drains")
        #expect(output.bufferedByteCount == 0)
        close(pipe.write)

        let lines = reader.lines().filter { $0["filler"] == nil }
        let notices = lines.filter { $0["msg"] as? String == "log lines dropped" }
        #expect(!notices.isEmpty)
        #expect(notices.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == dropped)
        for notice in notices {
            #expect(notice["level"] as? String == "warning")
            #expect(notice["logger"] as? String == "swiftlet")
            #expect((notice["ts"] as? String).flatMap(RFC3339Check.parse) != nil)
        }

        var lastSequence = Array(repeating: -1, count: Self.tasks)
        var kept = 0
        for line in lines {
            guard let task = line["task"] as? Int, let sequence = line["seq"] as? Int else { continue }
            #expect(sequence > lastSequence[task], "each task's lines keep their order")
            lastSequence[task] = sequence
            kept += 1
        }
        #expect(kept + dropped == Self.tasks * Self.linesPerTask)

        let afterLines = lines.compactMap { $0["after"] as? Int }
        #expect(afterLines == Array(0..<100), "later lines all arrive, in order")
        let lastNotice = try #require(lines.lastIndex { $0["msg"] as? String == "log lines dropped" })
        let firstAfter = try #require(lines.firstIndex { $0["after"] != nil })
        #expect(lastNotice < firstAfter, "the gap is reported before the lines that follow it")
    }

    @Test func ringBoundsMemoryEvenWhenItNeverDrains() throws {
        let pipe = try Self.fullPipe(nonBlocking: false)
        let output = LogOutput(fileDescriptor: pipe.write, capacity: 4096)
        defer {
            let reader = Reader(pipe.read)
            output.flush()
            close(pipe.write)
            _ = reader.lines()
        }
        let line = Array(repeating: UInt8(ascii: "a"), count: 99) + [10]
        for _ in 0..<1_000 { output.append(line) }
        #expect(output.bufferedByteCount <= 4096)
        #expect(output.droppedLineCount >= 1_000 - 4096 / 100)
        output.append(Array(repeating: UInt8(ascii: "b"), count: 5000) + [10])
        #expect(output.bufferedByteCount <= 4096, "a line larger than the ring is dropped whole")
    }

    @Test func unbufferedLinesAreWrittenWithoutFlush() throws {
        let descriptors = try TestPipe.make()
        defer { close(descriptors.read); close(descriptors.write) }
        let output = LogOutput(fileDescriptor: descriptors.write)
        output.append(Array("{\"n\":1}\n".utf8))
        // The writer thread writes it on its own; read blocks until it does.
        var bytes = [UInt8](repeating: 0, count: 8)
        var received = 0
        while received < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptors.read, $0.baseAddress! + received, 8 - received) }
            try #require(count > 0)
            received += count
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "{\"n\":1}\n")
    }
}

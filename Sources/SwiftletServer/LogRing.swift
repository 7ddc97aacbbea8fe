import SwiftletCore

/// The bookkeeping of `LogOutput`'s fixed-size ring of log bytes; lives under its lock.
///
/// Appenders copy whole lines into the free part of the ring; the writer thread writes
/// the held part out without the lock (appenders never touch held bytes, and only the
/// writer releases them). A line that does not fit is dropped whole and counted, so the
/// ring never holds more than `capacity` bytes and never allocates after start. The
/// first line that fits after a drop is preceded by a `log lines dropped` warning with
/// the count, so the gap is visible exactly where it happened.
struct LogRing: ~Copyable {
    let capacity: Int
    private let storage: UnsafeMutableRawPointer
    /// Offset of the oldest held byte.
    private(set) var head = 0
    /// Bytes held, waiting for the writer.
    private(set) var held = 0
    /// Lines dropped since start (whole lines, never parts).
    private(set) var droppedTotal = 0
    /// Lines dropped since the last `log lines dropped` line.
    private(set) var droppedUnreported = 0
    /// Bytes ever accepted and ever released (written or discarded), for `flush()`.
    private(set) var acceptedBytes: UInt64 = 0
    private(set) var releasedBytes: UInt64 = 0
    /// Reused for each line, so a line costs no allocation once it has grown.
    var scratch: [UInt8] = []

    init(capacity: Int) {
        precondition(capacity >= 4096, "a log buffer below 4 KiB cannot hold a drop notice and a line")
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 1)
        scratch.reserveCapacity(1024)
    }

    deinit { storage.deallocate() }

    /// Copies `scratch` into the ring, after the drop notice if one is pending; drops
    /// the line (and counts it) when the two do not fit. Returns whether it was kept.
    mutating func acceptScratch(nowMilliseconds: () -> Int64) -> Bool {
        if droppedUnreported > 0 {
            let notice = Self.dropNotice(count: droppedUnreported, unixMilliseconds: nowMilliseconds())
            guard held + notice.count + scratch.count <= capacity else { return dropLine() }
            copyIn(notice)
            droppedUnreported = 0
        }
        guard held + scratch.count <= capacity else { return dropLine() }
        copyIn(scratch)
        return true
    }

    /// Places the pending drop notice as soon as there is room for it, so it appears
    /// when writing resumes even if no other line follows.
    mutating func placeDropNoticeIfRoom(nowMilliseconds: Int64) {
        guard droppedUnreported > 0 else { return }
        let notice = Self.dropNotice(count: droppedUnreported, unixMilliseconds: nowMilliseconds)
        guard held + notice.count <= capacity else { return }
        copyIn(notice)
        droppedUnreported = 0
    }

    /// The held bytes that are contiguous in memory from the head: what the writer
    /// writes next, without the lock.
    var contiguousHeld: (start: UnsafeRawPointer, count: Int) {
        (UnsafeRawPointer(storage + head), min(held, capacity - head))
    }

    /// Releases `count` written bytes from the head.
    mutating func release(_ count: Int) {
        precondition(count <= held)
        head = (head + count) % capacity
        held -= count
        releasedBytes += UInt64(count)
    }

    /// Discards every held byte after an error that no retry can cure (closed or broken
    /// output); the lines lost are counted as dropped.
    mutating func discardAll() {
        var lines = 0
        var offset = head
        for _ in 0..<held {
            if storage.load(fromByteOffset: offset, as: UInt8.self) == UInt8(ascii: "\n") { lines += 1 }
            offset = offset + 1 == capacity ? 0 : offset + 1
        }
        releasedBytes += UInt64(held)
        head = 0
        held = 0
        droppedTotal += lines
        droppedUnreported += lines
    }

    private mutating func dropLine() -> Bool {
        droppedTotal += 1
        droppedUnreported += 1
        return false
    }

    private mutating func copyIn(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { source in
            var tail = (head + held) % capacity
            var copied = 0
            while copied < source.count {
                let chunk = min(source.count - copied, capacity - tail)
                (storage + tail).copyMemory(from: source.baseAddress! + copied, byteCount: chunk)
                copied += chunk
                tail = (tail + chunk) % capacity
            }
        }
        held += bytes.count
        acceptedBytes += UInt64(bytes.count)
    }

    /// The warning line in `JSONLogHandler`'s shape:
    /// `{"ts":…,"level":"warning","logger":"swiftlet","msg":"log lines dropped","count":N}`.
    static func dropNotice(count: Int, unixMilliseconds: Int64) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(112)
        line.append(contentsOf: #"{"ts":""#.utf8)
        RFC3339.append(unixMilliseconds: unixMilliseconds, to: &line)
        line.append(contentsOf: #"","level":"warning","logger":"swiftlet","msg":"log lines dropped","count":"#.utf8)
        line.append(contentsOf: String(count).utf8)
        line.append(contentsOf: "}\n".utf8)
        return line
    }
}

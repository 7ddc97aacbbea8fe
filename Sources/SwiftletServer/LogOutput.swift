#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Where JSON log lines go: standard output, through a small buffer once the server runs.
///
/// Writing each line with its own `write(2)` cost about a tenth of a cheap request's CPU
/// at high request rates. While buffering, lines are appended to a buffer that is written
/// out when it holds 32 KB, every 100 ms, when a line at warning level or above arrives,
/// and when the process exits. Lines keep their order. What a `kill -9` can lose is at
/// most the last 100 ms of info-level lines (access log and notices), never a warning or
/// an error. Until `startBuffering()` (start-up, one-shot commands) every line is written
/// at once.
public final class LogOutput: Sendable {
    public static let standardOutput = LogOutput(fileDescriptor: 1)

    private let fileDescriptor: Int32
    private let buffer = Mutex<[UInt8]>([])
    private let buffering = Atomic<Bool>(false)
    private static let flushThreshold = 32 * 1024

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Starts buffering and the background flusher (idempotent).
    public func startBuffering() {
        guard !buffering.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let flusher = Thread { [weak self] in
            while let output = self {
                output.flush()
                usleep(100_000)
            }
        }
        flusher.name = "swiftlet-log-flush"
        flusher.start()
    }

    /// Appends one complete line (ending in a newline).
    public func append(_ line: some Collection<UInt8>, urgent: Bool = false) {
        appendLine(urgent: urgent) { $0.append(contentsOf: line) }
    }

    /// Appends one complete line that `write` adds to the end of the buffer in place, so
    /// a line written on every request needs no allocation of its own. `write` runs under
    /// the buffer's lock: it must only append.
    public func appendLine(urgent: Bool = false, _ write: (inout [UInt8]) -> Void) {
        let now = urgent || !buffering.load(ordering: .relaxed)
        buffer.withLock { buffer in
            write(&buffer)
            if now || buffer.count >= Self.flushThreshold {
                self.write(&buffer)
            }
        }
    }

    /// Writes out everything buffered.
    public func flush() {
        buffer.withLock { buffer in
            if !buffer.isEmpty { write(&buffer) }
        }
    }

    /// Writes the buffer; retries interrupted and would-block writes, and keeps whatever
    /// could not be written for the next attempt instead of dropping it.
    private func write(_ buffer: inout [UInt8]) {
        var offset = 0
        var stalls = 0
        buffer.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let written = posixWrite(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else if written < 0, errno == EAGAIN || errno == EWOULDBLOCK, stalls < 100 {
                    stalls += 1
                    usleep(1_000)
                } else {
                    break
                }
            }
        }
        buffer.removeFirst(offset)
    }
}

private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, bytes, count)
    #elseif canImport(Musl)
    Musl.write(descriptor, bytes, count)
    #else
    Darwin.write(descriptor, bytes, count)
    #endif
}

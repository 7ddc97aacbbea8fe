#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Where JSON log lines go: standard output, through a small buffer.
///
/// Writing each line with its own `write(2)` cost about a tenth of a cheap request's CPU
/// at high request rates. Lines are appended to a buffer instead, which is written out
/// when it holds 32 KB, every 100 ms, when a line at warning level or above arrives, and
/// when the process stops. Lines keep their order. What a `kill -9` can lose is at most
/// the last 100 ms of info-level lines (access log and notices), never a warning or error.
public final class LogOutput: Sendable {
    public static let standardOutput = LogOutput(fileDescriptor: 1)

    private let fileDescriptor: Int32
    private let buffer = Mutex<[UInt8]>([])
    private static let flushThreshold = 32 * 1024

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        buffer.withLock { $0.reserveCapacity(Self.flushThreshold * 2) }
        let flusher = Thread { [self] in
            while true {
                usleep(100_000)
                flush()
            }
        }
        flusher.name = "swiftlet-log-flush"
        flusher.start()
    }

    /// Appends one complete line (ending in a newline).
    public func append(_ line: some Collection<UInt8>, urgent: Bool = false) {
        buffer.withLock { buffer in
            buffer.append(contentsOf: line)
            if urgent || buffer.count >= Self.flushThreshold {
                write(&buffer)
            }
        }
    }

    /// Writes out everything buffered.
    public func flush() {
        buffer.withLock { buffer in
            if !buffer.isEmpty { write(&buffer) }
        }
    }

    private func write(_ buffer: inout [UInt8]) {
        buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = posixWrite(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
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

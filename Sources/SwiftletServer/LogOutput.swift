#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import Synchronization

/// Where JSON log lines go: a file descriptor (standard output), written by a thread of
/// its own so that logging never blocks the caller.
///
/// Callers (event loops included) only copy a line into a fixed ring of
/// `capacity` bytes under a short lock; the writer thread does every `write(2)`. A
/// blocked output (a full pipe nobody reads, a stalled collector) blocks the writer
/// thread only: once the ring is full, new lines are dropped whole and counted
/// (`droppedLineCount`), and when writing resumes a
/// `{"level":"warning","msg":"log lines dropped","count":N}` line marks the gap. Memory
/// is therefore bounded by `capacity`, whatever the output does. Lines keep their order.
///
/// Writing each line with its own `write(2)` cost about a tenth of a cheap request's
/// CPU at high request rates, so once `startBuffering()` is called (when the server
/// runs) the writer waits until 128 KB are held, 100 ms have passed, a line at warning
/// level or above arrives, or `flush()` is called (at exit). What a `kill -9` can lose
/// is at most the last 100 ms of info-level lines, never a warning or an error that the
/// output accepted. Until then (start-up, one-shot commands) every line is handed to
/// the writer at once.
public final class LogOutput: Sendable {
    public static let standardOutput = LogOutput(fileDescriptor: 1)

    /// The ring's size when none is given: room for about 5,000 access-log lines.
    public static let defaultCapacity = 1 << 20
    private static let bufferingInterval = DispatchTimeInterval.milliseconds(100)
    private static let flushTimeout: TimeInterval = 2

    private let fileDescriptor: Int32
    /// Held bytes that make the writer write at once while buffering: 128 KB (one wake-up
    /// of the writer thread per 128 KB keeps its context switches rare), or a quarter of
    /// the ring when that is smaller, so a small ring never fills while waiting.
    private let writeThreshold: Int
    private let ring: Mutex<LogRing>
    private let buffering = Atomic<Bool>(false)
    /// Set when the writer has been asked to write everything held (urgent line,
    /// threshold, unbuffered mode, flush), cleared by the writer when it starts.
    private let writeRequested = Atomic<Bool>(false)
    /// Wakes the writer; rung at most once until the writer answers.
    private let doorbell = DispatchSemaphore(value: 0)
    private let doorbellRung = Atomic<Bool>(false)
    /// Broadcast by the writer after each write, for `flush()`.
    private let progress = NSCondition()

    /// - Parameter capacity: the most bytes of log lines held in memory at once
    ///   (at least 4 KiB); lines beyond it are dropped while the output is blocked.
    public init(fileDescriptor: Int32, capacity: Int = LogOutput.defaultCapacity) {
        self.fileDescriptor = fileDescriptor
        writeThreshold = min(128 * 1024, capacity / 4)
        ring = Mutex(LogRing(capacity: capacity))
        startWriter()
    }

    deinit {
        // The writer holds only a weak reference while it waits: wake it so it ends.
        doorbell.signal()
    }

    /// Bytes held in memory, waiting for the writer; never more than `capacity`.
    public var bufferedByteCount: Int { ring.withLock { $0.held } }

    /// The most bytes this output holds in memory.
    public var capacity: Int { ring.withLock { $0.capacity } }

    /// Lines dropped since start because the ring was full or the output broken.
    public var droppedLineCount: Int { ring.withLock { $0.droppedTotal } }

    /// Starts buffering: lines are written in batches from now on (idempotent).
    public func startBuffering() {
        buffering.store(true, ordering: .releasing)
    }

    /// Appends one complete line (ending in a newline).
    public func append(_ line: some Collection<UInt8>, urgent: Bool = false) {
        appendLine(urgent: urgent) { $0.append(contentsOf: line) }
    }

    /// Appends one complete line that `write` adds to an emptied, reused buffer, so a
    /// line written on every request needs no allocation of its own. `write` runs under
    /// the buffer's lock: it must only append.
    public func appendLine(urgent: Bool = false, _ write: (inout [UInt8]) -> Void) {
        let batching = buffering.load(ordering: .acquiring)
        let wake = ring.withLock { ring -> Wake in
            let wasEmpty = ring.held == 0
            ring.scratch.removeAll(keepingCapacity: true)
            write(&ring.scratch)
            guard ring.acceptScratch(nowMilliseconds: JSONAccessLog.wallClockMilliseconds) else { return .none }
            if urgent || !batching || ring.held >= writeThreshold { return .writeNow }
            // The first held line starts the writer's interval.
            return wasEmpty ? .startInterval : .none
        }
        switch wake {
        case .none: return
        case .startInterval: break
        case .writeNow: writeRequested.store(true, ordering: .releasing)
        }
        ringDoorbell()
    }

    private enum Wake { case none, startInterval, writeNow }

    /// Waits until every line appended before the call is written (or found unwritable),
    /// for at most two seconds, so an exit never hangs on a blocked output.
    public func flush() {
        let target = ring.withLock { $0.acceptedBytes }
        writeRequested.store(true, ordering: .releasing)
        ringDoorbell()
        let deadline = Date(timeIntervalSinceNow: Self.flushTimeout)
        progress.lock()
        defer { progress.unlock() }
        while ring.withLock({ $0.releasedBytes }) < target {
            guard progress.wait(until: deadline) else { return }
        }
    }

    private func ringDoorbell() {
        if !doorbellRung.exchange(true, ordering: .acquiringAndReleasing) {
            doorbell.signal()
        }
    }

    // MARK: The writer thread

    private func startWriter() {
        let doorbell = self.doorbell
        let writer = Thread { [weak self] in
            var deadline: DispatchTime?
            while true {
                let timedOut = doorbell.wait(timeout: deadline ?? .distantFuture) == .timedOut
                guard let output = self else { return }
                deadline = output.serveDoorbell(timedOut: timedOut, deadline: deadline)
            }
        }
        writer.name = "swiftlet-log-writer"
        writer.start()
    }

    /// One wake-up of the writer: writes everything held when asked to or when the
    /// interval has passed; returns when to wake up next without being rung.
    private func serveDoorbell(timedOut: Bool, deadline: DispatchTime?) -> DispatchTime? {
        doorbellRung.store(false, ordering: .releasing)
        let requested = writeRequested.exchange(false, ordering: .acquiringAndReleasing)
        let intervalOver = timedOut || deadline.map { $0 <= .now() } ?? false
        if requested || intervalOver || !buffering.load(ordering: .acquiring) {
            writeHeld()
            // Something is still held after a failed write (the drop notice, lines that
            // came meanwhile): try again after the interval rather than waiting for a
            // new line to ring, so the "at most 100 ms" promise holds.
            return bufferedByteCount > 0 ? .now() + Self.bufferingInterval : nil
        }
        if bufferedByteCount == 0 { return nil }
        return deadline ?? .now() + Self.bufferingInterval
    }

    /// Writes until nothing is held; a blocked output blocks here, on this thread only.
    private func writeHeld() {
        while true {
            let (start, count) = ring.withLock { ring in
                let held = ring.contiguousHeld
                return (UInt(bitPattern: held.start), held.count)
            }
            guard count > 0, let bytes = UnsafeRawPointer(bitPattern: start) else { return }
            let written = writeSome(bytes, count)
            ring.withLock { ring in
                if written > 0 {
                    ring.release(written)
                } else {
                    ring.discardAll()
                }
                ring.placeDropNoticeIfRoom(nowMilliseconds: JSONAccessLog.wallClockMilliseconds())
            }
            progress.lock()
            progress.broadcast()
            progress.unlock()
            if written <= 0 { return }
        }
    }

    /// Writes some of `bytes`; retries interrupted writes and waits for a non-blocking
    /// descriptor to become writable. Returns the bytes written, or 0 when the output
    /// cannot take them (closed, broken).
    private func writeSome(_ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        while true {
            let written = posixWrite(fileDescriptor, bytes, count)
            if written > 0 { return written }
            if written < 0, errno == EINTR { continue }
            if written == 0 || errno == EAGAIN || errno == EWOULDBLOCK {
                var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
                if poll(&descriptor, 1, 1_000) < 0, errno != EINTR { return 0 }
                if descriptor.revents & Int16(POLLNVAL | POLLERR) != 0 { return 0 }
                continue
            }
            return 0
        }
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

import Foundation

/// Starts child processes one at a time. Foundation's `Process.run()` on Linux has crashed
/// (a bad `memcpy` inside `run()`) when several test suites launched processes at the same
/// moment; only the launch is serialised, the processes then run side by side.
enum ProcessLaunch {
    private static let lock = NSLock()

    static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}

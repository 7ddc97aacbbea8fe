import Foundation

/// A pipe whose descriptors close on exec. The test process starts child processes
/// (Redis, Python, curl) from many suites at once, and Foundation's `Process` closes the
/// descriptors a child should not inherit only as they were just before the spawn: a pipe
/// opened by another suite in that moment without close-on-exec would stay open in the
/// child, and the test reading it would never see its end.
enum TestPipe {
    static func make() throws -> (read: Int32, write: Int32) {
        // `pipe2(O_CLOEXEC)` is not visible to Swift here; the flag follows at once.
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else { throw TestSetupError("pipe failed: \(errno)") }
        for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        return (descriptors[0], descriptors[1])
    }
}

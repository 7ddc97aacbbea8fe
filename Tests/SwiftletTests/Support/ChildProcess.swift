import Foundation

/// Blocking work (waiting for a child process, reading a pipe to its end, a socket loop
/// that polls) on a thread of its own instead of Swift's cooperative pool.
///
/// That pool has one thread per core, two on the CI machine. A test that blocks one of
/// them for seconds halves the speed of every other test in the process, and two such
/// tests stall them all: a 3 s header timeout then measured 9.8 s and unrelated HTTP
/// calls ran into their deadlines.
enum Blocking {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result(catching: work)) }.start()
        }
    }
}

/// Starting, waiting for and running child processes from the tests.
enum ChildProcess {
    private static let launchLock = NSLock()

    /// Starts `process`, one launch at a time. Foundation's `Process.run()` on Linux has
    /// crashed (a bad `memcpy` inside it) when several suites launched processes at the
    /// same moment; only the launch is serialised, the processes then run side by side.
    static func launch(_ process: Process) throws {
        try launchLock.withLock { try process.run() }
    }

    /// `launch` from async code, on a thread of its own: the launch lock can be held for a
    /// while when many suites start their servers at once, and a cooperative thread
    /// waiting for it would stall every other test in the process meanwhile.
    static func start(_ process: Process) async throws {
        let box = UncheckedProcess(process)
        try await Blocking.run { try launch(box.process) }
    }

    /// Waits for `process` to exit, off the cooperative pool.
    static func waitForExit(_ process: Process) async {
        let box = UncheckedProcess(process)
        _ = try? await Blocking.run { box.process.waitUntilExit() }
    }

    struct Output: Sendable {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// Runs `executable` to completion with `input` on its standard input (empty when nil).
    /// Both outputs are read side by side, so neither pipe filling up can stall the child;
    /// with `mergingErrors` standard error goes into standard output.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    workingDirectory: String? = nil, input: String? = nil, mergingErrors: Bool = false) async throws -> Output {
        try await Blocking.run {
            try runBlocking(executable, arguments, environment: environment, workingDirectory: workingDirectory,
                            input: input, mergingErrors: mergingErrors)
        }
    }

    /// `run` on the calling thread: only for quick probes where no `await` is possible
    /// (a trait's condition).
    static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                            workingDirectory: String? = nil, input: String? = nil, mergingErrors: Bool = false) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let output = Pipe(), errors = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = mergingErrors ? output : errors
        process.standardInput = stdin
        try launch(process)
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let errorReader = mergingErrors ? nil : PipeReader(errors)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, standardOutput: String(decoding: data, as: UTF8.self),
                      standardError: errorReader?.waitForEnd() ?? "")
    }
}

/// `Process` crosses into the blocking thread; only that thread touches it meanwhile.
private struct UncheckedProcess: @unchecked Sendable {
    let process: Process
    init(_ process: Process) { self.process = process }
}

/// Reads a pipe to its end on a thread of its own.
private final class PipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ pipe: Pipe) {
        Thread {
            self.data = pipe.fileHandleForReading.readDataToEndOfFile()
            self.done.signal()
        }.start()
    }

    func waitForEnd() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

import Foundation
import Testing

/// A `redis-server` of its own for a test: started on a free loopback port with no
/// persistence, killed at the end, and restartable on the same port (the client's
/// reconnect tests kill it mid-test).
///
/// The test command installs Redis; under `CI=true` a missing `redis-server` fails the
/// test instead of skipping it.
final class TestRedisServer: @unchecked Sendable {
    /// Chosen free at start; a server that loses the race for it to another test's
    /// server moves to a fresh port (only when the test did not ask for one).
    private(set) var port: Int
    private let portWasChosen: Bool
    let extraArguments: [String]
    private var process: Process?
    private let directory: TemporaryDirectory

    static var executable: String? {
        ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Redis tests run where a server can be started, and always under CI.
    static var isAvailable: Bool {
        executable != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    init(port: Int? = nil, arguments: [String] = []) throws {
        self.port = try port ?? LoopbackPorts.free()
        portWasChosen = port == nil
        extraArguments = arguments
        directory = try TemporaryDirectory()
    }

    static func start(arguments: [String] = []) async throws -> TestRedisServer {
        let server = try TestRedisServer(arguments: arguments)
        try await server.start()
        return server
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    func start() async throws {
        for attempt in 1...5 {
            if try await launch() { return }
            guard portWasChosen, attempt < 5, log.contains("Address already in use") else { break }
            port = try LoopbackPorts.free()
        }
        throw TestSetupError("redis-server exited: \(log)")
    }

    /// Ready means this process says so in its own log: a port that merely accepts
    /// connections may belong to another test's server that took it first.
    private func launch() async throws -> Bool {
        guard let executable = Self.executable else { throw TestSetupError("redis-server is not installed (scripts/test.sh installs it)") }
        try? FileManager.default.removeItem(atPath: directory.path + "/redis.log")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", directory.path, "--logfile", directory.path + "/redis.log"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try await ChildProcess.start(process)
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                self.process = nil
                return false
            }
            if log.contains("Ready to accept connections") { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestSetupError("redis-server did not start: \(log)")
    }

    /// SIGKILL: the server disappears with its connections, as in a crash. Returns once the
    /// process is gone (its port and connections with it), polling instead of blocking a
    /// thread of the cooperative pool in `waitUntilExit`.
    func kill() async {
        guard let process, process.isRunning else { return }
        let pid = process.processIdentifier
        Foundation.kill(pid, SIGKILL)
        self.process = nil
        let deadline = ContinuousClock.now + .seconds(10)
        while Self.isAlive(pid), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// SIGKILL without waiting (Foundation reaps the process), and the data directory removed.
    func stop() {
        if let process, process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process = nil
        directory.remove()
    }

    /// A process that has died is gone or a zombie waiting to be reaped; either way it holds
    /// no port or connection any more.
    private static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(end, offsetBy: 2)] != "Z"
    }

    var log: String { (try? String(contentsOfFile: directory.path + "/redis.log", encoding: .utf8)) ?? "" }
}

import Foundation
import Testing

/// A `redis-server` of its own for a test: started on a free loopback port with no
/// persistence, killed at the end, and restartable on the same port (the client's
/// reconnect tests kill it mid-test).
///
/// The test command installs Redis; under `CI=true` a missing `redis-server` fails the
/// test instead of skipping it.
final class TestRedisServer: @unchecked Sendable {
    let port: Int
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
        self.port = try port ?? Self.freePort()
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
        guard let executable = Self.executable else { throw TestSetupError("redis-server is not installed (scripts/test.sh installs it)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", directory.path, "--logfile", directory.path + "/redis.log"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if Self.accepts(port: port) { return }
            guard process.isRunning else { throw TestSetupError("redis-server exited: \(log)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestSetupError("redis-server did not start: \(log)")
    }

    /// SIGKILL: the server disappears with its connections, as in a crash.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func stop() {
        kill()
        directory.remove()
    }

    var log: String { (try? String(contentsOfFile: directory.path + "/redis.log", encoding: .utf8)) ?? "" }

    static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw TestSetupError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

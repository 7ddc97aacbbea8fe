import AsyncHTTPClient
import Foundation
import Testing

/// The real `swiftlet` binary, as a user runs it.
@Suite("swiftlet process", .serialized)
struct ProcessTests {
    @Test("config check names an invalid key and exits non-zero")
    func configCheckRejectsInvalidValue() async throws {
        let result = try await SwiftletProcess.run(["config", "check"], environment: ["SWIFTLET_HTTP_PORT": "abc"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("http.port"))
        #expect(result.standardError.contains("SWIFTLET_HTTP_PORT"))
    }

    @Test("config check prints the effective configuration with secrets masked")
    func configCheckMasksSecrets() async throws {
        let result = try await SwiftletProcess.run(
            ["config", "check", "--port", "9999"],
            environment: ["SWIFTLET_STORAGE_POSTGRES_URL": "postgres://app:s3cret@127.0.0.1/app?sslmode=disable"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("9999"))
        #expect(!result.standardOutput.contains("s3cret"))
        #expect(result.standardOutput.contains("configuration OK"))
    }

    @Test("serve with no configuration: ready, data directory, SIGTERM exits 0, restart keeps data")
    func serveStopRestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        let first = try SwiftletProcess.start(["serve", "--port", "0"], workingDirectory: directory.path)
        let port = try await first.waitForPort()
        #expect(try await SwiftletProcess.get("http://127.0.0.1:\(port)/health/ready") == 200)
        #expect(FileManager.default.fileExists(atPath: directory.path + "/data/swiftlet.sqlite"))
        // The serving loop's own headers, on the router path and on the inline lane.
        for request in ["GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"] {
            let reply = try #require(try await RawConnection.open(port: port).exchange(request, responses: 1).first)
            #expect(reply.status == 200)
            #expect(reply.headers["server"] == "swiftlet")
            #expect(reply.headers["date"]?.hasSuffix(" GMT") == true)
            #expect(reply.headers["x-request-id"]?.isEmpty == false)
        }
        #expect(first.output.contains("migration applied"))
        #expect(try await first.terminate() == 0)
        #expect(first.output.contains(#""msg":"stopped""#))
        #expect(first.output.contains(#""msg":"request","#) && first.output.contains(#""path":"/health/ready""#),
                "buffered access-log lines are written out at shutdown")

        let second = try SwiftletProcess.start(["serve", "--port", "0"], workingDirectory: directory.path)
        let secondPort = try await second.waitForPort()
        #expect(try await SwiftletProcess.get("http://127.0.0.1:\(secondPort)/health/ready") == 200)
        #expect(!second.output.contains("migration applied"), "the schema from the first run is still there")
        #expect(try await second.terminate() == 0)
    }

    @Test("admin create-key prints a key once; revoke-key ends it")
    func adminKeyCommands() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let environment = ["SWIFTLET_STORAGE_SQLITE_PATH": directory.path + "/data/swiftlet.sqlite", "SWIFTLET_LOG_LEVEL": "warning"]
        let created = try await SwiftletProcess.run(["admin", "create-key", "--name", "ops"], environment: environment)
        #expect(created.status == 0)
        let key = created.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("swk_") && key.count > 40)
        let duplicate = try await SwiftletProcess.run(["admin", "create-key", "--name", "ops"], environment: environment)
        #expect(duplicate.status == 1)
        #expect(duplicate.standardError.contains("admin.key_exists"))
        let listed = try await SwiftletProcess.run(["admin", "list-keys"], environment: environment)
        #expect(listed.standardOutput.contains("ops\tactive"))
        #expect(!listed.standardOutput.contains(key))
        #expect(try await SwiftletProcess.run(["admin", "revoke-key", "ops"], environment: environment).status == 0)
        #expect(try await SwiftletProcess.run(["admin", "revoke-key", "ops"], environment: environment).status == 1)
        #expect(try await SwiftletProcess.run(["admin", "create-key", "--name", "bad name!"], environment: environment).status != 0)
    }

    @Test("serve refuses to start on an invalid configuration")
    func serveRefusesInvalidConfiguration() async throws {
        let result = try await SwiftletProcess.run(["serve"], environment: ["SWIFTLET_STORAGE_ENGINE": "oracle"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("storage.engine"))
    }
}

/// Runs the `swiftlet` executable built beside the test bundle.
final class SwiftletProcess: @unchecked Sendable {
    struct Result {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    static var executable: String {
        get throws {
            let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            let path = directory.appendingPathComponent("swiftlet").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestSetupError("\(path) not found: build it first (`swift build --build-tests`)")
            }
            return path
        }
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        // Many servers run at once here: each metrics listener takes a port of its own.
        let output = try await ChildProcess.run(
            try executable, arguments,
            environment: cleanEnvironment().merging(["SWIFTLET_METRICS_LISTEN": "127.0.0.1:0"]) { _, new in new }
                .merging(environment) { _, new in new })
        return Result(status: output.status, standardOutput: output.standardOutput, standardError: output.standardError)
    }

    /// The environment without any `SWIFTLET_` settings of the machine running the tests.
    static func cleanEnvironment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWIFTLET_") }
    }

    static func start(_ arguments: [String], workingDirectory: String, environment: [String: String] = [:]) throws -> SwiftletProcess {
        let instance = SwiftletProcess()
        let process = instance.process
        process.executableURL = URL(fileURLWithPath: try executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        // Many servers run at once here: each metrics listener takes a port of its own.
        process.environment = cleanEnvironment().merging(["SWIFTLET_METRICS_LISTEN": "127.0.0.1:0"]) { _, new in new }
            .merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try ChildProcess.launch(process)
        // A plain thread doing blocking reads until end of file, not a `readabilityHandler`:
        // Foundation's dispatch source stays registered after the pipe is closed, and a
        // reused descriptor number can then crash the dispatch manager thread. The thread
        // keeps the pipe (and so its descriptor) alive until the child's output ends.
        let reader = Thread { [pipe] in
            let descriptor = pipe.fileHandleForReading.fileDescriptor
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    instance.lock.withLock { instance.buffer.append(contentsOf: chunk[0..<count]) }
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
        }
        reader.start()
        return instance
    }

    let process = Process()
    private let lock = NSLock()
    private var buffer = Data()

    var output: String { lock.withLock { String(decoding: buffer, as: UTF8.self) } }

    /// Waits for the `listening` log line and returns its port.
    func waitForPort(timeout: Duration = .seconds(20)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for line in output.split(separator: "\n") where line.contains(#""msg":"listening""#) {
                if let range = line.range(of: #""port":"#) {
                    let digits = line[range.upperBound...].prefix(while: \.isNumber)
                    if let port = Int(digits) { return port }
                }
            }
            guard process.isRunning else { throw TestSetupError("swiftlet exited early:\n\(output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("swiftlet did not start listening:\n\(output)")
    }

    /// Sends SIGTERM and returns the exit status.
    func terminate(timeout: Duration = .seconds(15)) async throws -> Int32 {
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw TestSetupError("swiftlet did not exit after SIGTERM:\n\(output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    static func get(_ url: String) async throws -> UInt {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        return response.status.code
    }
}

/// `swiftlet sandbox credentials`: what a team needs to point its own SDK at the sandboxes.
@Suite("swiftlet sandbox credentials", .serialized)
struct SandboxCredentialsCommandTests {
    @Test("prints the sandbox app, merchant, serials and APIv3 key, and writes the key files an SDK loads")
    func printsCredentialsAndWritesFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let environment = ["SWIFTLET_DATA_DIRECTORY": directory.path + "/data", "SWIFTLET_LOG_LEVEL": "warning"]
        let result = try await SwiftletProcess.run(["sandbox", "credentials"], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        var values: [String: String] = [:]
        for line in result.standardOutput.split(separator: "\n") {
            guard let gap = line.range(of: "  ") else { continue }
            values[String(line[..<gap.lowerBound])] = line[gap.upperBound...].trimmingCharacters(in: .whitespaces)
        }
        #expect(values["AppID"] == "wx00000000sandbox")
        #expect(values["AppSecret"] == "sandbox-app-secret-not-for-production")
        #expect(values["merchant id (mchid)"] == "1900000109")
        #expect(values["APIv3 key"]?.count == 32)
        #expect(values["WeChat Pay public key id"]?.hasPrefix("PUB_KEY_ID_") == true)
        #expect(values["merchant certificate serial"]?.count == 40)
        for name in ["merchant private key file", "merchant certificate file", "WeChat Pay public key file", "platform certificate file"] {
            let path = try #require(values[name], "\(name)")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.hasPrefix("-----BEGIN "), "\(name) is PEM")
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            #expect(mode == 0o600, "\(name) readable by its owner only")
        }
        // The same merchant on the next call: the one `serve` uses.
        let again = try await SwiftletProcess.run(["sandbox", "credentials"], environment: environment)
        #expect(again.standardOutput == result.standardOutput)

        let realApp = try await SwiftletProcess.run(["sandbox", "credentials"], environment: environment.merging([
            "SWIFTLET_WECHAT_SANDBOX": "false", "SWIFTLET_WECHAT_APP_ID": "wx1234567890abcdef",
            "SWIFTLET_WECHAT_APP_SECRET": "0123456789abcdef0123456789abcdef",
        ]) { $1 })
        #expect(realApp.status == 1, "\(realApp.standardError)")
        #expect(realApp.standardError.contains("sandboxes are off"))
        #expect(!realApp.standardOutput.contains("0123456789abcdef"), "a real secret is never printed")
    }
}

import Foundation

/// nginx configured with `deploy/nginx/swiftlet-upstream.conf` exactly as shipped, but for
/// the addresses: its `listen` line and its node lines are replaced with the ports a test
/// picked. Everything nginx writes (pid, logs, temporary files) stays in one directory.
enum NginxSite {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let upstreamFile = repositoryRoot + "/deploy/nginx/swiftlet-upstream.conf"

    /// The shipped file with `listen` on `listenPort` and one node line per port (each
    /// keeping the parameters of the shipped first node line: `max_fails`, `fail_timeout`).
    /// Nil leaves that part as shipped.
    static func upstreamConfiguration(listenPort: Int? = nil, nodePorts: [Int]? = nil) throws -> String {
        let shipped = try String(contentsOfFile: upstreamFile, encoding: .utf8)
        var lines: [String] = []
        var inUpstream = false
        var nodeLinesSeen = 0
        var listenLinesSeen = 0
        for line in shipped.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("upstream swiftlet_nodes") { inUpstream = true }
            if inUpstream, trimmed == "}" { inUpstream = false }
            if inUpstream, trimmed.hasPrefix("server "), trimmed.hasSuffix(";") {
                nodeLinesSeen += 1
                guard let nodePorts else { lines.append(line); continue }
                guard nodeLinesSeen == 1 else { continue }
                let indentation = String(line.prefix { $0 == " " })
                let fields = trimmed.dropLast().split(separator: " ")
                let parameters = fields.dropFirst(2).joined(separator: " ")
                lines += nodePorts.map { "\(indentation)server 127.0.0.1:\($0) \(parameters);" }
            } else if trimmed.hasPrefix("listen "), trimmed.hasSuffix(";") {
                listenLinesSeen += 1
                let indentation = String(line.prefix { $0 == " " })
                lines.append(listenPort.map { "\(indentation)listen 127.0.0.1:\($0);" } ?? line)
            } else {
                lines.append(line)
            }
        }
        guard nodeLinesSeen >= 1, listenLinesSeen == 1 else {
            throw TestSetupError("\(upstreamFile): expected node lines in `upstream swiftlet_nodes` and one `listen` line")
        }
        return lines.joined(separator: "\n")
    }

    /// Writes `nginx.conf` (a minimal main configuration that includes the upstream file)
    /// and `swiftlet-upstream.conf` into `directory`; returns the path of `nginx.conf`.
    static func writeConfiguration(in directory: String, listenPort: Int? = nil, nodePorts: [Int]? = nil) throws -> String {
        try upstreamConfiguration(listenPort: listenPort, nodePorts: nodePorts)
            .write(toFile: directory + "/swiftlet-upstream.conf", atomically: true, encoding: .utf8)
        // Temporary-file paths for every module this nginx has, so nothing is written
        // under /var/lib/nginx (not writable for a non-root user).
        let version = (try? ExternalTool.probe(try ExternalTool.require("nginx"), ["-V"]).text) ?? ""
        let temporaryPaths = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].filter { module in
            module == "client_body" || module == "proxy" || !version.contains("--without-http_\(module)_module")
        }.map { "    \($0)_temp_path \(directory)/temp-\($0);" }.joined(separator: "\n")
        let main = """
            daemon off;
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log warn;
            events {
                worker_connections 1024;
            }
            http {
                access_log \(directory)/access.log;
            \(temporaryPaths)
                include swiftlet-upstream.conf;
            }

            """
        let path = directory + "/nginx.conf"
        try main.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `nginx -t` on the configuration in `directory`.
    static func check(directory: String) async throws -> ExternalTool.Output {
        try await ExternalTool.run(try ExternalTool.require("nginx"),
                             ["-t", "-p", directory, "-c", directory + "/nginx.conf", "-e", directory + "/error.log"])
    }
}

/// nginx as a child process of the test (`daemon off;`), stopped by `stop()`.
final class NginxProcess: @unchecked Sendable {
    let directory: String
    let port: Int
    private let process = Process()

    /// Starts nginx on `port` in front of `nodePorts` and waits until it proxies
    /// `GET /health/live` to a node.
    init(directory: String, port: Int, nodePorts: [Int]) async throws {
        self.directory = directory
        self.port = port
        let configuration = try NginxSite.writeConfiguration(in: directory, listenPort: port, nodePorts: nodePorts)
        process.executableURL = URL(fileURLWithPath: try ExternalTool.require("nginx"))
        process.arguments = ["-p", directory, "-c", configuration, "-e", directory + "/error.log"]
        _ = FileManager.default.createFile(atPath: directory + "/stderr.log", contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: directory + "/stderr.log") ?? FileHandle.nullDevice
        try await ChildProcess.start(process)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if (try? await SwiftletProcess.get("http://127.0.0.1:\(port)/health/live")) == 200 { return }
            guard process.isRunning else { throw TestSetupError("nginx exited:\n\(errorLog)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw TestSetupError("nginx did not answer on port \(port):\n\(errorLog)")
    }

    /// What nginx logged (its error log and anything written before the log was open).
    var errorLog: String {
        ["/stderr.log", "/error.log"].compactMap { try? String(contentsOfFile: directory + $0, encoding: .utf8) }.joined()
    }

    /// SIGQUIT (finish requests in flight, then exit); SIGKILL if it is still there after 5 s.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGQUIT)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

import Foundation

/// Programs the deployment and cluster tests run (nginx, python3 with PyYAML). The test
/// command installs them; a test that needs one runs when it is present, and always under
/// `CI=true`, where a missing tool is a failure, never a skip.
enum ExternalTool {
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The executable `name` on PATH, or in the sbin directories where nginx is installed
    /// but which a non-root PATH often lacks.
    static func path(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin"]
        return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func require(_ name: String) throws -> String {
        guard let path = path(name) else {
            throw TestSetupError("\(name) is not installed (scripts/test.sh installs it)")
        }
        return path
    }

    /// Whether a test needing these tools runs: all present, or CI (where it then fails).
    static func enabled(_ names: String...) -> Bool {
        if isCI || names.allSatisfy({ path($0) != nil }) { return true }
        let missing = names.filter { path($0) == nil }.joined(separator: ", ")
        FileHandle.standardError.write(Data("note: \(missing) not installed; tests that need it not run (use scripts/test.sh)\n".utf8))
        return false
    }

    struct Output {
        let status: Int32
        let text: String
    }

    /// Runs `executable` to completion, standard output and error together.
    static func run(_ executable: String, _ arguments: [String], input: String? = nil) async throws -> Output {
        let result = try await ChildProcess.run(executable, arguments, input: input, mergingErrors: true)
        return Output(status: result.status, text: result.standardOutput)
    }

    /// `run` on the calling thread, for a quick check where no `await` is possible.
    static func probe(_ executable: String, _ arguments: [String]) throws -> Output {
        let result = try ChildProcess.runBlocking(executable, arguments, mergingErrors: true)
        return Output(status: result.status, text: result.standardOutput)
    }
}

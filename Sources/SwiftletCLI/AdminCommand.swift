import ArgumentParser
import Foundation
import SwiftletConfig
import SwiftletCore
import SwiftletHTTP
import SwiftletServer

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operator tasks: admin API keys for /admin/v1, webhook endpoints.",
        subcommands: [CreateKey.self, RevokeKey.self, ListKeys.self, WebhooksCommand.self, SigningKeysCommand.self])

    struct CreateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-key",
            abstract: "Create an admin API key and print it once; only its hash is stored.")
        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: "A unique name for the key (1–64 characters: letters, digits, . _ -).")
        var name: String

        func validate() throws {
            guard (1...64).contains(name.count),
                  name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
                throw ValidationError("--name must be 1–64 characters of letters, digits, '.', '_' or '-'")
            }
        }

        func run() async throws {
            try await withMigratedStorage(options) { storage in
                let key = SecretToken.generate(prefix: AdminKeys.prefix)
                _ = try await storage.adminKeys.create(name: name, keyHash: SecretToken.hash(key), now: Date())
                print(key)
                FileHandle.standardError.write(Data("admin key '\(name)' created; store it now, it will not be shown again\n".utf8))
            }
        }
    }

    struct RevokeKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-key", abstract: "Revoke an admin API key by name.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The key's name.") var name: String

        func run() async throws {
            try await withMigratedStorage(options) { storage in
                guard try await storage.adminKeys.revoke(name: name, now: Date()) else {
                    throw CLIFailure("no active admin key named '\(name)'")
                }
                print("admin key '\(name)' revoked")
            }
        }
    }

    struct ListKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-keys", abstract: "List admin API keys (names only).")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await withMigratedStorage(options) { storage in
                for key in try await storage.adminKeys.list() {
                    print("\(key.name)\t\(key.revokedAt == nil ? "active" : "revoked")\tcreated \(key.createdAt)")
                }
            }
        }
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Opens the configured storage as `serve` would (SQLite migrates itself), runs `body`,
/// closes it; failures are printed and exit 1.
func withMigratedStorage(_ options: ConfigOptions, _ body: (any StorageEngine) async throws -> Void) async throws {
    try await withMigratedStorage(options) { _, storage in try await body(storage) }
}

/// The same, with the loaded configuration.
func withMigratedStorage(
    _ options: ConfigOptions, _ body: (SwiftletConfiguration, any StorageEngine) async throws -> Void
) async throws {
    let config = try await options.load()
    let logger = ProcessLogging.bootstrap(config)
    let storage: any StorageEngine
    do {
        storage = try await StorageFactory.openForServing(config, logger: logger)
    } catch {
        FileHandle.standardError.write(Data("cannot open storage: \(error)\n".utf8))
        throw ExitCode(1)
    }
    do {
        try await body(config, storage)
        try await storage.shutdown()
    } catch {
        try? await storage.shutdown()
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(1)
    }
}

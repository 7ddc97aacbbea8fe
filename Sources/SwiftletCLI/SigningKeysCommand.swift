import ArgumentParser
import Foundation
import SwiftletConfig
import SwiftletCore
import SwiftletServer

/// `swiftlet admin signing-keys …`: the CLI twin of `/admin/v1/signing-keys`, calling the
/// same `SigningKeyService` on the configured database. Output is tab-separated lines; a
/// secret is printed once, on its own line, as the API shows it once.
struct SigningKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signing-keys",
        abstract: "Keys client apps sign requests with: create, list, rotate, revoke.",
        subcommands: [Create.self, List.self, Rotate.self, Revoke.self])

    static func run(_ options: ConfigOptions, _ body: (SigningKeyService) async throws -> Void) async throws {
        try await withMigratedStorage(options) { config, storage in
            try await body(SigningKeyService(keys: storage.signingKeys, clock: .system, overlap: config.signing.secretOverlapSeconds))
        }
    }

    static func line(_ key: SigningKey) -> String {
        [key.id, key.revokedAt == nil ? "active" : "revoked", key.name, RFC3339.string(key.createdAt),
         key.previousSecretValidUntil.map { "previous secret until " + RFC3339.string($0) } ?? ""].joined(separator: "\t")
    }

    static func printIssued(_ issued: IssuedSigningKey) {
        print(line(issued.key))
        print(issued.secret)
        FileHandle.standardError.write(Data("store the secret now; it will not be shown again\n".utf8))
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; prints it, then its secret (shown once).")
        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: "Which client app holds it (unique among active keys).") var name: String

        func run() async throws {
            try await SigningKeysCommand.run(options) { SigningKeysCommand.printIssued(try await $0.create(name: name)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every key (id, state, name, created, overlap), never a secret.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await SigningKeysCommand.run(options) { service in
                for key in try await service.list() { print(SigningKeysCommand.line(key)) }
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A new secret, printed once; the old one keeps verifying for signing.secretOverlap.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The key id (ck_…).") var id: String

        func run() async throws {
            try await SigningKeysCommand.run(options) { SigningKeysCommand.printIssued(try await $0.rotate(id: id)) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: its signatures stop verifying (within 5 s on every node).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The key id (ck_…).") var id: String

        func run() async throws {
            try await SigningKeysCommand.run(options) { try await $0.revoke(id: id) }
        }
    }
}

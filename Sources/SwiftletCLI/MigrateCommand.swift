import ArgumentParser
import Foundation
import Logging
import SwiftletMigrations
import SwiftletServer

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Inspect or apply the schema migrations compiled into this binary.",
        subcommands: [Status.self, Up.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List migrations and whether each is applied.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try await options.load()
            let logger = ProcessLogging.bootstrap(config)
            let (runner, storage) = try await StorageFactory.openForMigration(config, logger: logger)
            defer { Task { try? await storage.shutdown() } }
            do {
                let statuses = try await runner.status()
                for status in statuses {
                    let when = status.appliedAtMilliseconds.map { " at " + ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? ""
                    print("\(status.version)\t\(status.name)\t\(status.state.rawValue)\(when)")
                }
                let pending = statuses.filter { $0.state == .pending }.count
                print("\(storage.name): \(statuses.count - pending) applied, \(pending) pending")
                try await storage.shutdown()
            } catch {
                try? await storage.shutdown()
                FileHandle.standardError.write(Data("migrate status failed: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply every pending migration, each in its own transaction.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try await options.load()
            let logger = ProcessLogging.bootstrap(config)
            let (runner, storage) = try await StorageFactory.openForMigration(config, logger: logger)
            do {
                let applied = try await runner.migrate()
                for migration in applied {
                    print("applied \(migration.version)\t\(migration.name)")
                }
                print("\(storage.name): \(applied.count) migration(s) applied, schema is current")
                try await storage.shutdown()
            } catch {
                try? await storage.shutdown()
                FileHandle.standardError.write(Data("migrate up failed: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

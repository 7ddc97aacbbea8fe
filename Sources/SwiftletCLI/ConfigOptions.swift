import ArgumentParser
import Foundation
import Logging
import SwiftletConfig
import SwiftletServer

/// Flags shared by every command. A flag beats `SWIFTLET_…` environment variables, which
/// beat the config file, which beats the built-in defaults.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (.yaml, .yml or .json). Default: $SWIFTLET_CONFIG if set.")
    var config: String?

    @Option(name: .long, help: "development, test or production (profile).")
    var profile: String?

    @Option(name: .long, help: "Listen address (http.host).")
    var host: String?

    @Option(name: .long, help: "Listen port (http.port).")
    var port: String?

    @Option(name: .customLong("storage"), help: "sqlite or postgres (storage.engine).")
    var storageEngine: String?

    @Option(name: .customLong("sqlite-path"), help: "SQLite file (storage.sqlite.path).")
    var sqlitePath: String?

    @Option(name: .customLong("postgres-url"), help: "PostgreSQL URL (storage.postgres.url).")
    var postgresURL: String?

    @Option(name: .customLong("log-level"), help: "Log level (log.level).")
    var logLevel: String?

    var overrides: [String: String] {
        var values: [String: String] = [:]
        values["profile"] = profile
        values["http.host"] = host
        values["http.port"] = port
        values["storage.engine"] = storageEngine
        values["storage.sqlite.path"] = sqlitePath
        values["storage.postgres.url"] = postgresURL
        values["log.level"] = logLevel
        return values
    }

    /// Loads and validates; on failure prints every problem to standard error and exits 2.
    func load() async throws -> SwiftletConfiguration {
        do {
            return try await ConfigurationLoader.load(ConfigurationSources(
                filePath: config, environment: ProcessInfo.processInfo.environment, overrides: overrides))
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}

enum ProcessLogging {
    /// Installs the process-wide log handler once; tests never call this.
    static func bootstrap(_ config: SwiftletConfiguration) -> Logger {
        let level = Logger.Level(rawValue: config.log.level.rawValue) ?? .info
        switch config.log.format {
        case .json:
            // With tracing on, lines written inside a span carry its trace_id and span_id.
            let traced = config.tracing.enabled ? SwiftletTracing.loggingMetadataProvider : nil
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label, level: level)
                handler.metadataProvider = traced
                return handler
            }
            // Buffered lines are written out however the process ends normally.
            atexit { LogOutput.standardOutput.flush() }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardOutput(
                    label: label, metadataProvider: config.tracing.enabled ? SwiftletTracing.loggingMetadataProvider : nil)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: "swiftlet")
    }
}

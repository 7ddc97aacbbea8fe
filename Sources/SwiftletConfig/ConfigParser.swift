import Foundation
import SwiftletPostgres

/// Turns raw text values into the typed configuration, collecting every problem
/// instead of stopping at the first.
struct ConfigParser {
    let lookup: (String) -> String?
    private(set) var problems: [ConfigurationError.Problem] = []

    init(lookup: @escaping (String) -> String?) {
        self.lookup = lookup
    }

    mutating func parse() -> SwiftletConfiguration {
        var config = SwiftletConfiguration()
        config.profile = choice("profile", default: .development)
        if config.profile == .production { config.http.host = "0.0.0.0" }
        if config.profile == .test { config.log.level = .warning }

        config.http.host = string("http.host", default: config.http.host)
        config.http.port = integer("http.port", default: config.http.port, in: 0...65535)
        config.http.maxBodyBytes = integer("http.maxBodySize", default: config.http.maxBodyBytes, in: 1024...(1 << 31))
        config.http.idleTimeoutSeconds = seconds("http.idleTimeout", default: config.http.idleTimeoutSeconds)
        config.http.headerTimeoutSeconds = seconds("http.headerTimeout", default: config.http.headerTimeoutSeconds)
        config.http.bodyTimeoutSeconds = seconds("http.bodyTimeout", default: config.http.bodyTimeoutSeconds)
        config.http.shutdownTimeoutSeconds = seconds("http.shutdownTimeout", default: config.http.shutdownTimeoutSeconds)

        config.log.level = choice("log.level", default: config.log.level)
        config.log.format = choice("log.format", default: config.log.format)
        config.log.accessLog = boolean("log.accessLog", default: config.log.accessLog)

        config.storage.engine = choice("storage.engine", default: config.storage.engine)
        config.storage.autoMigrate = boolean("storage.autoMigrate", default: config.storage.autoMigrate)
        config.storage.sqlitePath = string("storage.sqlite.path", default: config.storage.sqlitePath)
        config.storage.sqliteReaders = integer("storage.sqlite.readers", default: config.storage.sqliteReaders, in: 1...64)
        config.storage.sqliteBusyTimeoutMilliseconds = integer(
            "storage.sqlite.busyTimeout", default: config.storage.sqliteBusyTimeoutMilliseconds, in: 0...600_000)
        config.storage.sqliteSynchronous = choice("storage.sqlite.synchronous", default: config.storage.sqliteSynchronous)
        if let url = lookup("storage.postgres.url"), !url.isEmpty {
            do {
                _ = try PostgresURL(parsing: url)
                config.storage.postgresURL = url
            } catch {
                problems.append(.init(key: "storage.postgres.url", message: error.description))
            }
        }
        config.storage.postgresPoolSize = integer("storage.postgres.poolSize", default: config.storage.postgresPoolSize, in: 1...1000)
        config.storage.postgresConnectTimeoutSeconds = seconds(
            "storage.postgres.connectTimeout", default: config.storage.postgresConnectTimeoutSeconds)
        config.cluster.nodes = integer("cluster.nodes", default: config.cluster.nodes, in: 1...10_000)
        return config
    }

    mutating func string(_ key: String, default value: String) -> String {
        guard let raw = lookup(key) else { return value }
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            problems.append(.init(key: key, message: "must not be empty"))
            return value
        }
        return trimmed
    }

    mutating func integer(_ key: String, default value: Int, in range: ClosedRange<Int>) -> Int {
        guard let raw = lookup(key) else { return value }
        guard let number = Int(raw.trimmingCharacters(in: .whitespaces)) else {
            problems.append(.init(key: key, message: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \"\(raw)\""))
            return value
        }
        guard range.contains(number) else {
            problems.append(.init(key: key, message: "expected an integer in \(range.lowerBound)...\(range.upperBound), got \(number)"))
            return value
        }
        return number
    }

    mutating func seconds(_ key: String, default value: Double) -> Double {
        guard let raw = lookup(key) else { return value }
        guard let number = Double(raw.trimmingCharacters(in: .whitespaces)), number.isFinite, number > 0, number <= 86_400 else {
            problems.append(.init(key: key, message: "expected a number of seconds greater than 0 (at most 86400), got \"\(raw)\""))
            return value
        }
        return number
    }

    mutating func boolean(_ key: String, default value: Bool) -> Bool {
        guard let raw = lookup(key) else { return value }
        switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            problems.append(.init(key: key, message: "expected true or false, got \"\(raw)\""))
            return value
        }
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, default value: Choice) -> Choice
    where Choice.RawValue == String {
        guard let raw = lookup(key) else { return value }
        guard let parsed = Choice(rawValue: raw.trimmingCharacters(in: .whitespaces).lowercased()) else {
            let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            problems.append(.init(key: key, message: "expected one of \(allowed), got \"\(raw)\""))
            return value
        }
        return parsed
    }
}

import Foundation
import SwiftletCore
import Testing

/// The layering of docs/architecture.md, checked against the sources: dependencies
/// point inward, and every module a target imports is declared in Package.swift (so the
/// graph SwiftPM sees is the real one, not one that builds by accident of build order).
@Suite("Module boundaries")
struct ModuleBoundaryTests {
    /// Which Swiftlet modules each module may import (the "may import" column).
    static let allowedSwiftletImports: [String: Set<String>] = [
        "SwiftletCore": [],
        "SwiftletMigrations": [],
        "SwiftletPostgresURL": [],
        "SwiftletWeChat": ["SwiftletResilience", "SwiftletOutboundTelemetry"],
        "SwiftletWeChatPay": ["SwiftletResilience", "SwiftletOutboundTelemetry"],
        "SwiftletOutboundTelemetry": [],
        "SwiftletEventLoopExecutor": [],
        "SwiftletRedis": ["SwiftletEventLoopExecutor"],
        "SwiftletClusterRedis": ["SwiftletCore", "SwiftletRedis"],
        "SwiftletRedisBench": ["SwiftletRedis"],
        "SwiftletBreakerBench": ["SwiftletResilience"],
        "SwiftletResilience": [],
        "SwiftletWebhooks": [],
        "SwiftletWebhookDelivery": ["SwiftletCore", "SwiftletWebhooks", "SwiftletResilience"],
        "SwiftletConfig": ["SwiftletPostgresURL"],
        "SwiftletSQLStorage": ["SwiftletCore", "SwiftletMigrations"],
        "SwiftletSQLite": ["SwiftletCore", "SwiftletMigrations", "SwiftletSQLStorage"],
        "SwiftletPostgres": ["SwiftletCore", "SwiftletMigrations", "SwiftletSQLStorage", "SwiftletPostgresURL", "SwiftletEventLoopExecutor"],
        "SwiftletTokens": ["SwiftletCore"],
        "SwiftletTransport": ["SwiftletCore"],
        "SwiftletHTTP": ["SwiftletCore", "SwiftletTransport"],
        "SwiftletSandbox": ["SwiftletCore", "SwiftletHTTP", "SwiftletTransport"],
        "SwiftletRealtime": ["SwiftletCore", "SwiftletTransport"],
        "SwiftletServer": ["SwiftletCore", "SwiftletConfig", "SwiftletHTTP", "SwiftletTransport", "SwiftletSQLite", "SwiftletPostgres",
                           "SwiftletPostgresURL", "SwiftletSQLStorage", "SwiftletMigrations", "SwiftletWeChat",
                           "SwiftletWeChatPay", "SwiftletTokens", "SwiftletSandbox", "SwiftletRedis",
                           "SwiftletClusterRedis", "SwiftletRealtime", "SwiftletWebhooks", "SwiftletWebhookDelivery",
                           "SwiftletResilience", "SwiftletOutboundTelemetry"],
        "SwiftletCLI": ["SwiftletServer", "SwiftletConfig", "SwiftletCore", "SwiftletHTTP", "SwiftletMigrations", "SwiftletSandbox"],
    ]

    /// Modules that need no declaration: the toolchain's own.
    static let toolchain: Set<String> = [
        "Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Musl", "Darwin", "Synchronization", "_Concurrency",
    ]

    /// C modules a declared package brings with it but does not offer as a product, so no
    /// manifest can name them; each with the product it comes with, which must be declared.
    static let carriedCModules: [String: String] = [
        // SQLite's C API, for the writer's kept statements (SQLiteWriterStatements).
        "VaporCSQLite": "SQLiteNIO",
    ]

    static var sourcesDirectory: URL { URL(fileURLWithPath: RepositoryPaths.root).appendingPathComponent("Sources") }

    /// Every module imported by the Swift files under `Sources/<target>`.
    static func imports(of target: String) throws -> Set<String> {
        let directory = sourcesDirectory.appendingPathComponent(target)
        var modules: Set<String> = []
        let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift" else { continue }
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                guard words.count >= 2, words[0] == "import" else { continue }
                modules.insert(String(words[1]))
            }
        }
        return modules
    }

    static func targets() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sourcesDirectory.path).filter { $0.hasPrefix("Swiftlet") }.sorted()
    }

    @Test func dependenciesPointInward() throws {
        for target in try Self.targets() {
            guard let allowed = Self.allowedSwiftletImports[target] else {
                Issue.record("\(target) has no row in the boundary table: add what it may import (and to docs/architecture.md)")
                continue
            }
            let swiftlet = try Self.imports(of: target).filter { $0.hasPrefix("Swiftlet") }
            #expect(swiftlet.subtracting(allowed).isEmpty,
                    "\(target) imports \(swiftlet.subtracting(allowed).sorted()), which it may not")
        }
    }

    @Test func configurationAndCoreStayFreeOfEnginesAndServers() throws {
        // The instrumentation APIs carry no implementation: the application picks the
        // metrics backend and the tracer.
        let core = try Self.imports(of: "SwiftletCore").subtracting(Self.toolchain)
        #expect(core.isSubset(of: ["Crypto", "Logging", "CoreMetrics", "Tracing"]), "SwiftletCore imports \(core.sorted())")
        let config = try Self.imports(of: "SwiftletConfig").subtracting(Self.toolchain)
        #expect(config.isSubset(of: ["Configuration", "SystemPackage", "SwiftletPostgresURL"]),
                "SwiftletConfig imports \(config.sorted())")
    }

    /// The declaration block of each target in Package.swift, by name.
    static func manifestBlocks() throws -> [String: Substring] {
        let manifest = try String(contentsOfFile: RepositoryPaths.root + "/Package.swift", encoding: .utf8)
        var blocks: [String: Substring] = [:]
        for chunk in manifest.split(separator: "\n        .").dropFirst() {
            guard let nameRange = chunk.range(of: #"name: "Swiftlet[A-Za-z]*""#, options: .regularExpression) else { continue }
            let name = chunk[nameRange].dropFirst("name: \"".count).dropLast()
            blocks[String(name)] = chunk
        }
        return blocks
    }

    @Test func everyImportedModuleIsDeclared() throws {
        let blocks = try Self.manifestBlocks()
        for target in try Self.targets() {
            let block = try #require(blocks[target], "\(target) not found in Package.swift")
            for module in try Self.imports(of: target).subtracting(Self.toolchain) {
                let declared = Self.carriedCModules[module] ?? module
                #expect(block.contains("\"\(declared)\""), "\(target) imports \(module) without declaring it in Package.swift")
            }
        }
    }

    /// This file imports the core and not the HTTP module: it compiles only while the
    /// prefix that the CLI issues and the HTTP guard checks lives in the core. The value
    /// is a contract: keys already handed out start with it.
    @Test func theAdminKeyPrefixBelongsToTheCore() {
        #expect(AdminKeys.prefix == "swk_")
    }
}

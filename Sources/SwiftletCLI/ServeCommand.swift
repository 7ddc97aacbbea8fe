import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SwiftletServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server (default: SQLite under ./data, WeChat sandbox, no setup).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try await options.load()
        let logger = ProcessLogging.bootstrap(config)
        let tracing: (any Service)?
        do {
            tracing = try SwiftletTracing.bootstrap(config)
        } catch {
            logger.critical("start-up failed: tracing", metadata: ["error": "\(error)"])
            LogOutput.standardOutput.flush()
            throw ExitCode(1)
        }
        let app: SwiftletApplication
        var customization = SwiftletCustomization()
        if config.log.format == .json {
            customization.logOutput = LogOutput.standardOutput
            // Buffer only once serving: start-up lines are written as they happen.
            customization.onServerRunning = { _, _ in LogOutput.standardOutput.startBuffering() }
        }
        do {
            app = try await buildApplication(config, logger: logger, customization: customization)
        } catch {
            logger.critical("start-up failed", metadata: ["error": "\(error)"])
            LogOutput.standardOutput.flush()
            throw ExitCode(1)
        }
        var groupConfiguration = ServiceGroupConfiguration(
            // Stopped in reverse order: the tracer's exporter last, flushing the final spans.
            services: (tracing.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? [])
                + [.init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(config.http.shutdownTimeoutSeconds * 1000))
        defer { LogOutput.standardOutput.flush() }
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.notice("stopped")
    }
}

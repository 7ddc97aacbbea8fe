import ArgumentParser
import Foundation
import SwiftletConfig

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Configuration tools.",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the effective configuration and print it with secrets masked; exits non-zero when invalid.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try await options.load()
            let width = config.maskedEntries.map(\.key.count).max() ?? 0
            for entry in config.maskedEntries {
                let environment = ConfigKeys.info(entry.key)?.environmentName ?? ""
                let padded = entry.key.padding(toLength: width, withPad: " ", startingAt: 0)
                print("\(padded)  \(entry.value)    [\(environment)]")
            }
            print("configuration OK (profile \(config.profile.rawValue))")
        }
    }
}

import ArgumentParser

@main
struct SwiftletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "A fast, complete backend for WeChat mini-programs.",
        subcommands: [ServeCommand.self, MigrateCommand.self, ConfigCommand.self, AdminCommand.self, SandboxCommand.self],
        defaultSubcommand: ServeCommand.self)
}

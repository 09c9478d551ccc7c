import ArgumentParser

@main
struct Labeler: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labeler",
        abstract: "An event-sourced ATProto labeler: every moderation fact is an event in an LMDB log.",
        subcommands: [
            ServeCommand.self, ReplayCommand.self, KeysCommand.self, IdentityCommand.self, LoopCommand.self, DebugCommand.self,
        ]
    )
}

/// `--data-dir`, shared by every subcommand that opens the log.
struct DataDirOption: ParsableArguments {
    @Option(name: .long, help: "The data directory (LMDB environment, keys, token).")
    var dataDir: String = "./data"
}

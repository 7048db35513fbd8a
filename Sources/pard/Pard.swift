import ArgumentParser


struct Pard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pard",
        abstract: "Pedestrian attribute recognition (PromptPAR) on the CPU.",
        subcommands: [BenchCommand.self])
}

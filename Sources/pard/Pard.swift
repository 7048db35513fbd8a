import ArgumentParser


struct Pard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pard",
        abstract: "Pedestrian attribute recognition (PromptPAR) on the CPU.",
        subcommands: [ProcessCommand.self, ClassifyCommand.self, ConvertCommand.self, BenchCommand.self, RunCommand.self, WorkerCommand.self, CheckConfigCommand.self,
                      MQTTBenchCommand.self])
}

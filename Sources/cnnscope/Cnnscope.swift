import ArgumentParser

@main
struct Cnnscope: ParsableCommand {
    static let version = "0.2.0"

    /// Progress lines reach a log file as they are printed, not when the buffer fills.
    static func main() {
        Console.lineBuffered()
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "cnnscope",
        abstract: "Profile convolutional neural networks on CPUs.",
        discussion: """
            cnnscope runs the CNN lab's models in Swift with three convolution algorithms (naive, im2col + OpenBLAS \
            SGEMM, Winograd), reads hardware counters per layer where the machine exposes them, and reports where the \
            time goes. Every number says where it came from: counted (PMU), measured (timer), modelled (formula) or \
            simulated (cache simulator).
            """,
        version: Console.versionText,
        subcommands: [
            ProfileCommand.self, LabCommand.self, ReportCommand.self, MachineCommand.self, EventsCommand.self,
            SummaryCommand.self, InferCommand.self, EvaluateCommand.self, DataCommand.self, TrainCommand.self,
            TransferCommand.self,
            CompareCommand.self,
            BenchCommand.self, SweepCommand.self,
            SimulateKernelCommand.self,
        ])
}

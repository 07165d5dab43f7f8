import ArgumentParser
import Foundation
import Sweep

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Profile models on many machines through Slurm job arrays.",
        discussion: """
            `sweep plan` writes a sweep folder: a manifest and one sbatch script per machine group (one job array \
            each, a task per model and setting). `sweep submit` hands the scripts to sbatch and records the job ids; \
            `sweep status` says which tasks are done, running, failed or missing. `cnnscope report --merge SWEEP \
            --output DIR` then builds one cross-machine report.
            """,
        subcommands: [SweepPlanCommand.self, SweepSubmitCommand.self, SweepStatusCommand.self])
}

struct SweepPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Write a sweep folder: manifest.json and one sbatch script per machine group.")

    @Option(help: "The sweep folder to create (new or empty).") var output: String
    @Option(help: "The models, comma-separated (profile names, .yaml or .onnx paths).") var models = "basic-cnn"
    @Option(help: "The algorithms every task profiles, comma-separated, as `profile --algorithms` takes them.")
    var algorithms = "im2col,auto"
    @Option(help: "Batch sizes, comma-separated: one task per batch size.") var batchSizes = "64"
    @Option(help: "Thread counts, comma-separated: one task per thread count.") var threads = "1"
    @Option(help: "A Slurm partition: one machine group each (repeat the option for several).")
    var partition: [String] = []
    @Option(help: "A Slurm constraint (node feature): one machine group each (repeat the option for several).")
    var constraint: [String] = []
    @Option(help: "The cnnscope executable the jobs run, as the nodes see it (default: this one).")
    var executable: String?
    @Argument(
        parsing: .postTerminator, help: "Other `profile` options for every task, after --, e.g. -- --dataset synthetic."
    )
    var profileOptions: [String] = []

    func validate() throws { try Console.validating { _ = try request() } }

    func request() throws -> SweepPlanRequest {
        try SweepPlanRequest(
            folder: output, models: models, algorithms: algorithms, batchSizes: batchSizes, threads: threads,
            partitions: partition, constraints: constraint, passThrough: profileOptions,
            executable: executable ?? Console.executable.standardizedFileURL.path, version: Cnnscope.version)
    }

    func run() throws {
        print(try SweepPlanner.planAndWrite(try request(), createdAt: ISO8601DateFormatter().string(from: Date())))
    }
}

struct SweepSubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Submit a planned sweep with sbatch and record the job ids in its manifest.")

    @Argument(help: "The sweep folder.") var sweep: String
    @Flag(help: "Submit again only the tasks `sweep status` reports as failed.") var failed = false

    func run() throws {
        print(
            try SweepSubmitter(runner: ProcessCommandRunner()).submitText(
                folder: sweep, onlyFailed: failed, now: ISO8601DateFormatter().string(from: Date())))
    }
}

struct SweepStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Summarise a sweep: done, running, pending, failed (with the log) and missing."
    )

    @Argument(help: "The sweep folder.") var sweep: String
    @Flag(help: "Print JSON lines, one per task.") var json = false

    func run() throws {
        print(
            try SweepStatusReader(runner: ProcessCommandRunner()).status(folder: sweep).text(json: json, folder: sweep))
    }
}

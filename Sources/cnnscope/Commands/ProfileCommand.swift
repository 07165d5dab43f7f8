import ArgumentParser
import Profiling

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Profile a model on this machine per layer and per algorithm, and write a hardware report.",
        discussion: """
            For each algorithm and each layer: time (median, min–max, measured), FLOPs (direct and executed) and \
            bytes (minimum and the algorithm's own traffic) by formula, counted values where the PMU allows, \
            arithmetic intensity, attained GFLOP/s, the roof at that intensity from the machine's measured ceilings, \
            the efficiency and the bound. Writes report.json, report.csv, report.md and a self-contained report.html \
            to ~/.local/share/cnnscope/reports/<machine identity>/<model>-<time>/ ($CNNSCOPE_REPORTS_DIR, else \
            $XDG_DATA_HOME/cnnscope/reports, replaces the folder before the identity, here and in every command).
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var eventsOption: EventsOption
    @Option(help: "Images per forward pass.") var batchSize = 64
    @Option(
        help: """
            Comma-separated algorithm settings to compare: naive, im2col, winograd (F(4x4,3x3)), winograd-f2x3, \
            winograd-f2x5 and winograd-f4x5 (5x5 layers), winograd-f3x2 (2x2 layers), auto.
            """)
    var algorithms = "naive,im2col,winograd,auto"
    @Option(help: "Timed repetitions per algorithm (after one warm-up).") var repetitions = 5
    @Option(help: "Trained weights (.cnnw from cnnscope train) to load instead of the seeded initialisation.")
    var weights: String?
    @Flag(help: "Profile a training step (forward and backward) instead of inference.") var trainingStep = false
    @Flag(
        help: """
            Read the counters around every layer call. By default each pass reads them around one window of \
            layers in turn, and enough passes run for every layer to be read under every part of the event set; \
            every call is timed either way. Fewer reads cost less hook overhead.
            """)
    var countersEveryCall = false
    @Option(
        help: """
            Report folder; the default is ~/.local/share/cnnscope/reports/<machine identity>/<model>-<time>; \
            {machine} in it is the identity.
            """)
    var output: String?
    @OptionGroup var machineOptions: MachineOptions
    @Option(help: "Seed for initialisation and data order.") var seed: UInt64 = 42
    @Option(
        help: """
            Profile at this input shape (for example 224x224x3) on random images of that shape instead of the data \
            set; the default for ImageNet bases (mobilenetv2, vgg16) is their profile's input_shape.
            """)
    var inputShape: String?

    func validate() throws { try Console.validating { try job().validate() } }

    func job() throws -> ProfileJob {
        var j = ProfileJob(model: modelOptions.model)
        (j.data, j.batchSize, j.algorithms, j.repetitions) =
            (data.selection(), batchSize, algorithms.split(separator: ",").map(String.init), repetitions)
        (j.weightsFile, j.trainingStep, j.output, j.seed) = (weights, trainingStep, output, seed)
        (j.inputShape, j.eventSet) = (try parsedInputShape(inputShape), eventsOption.events)
        j.countersEveryCall = countersEveryCall
        return j
    }

    func run() throws { print(try job().run(in: try execution.environment(machineOptions)).text) }
}

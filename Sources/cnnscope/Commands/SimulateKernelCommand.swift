import ArgumentParser
import Profiling

/// Internal: runs one convolution kernel `--runs` times on seeded data, single-threaded, for
/// the cache simulator (cnnscope runs itself under cachegrind with this command).
struct SimulateKernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_simulate-kernel",
        abstract: "Internal: one convolution kernel for the cache simulator.",
        shouldDisplay: false)
    @Option var layer: String
    @Option var algorithm: String
    @Option var runs = 1
    @Option var workspace = 1 << 20

    func run() throws {
        try CacheSimulator.runKernel(layer: layer, algorithm: algorithm, runs: runs, workspace: workspace)
    }
}

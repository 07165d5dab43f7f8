import ArgumentParser
import Kernels
import Tensor

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
        let g = try ConvGeometry.parse(layer)
        guard let kind = ConvAlgorithmKind(userSpelling: algorithm) else {
            throw CLIError("unknown algorithm '\(algorithm)'")
        }
        let algo = try kind.make(g, options: ConvOptions(workspaceLimitBytes: workspace, winogradChunkBytes: workspace))
        var rng = SeededGenerator(seed: 1)
        let x = Tensor(shape: g.inputShape), w = Tensor(shape: g.weightShape), y = Tensor(shape: g.outputShape)
        let b = try Tensor([g.k])
        x.fillUniform(&rng); w.fillUniform(&rng)
        for _ in 0..<runs { try algo.forward(input: x, weights: w, bias: b, output: y) }
    }
}

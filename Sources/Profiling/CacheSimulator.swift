import Figures
import Foundation
import Hardware
import Kernels
import Reports
import Tensor

/// Simulated memory traffic for machines without a PMU: re-runs one convolution kernel under
/// valgrind's cachegrind, with the D1 and last-level caches set to the sizes hwloc reports, once
/// with one forward and once with two; the difference is one forward's misses. Bytes = misses ×
/// line size, labelled simulated.
///
/// The kernel runs in a child process: `executable` (the cnnscope tool, whose hidden
/// `_simulate-kernel` command runs one layer) under valgrind.
public final class CacheSimulator {
    public struct Result { public var d1Bytes: Figure; public var llBytes: Figure }

    /// The program valgrind runs: cnnscope's executable.
    public let executable: URL
    /// The debug-stripped copy of `executable`, made once per simulator and removed with it.
    private var stripped: String?

    public init(executable: URL) { self.executable = executable }

    deinit { if let s = stripped { unlink(s) } }

    public static func valgrindPath() -> String? {
        for p in ["/usr/bin/valgrind", "/usr/local/bin/valgrind"] where FileManager.default.isExecutableFile(atPath: p)
        { return p }
        return nil
    }

    public static func isPowerOfTwo(_ x: Int) -> Bool { x > 0 && x & (x - 1) == 0 }

    public func simulate(_ g: ConvGeometry, algorithm: ConvAlgorithmKind, topology: Topology, workspace: Int) -> Result
    {
        func missing(_ why: String) -> Result {
            Result(d1Bytes: .missing(why, .simulated, "B"), llBytes: .missing(why, .simulated, "B"))
        }
        guard let vg = Self.valgrindPath() else {
            return missing("valgrind is not installed; run Scripts/setup --valgrind (or apt-get install valgrind)")
        }
        guard let d1 = topology.cache(level: 1), let ll = topology.caches.max(by: { $0.level < $1.level }) else {
            return missing("hwloc reported no cache sizes")
        }
        // cachegrind needs power-of-two sets; round the LLC down to a power of two when it is not.
        var llSize = ll.sizeBytes
        while !Self.isPowerOfTwo(llSize / max(1, ll.associativity * ll.lineSize)) && llSize > ll.lineSize {
            llSize -= ll.lineSize * max(1, ll.associativity)
        }
        // valgrind 3.19 cannot read the DWARF 5 debug info of current Swift toolchains: run a
        // copy of this executable without debug sections (objcopy --strip-debug).
        guard let exe = strippedCopy() else {
            return missing(
                "could not make a copy of cnnscope without debug info for valgrind (objcopy from binutils is needed)")
        }
        var misses: [[String: Double]] = []
        for runs in [1, 2] {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent(
                "cnnscope-cg-\(getpid())-\(runs).out")
            defer { try? FileManager.default.removeItem(at: out) }
            let p = Process()
            p.standardInput = FileHandle.nullDevice  // children never read this process's input
            p.executableURL = URL(fileURLWithPath: vg)
            p.arguments = [
                "--tool=cachegrind", "--cache-sim=yes",
                "--D1=\(d1.sizeBytes),\(max(1, d1.associativity)),\(d1.lineSize)",
                "--LL=\(llSize),\(max(1, ll.associativity)),\(ll.lineSize)",
                "--cachegrind-out-file=\(out.path)", exe, "_simulate-kernel", "--layer", g.description,
                "--algorithm", algorithm.rawValue, "--runs", "\(runs)", "--workspace", "\(workspace)",
            ]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { return missing("cannot start valgrind: \(error.localizedDescription)") }
            p.waitUntilExit()
            guard p.terminationStatus == 0, let text = try? String(contentsOf: out, encoding: .utf8) else {
                return missing("valgrind exited with status \(p.terminationStatus)")
            }
            guard let m = Self.parse(text) else { return missing("could not read cachegrind's summary") }
            misses.append(m)
        }
        let line = Double(d1.lineSize)
        func delta(_ keys: [String]) -> Double { keys.reduce(0) { $0 + (misses[1][$1] ?? 0) - (misses[0][$1] ?? 0) } }
        return Result(
            d1Bytes: .of(max(0, delta(["D1mr", "D1mw"])) * line, .simulated, "B"),
            llBytes: .of(max(0, delta(["DLmr", "DLmw"])) * Double(ll.lineSize), .simulated, "B"))
    }

    func strippedCopy() -> String? {
        if let s = stripped { return s }
        let exe = executable.resolvingSymlinksInPath().path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-nodebug-\(getpid())").path
        let p = Process()
        p.standardInput = FileHandle.nullDevice  // children never read this process's input
        p.executableURL = URL(fileURLWithPath: "/usr/bin/objcopy")
        p.arguments = ["--strip-debug", exe, out]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        stripped = out
        return out
    }

    /// The `events:` and `summary:` lines of a cachegrind output file.
    public static func parse(_ text: String) -> [String: Double]? {
        var names: [String] = [], values: [Double] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("events:") { names = line.dropFirst(7).split(separator: " ").map(String.init) }
            if line.hasPrefix("summary:") { values = line.dropFirst(8).split(separator: " ").compactMap { Double($0) } }
        }
        guard !names.isEmpty, names.count == values.count else { return nil }
        return Dictionary(uniqueKeysWithValues: zip(names, values))
    }

    /// Simulates the kernel each result ran (auto's choice for auto) and stores the traffic in it.
    public func annotate(
        _ results: inout [ConvBenchResult], geometries: [ConvGeometry], topology: Topology,
        workspace: Int
    ) {
        for i in results.indices {
            guard let kind = ConvAlgorithmKind(rawValue: results[i].chosen ?? results[i].algorithm),
                let g = geometries.first(where: { $0.description == results[i].layer })
            else { continue }
            let sim = simulate(g, algorithm: kind, topology: topology, workspace: workspace)
            results[i].simulatedD1Bytes = sim.d1Bytes
            results[i].simulatedLLBytes = sim.llBytes
        }
    }
}

extension CacheSimulator {
    /// What the child process runs (the tool's hidden `_simulate-kernel` command): one
    /// convolution kernel `runs` times on seeded data, single-threaded.
    public static func runKernel(layer: String, algorithm: String, runs: Int, workspace: Int) throws {
        let g = try ConvGeometry.parse(layer)
        guard let kind = ConvAlgorithmKind(userSpelling: algorithm) else {
            throw SettingError("unknown algorithm '\(algorithm)'")
        }
        let algo = try kind.make(g, options: ConvOptions(workspaceLimitBytes: workspace, winogradChunkBytes: workspace))
        var rng = SeededGenerator(seed: 1)
        let x = Tensor(shape: g.inputShape), w = Tensor(shape: g.weightShape), y = Tensor(shape: g.outputShape)
        let b = try Tensor([g.k])
        x.fillUniform(&rng)
        w.fillUniform(&rng)
        for _ in 0..<runs { try algo.forward(input: x, weights: w, bias: b, output: y) }
    }
}

import ArgumentParser
import Figures
import Foundation
import Hardware
import Kernels
import Profiling
import Reports
import Runtime
import Tensor

/// The convolution engine's speed goals as ratios measured in one run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the convolution engine against its speed goals and print the ratios.",
        discussion: """
            At batch 64 on the lab's 3x3 layers (and one 5x5): the best cnnscope algorithm against \
            oneDNN's figures for this machine (given with --onednn or the defaults from the goal), \
            im2col against cblas_sgemm alone on the same GEMM shape, Winograd F(4x4,3x3) against \
            im2col, and each result as a fraction of the measured FMA peak. Run for 1 thread and \
            for all cores. Medians of the repetitions; all ratios come from this one run.
            """)

    @Option(help: "Batch size.")
    var batch = 64

    @Option(help: "Timed repetitions per measurement.")
    var repetitions = 7

    @Option(help: "Thread counts to run, comma-separated; default 1 and all cores.")
    var threadCounts: String?

    @Option(
        help: ArgumentHelp(
            """
            oneDNN GFLOP/s per shape as 'shape=t1/t2;...' (t1 one thread, t2 two); the default is the goal's \
            figures for this machine, or measure them with Scripts/bench-conv.
            """,
            valueName: "figures"))
    var onednn: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    /// oneDNN 2.6 (jit:avx2) direct-equivalent GFLOP/s on this machine, from the goal.
    static let defaultOneDNN: [(String, Double, Double)] = [
        ("N=64,H=14,W=14,C=32,K=64,R=3", 68, 120), ("N=64,H=16,W=16,C=32,K=64,R=3", 62, 118),
        ("N=64,H=7,W=7,C=64,K=128,R=3", 52, 93), ("N=64,H=14,W=14,C=64,K=128,R=3", 55, 109),
        ("N=64,H=14,W=14,C=32,K=64,R=5", 88, 156),
    ]

    func oneDNNFigures() throws -> [String: (Double, Double)] {
        var d: [String: (Double, Double)] = [:]
        for (k, a, b) in Self.defaultOneDNN { d[k] = (a, b) }
        guard let s = onednn else { return d }
        for item in s.split(separator: ";") {
            let eq = item.lastIndex(of: "=") ?? item.endIndex
            let shape = item[..<eq]
            let v =
                eq < item.endIndex ? item[item.index(after: eq)...].split(separator: "/").compactMap { Double($0) } : []
            guard v.count == 2, let g = try? ConvGeometry.parse(String(shape).replacingOccurrences(of: "|", with: ","))
            else {
                throw CLIError("--onednn: '\(item)' is not SHAPE=GFLOPS1/GFLOPS2 (shape fields separated by '|')")
            }
            d["\(g)".replacingOccurrences(of: ",stride=1,pad=same", with: "")] = (v[0], v[1])
        }
        return d
    }

    func run() throws {
        let topo = try? HwlocTopology()
        let snap = topo?.snapshot()
        let cores = snap?.cores ?? 1
        let counts =
            try threadCounts.map {
                try $0.split(separator: ",").map { s -> Int in
                    guard let v = Int(s), v >= 1 else {
                        throw CLIError("--thread-counts: '\(s)' is not a positive integer")
                    }
                    return v
                }
            } ?? Array(Set([1, cores])).sorted()
        let dnn = try oneDNNFigures()
        let cpu = try CPUFeatures.detect()
        let peakPool = WorkerPool(threads: 1, policy: .compact, topology: topo)
        let peak = ComputePeakProbe.measure(features: cpu, pool: peakPool).perThreadGFLOPs
        Blas.threads = 1
        var rows: [BenchRow] = []
        for t in counts {
            let pool = WorkerPool(threads: t, policy: .compact, topology: topo)
            let options = ExecutionOptions.kernelSwitches(threading: .pool).sized(for: snap, workers: t)
            let runner = ConvBenchRunner(
                pool: pool, threads: t, options: options, repetitions: repetitions, warmup: 2,
                peakPerThread: peak, selector: AutoSelector(options: options))
            for (shape, _, _) in Self.defaultOneDNN {
                let g = try ConvGeometry.parse(shape).withBatch(batch)
                // Every fast algorithm that applies to the shape (F(2x2,5x5) on the 5x5 layer).
                let fast = ConvAlgorithmKind.allCases.filter { $0 != .naive && (try? $0.check(g)) != nil }
                let rs = try runner.compare(g, algorithms: fast)
                let sg = sgemmGFLOPs(g, pool: pool)
                let key = "\(try ConvGeometry.parse(shape))".replacingOccurrences(of: ",stride=1,pad=same", with: "")
                let d = dnn[key].map { t == 1 ? $0.0 : (t == 2 ? $0.1 : nil) } ?? nil
                rows.append(
                    BenchRow(
                        layer: g.shortDescription, threads: t, results: rs, sgemmGFLOPs: sg, oneDNN: d,
                        peakPerThread: peak))
            }
        }
        if json { print(try Console.json(rows)); return }
        print(BenchRow.text(rows, peak: peak, batch: batch, repetitions: repetitions))
    }

    /// cblas_sgemm alone on the layer's GEMM shape (M = N·P·Q, N = K, K = R·S·C), split over
    /// the same workers by rows, single-threaded BLAS in each.
    func sgemmGFLOPs(_ g: ConvGeometry, pool: WorkerPool) -> Double {
        let M = g.n * g.p * g.q, N = g.k, K = g.r * g.s * g.c
        let a = Tensor.allocate(M * K), b = Tensor.allocate(K * N), c = Tensor.allocate(M * N)
        defer { free(a); free(b); free(c) }
        for i in 0..<(M * K) { a[i] = Float(i % 7) * 0.1 }
        for i in 0..<(K * N) { b[i] = Float(i % 5) * 0.1 }
        var samples: [Double] = []
        for rep in 0..<(repetitions + 2) {
            let t0 = monotonicNanos()
            pool.parallelRanges(M) { _, r in
                Blas.sgemm(
                    m: r.count, n: N, k: K, a: a + r.lowerBound * K, lda: K, b: b, ldb: N, beta: 0,
                    c: c + r.lowerBound * N, ldc: N)
            }
            if rep >= 2 { samples.append(Double(monotonicNanos() - t0) * 1e-9) }
        }
        return 2 * Double(M) * Double(N) * Double(K) / Timing(samples).median / 1e9
    }
}

import Figures
import Foundation
import Hardware
import Kernels
import Runtime
import Tensor

/// `cnnscope bench`: the convolution engine's speed goals as ratios measured in one run, at the
/// lab's 3x3 layers and one 5x5, against oneDNN's figures, cblas_sgemm alone and the FMA peak.
public struct ConvBenchJob {
    public var batch = 64
    public var repetitions = 7
    /// Thread counts to run; nil is 1 and all cores.
    public var threadCounts: [Int]?
    /// oneDNN GFLOP/s per shape as 'shape=t1/t2;...' (shape fields separated by '|').
    public var oneDNN: String?
    /// The widest ISA the hand-written kernels may use (scalar, avx2, avx512); nil is the best this
    /// machine has. The FMA peak the rows are judged against is that ISA's, or OpenBLAS' where its
    /// own kernels (which no cap reaches) are wider.
    public var isa: String?
    /// The layers to run, in the `--layer` spelling (N is replaced by `batch`); nil is `shapes`.
    /// One layer a call lets Scripts/bench-conv time oneDNN and cnnscope on it seconds apart.
    public var layers: [String]?

    public init() {}

    /// The lab's layers the goals are set on (batch 64): four 3x3 and the 5x5.
    public static let shapes = [
        "N=64,H=14,W=14,C=32,K=64,R=3", "N=64,H=16,W=16,C=32,K=64,R=3", "N=64,H=7,W=7,C=64,K=128,R=3",
        "N=64,H=14,W=14,C=64,K=128,R=3", "N=64,H=14,W=14,C=32,K=64,R=5",
    ]

    /// The layers to run at `batch`: `layers`, else the lab's five. A bad one is an error naming it.
    public func geometries() throws -> [ConvGeometry] {
        do {
            return try (layers ?? Self.shapes).map { try ConvGeometry.parse($0).withBatch(batch) }
        } catch { throw WorkflowError("--layer: \(error)") }
    }

    /// The oneDNN figures by shape, as given with --onednn. None are built in: a figure measured
    /// on one machine says nothing about another, so without them the ratio column stays empty.
    /// A figure is for the batch its shape names, so it is only set beside a layer of that batch.
    public func oneDNNFigures() throws -> [String: (Double, Double)] {
        var d: [String: (Double, Double)] = [:]
        guard let s = oneDNN else { return d }
        for item in s.split(separator: ";") {
            let eq = item.lastIndex(of: "=") ?? item.endIndex
            let v =
                eq < item.endIndex ? item[item.index(after: eq)...].split(separator: "/").compactMap { Double($0) } : []
            let shape = String(item[..<eq]).replacingOccurrences(of: "|", with: ",")
            guard v.count == 2, let g = try? ConvGeometry.parse(shape) else {
                throw WorkflowError("--onednn: '\(item)' is not SHAPE=GFLOPS1/GFLOPS2 (shape fields separated by '|')")
            }
            d[Self.key(g)] = (v[0], v[1])
        }
        return d
    }

    static func key(_ g: ConvGeometry) -> String { "\(g)".replacingOccurrences(of: ",stride=1,pad=same", with: "") }

    /// Runs every fast algorithm on each shape for each thread count, and each weight gradient;
    /// the rows and the FMA peak.
    public func run(environment: [String: String]) throws -> SpeedGoalReport {
        let topo = try? HwlocTopology()
        let snap = topo?.snapshot()
        let counts = threadCounts ?? Array(Set([1, snap?.cores ?? 1])).sorted()
        let dnn = try oneDNNFigures()
        let layers = try geometries()
        let cpu = try CPUFeatures.detect()
        let settings = ExecutionSettings(isa: isa)
        try settings.validate(environment: environment)
        let switches = settings.kernelSwitches(environment: environment)
        let roof = ComputePeakProbe.measure(
            features: cpu, pool: WorkerPool(threads: 1, policy: .compact, topology: topo), isa: switches.roofISA)
        let peak = roof.perThreadGFLOPs
        Blas.threads = 1
        var rows: [BenchRow] = [], gradients: [WeightGradientBenchRow] = []
        for t in counts {
            let pool = WorkerPool(threads: t, policy: .compact, topology: topo)
            let options = switches.sized(for: snap, workers: t)
            let runner = ConvBenchRunner(
                pool: pool, threads: t, options: options, repetitions: repetitions, warmup: 2,
                peakPerThread: peak, selector: AutoSelector(options: options))
            for g in layers {
                // Every fast algorithm that applies to the shape (F(2x2,5x5) on the 5x5 layer).
                let fast = ConvAlgorithmKind.allCases.filter { $0 != .naive && (try? $0.check(g)) != nil }
                let rs = try runner.compare(g, algorithms: fast)
                let d =
                    dnn[Self.key(g)].map { t == 1 ? $0.0 : (t == 2 ? $0.1 : nil) } ?? nil
                rows.append(
                    BenchRow(
                        layer: g.shortDescription, threads: t, results: rs, sgemmGFLOPs: sgemmGFLOPs(g, pool: pool),
                        oneDNN: d, peakPerThread: peak))
                gradients.append(
                    WeightGradientBench.row(g, threads: t, pool: pool, options: options, repetitions: repetitions))
            }
        }
        return SpeedGoalReport(
            rows: rows, weightGradient: gradients, peakPerThreadGFLOPs: peak, batch: batch, repetitions: repetitions,
            kernelISA: switches.isa, blasCore: Blas.coreName, peakKernel: roof.kernel)
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

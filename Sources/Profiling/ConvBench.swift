import Figures
import Foundation
import Hardware
import Kernels
import Profiler
import Reports
import Runtime
import Tensor

public struct ConvBenchHeader: Codable {
    public var threads: Int
    public var threading: String
    public var bind: String
    public var blasCore: String
    public var peakPerThreadGFLOPs: Double
    public var peakSource: String
    public var workspaceLimitBytes: Int
    public var repetitions: Int

    public init(
        threads: Int, threading: String, bind: String, blasCore: String, peakPerThreadGFLOPs: Double,
        peakSource: String, workspaceLimitBytes: Int, repetitions: Int
    ) {
        self.threads = threads; self.threading = threading; self.bind = bind; self.blasCore = blasCore
        self.peakPerThreadGFLOPs = peakPerThreadGFLOPs; self.peakSource = peakSource
        self.workspaceLimitBytes = workspaceLimitBytes; self.repetitions = repetitions
    }

    public var text: String {
        let peak =
            peakPerThreadGFLOPs.isFinite
            ? String(format: "%.1f GFLOP/s per thread (%@)", peakPerThreadGFLOPs, peakSource) : "unknown"
        return "threads \(threads) (\(threading), bind \(bind)), OpenBLAS kernel \(blasCore), FMA peak \(peak), "
            + "workspace limit \(Format.bytes(Double(workspaceLimitBytes))) per worker, \(repetitions) repetitions\n"
                + """
                time: measured (median, min-max); FLOPs, workspace: modelled; GFLOP/s = modelled FLOPs / measured \
                time; error: vs Double reference on the first images
                """
    }
}

/// One (layer, algorithm) row of `compare`.
public struct ConvBenchResult: Codable {
    public var layer: String
    public var shortLayer: String
    public var algorithm: String
    /// For auto: the algorithm it chose.
    public var chosen: String?
    /// The instruction set its main kernel ran (avx512, avx2, scalar or openblas).
    public var kernelISA: String?
    public var seconds: Timing
    public var directGFLOPs: Double
    public var executedGFLOPs: Double
    public var fractionOfPeak: Double
    public var cost: ConvCost
    /// Share of worker time per stage (measured).
    public var stageShare: [String: Double]
    public var speedupVsNaive: Double?
    /// max |error| / Σ|products| over checked outputs.
    public var maxScaledError: Double
    public var maxAbsError: Double
    public var relativeL2Error: Double
    public var checkedImages: Int
    /// Counted per forward with --events (one forward per part of the set).
    public var counters: [String: Figure]?
    /// With --simulate-cache: bytes from D1 and last-level misses (simulated).
    public var simulatedD1Bytes: Figure?
    public var simulatedLLBytes: Figure?
}

public struct ConvBenchReport: Codable {
    public var schema = "cnnscope.compare/1"
    public var header: ConvBenchHeader
    public var results: [ConvBenchResult]

    public init(header: ConvBenchHeader, results: [ConvBenchResult]) {
        self.header = header
        self.results = results
    }

    public static func table(_ rs: [ConvBenchResult]) -> String {
        var t = TextTable(header: [
            "layer", "algorithm", "ms median (min-max)", "GFLOP/s direct", "GFLOP/s exec", "% peak",
            "workspace", "stages", "vs naive", "max err (scaled)", "rel L2 err",
        ])
        t.rightAligned = [2, 3, 4, 5, 6, 8, 9, 10]
        for r in rs {
            let stages = r.stageShare.sorted { $0.value > $1.value }.map {
                "\($0.key) \(Int(($0.value * 100).rounded()))%"
            }.joined(separator: ", ")
            let algorithm = (r.chosen.map { "auto→\($0)" } ?? r.algorithm) + (r.kernelISA.map { " · \($0)" } ?? "")
            t.rows.append([
                r.shortLayer, algorithm,
                "\(Format.ms(r.seconds.median)) (\(Format.ms(r.seconds.min))-\(Format.ms(r.seconds.max)))",
                Format.g(r.directGFLOPs), Format.g(r.executedGFLOPs),
                r.fractionOfPeak.isFinite ? Format.g(r.fractionOfPeak * 100, 0) + "%" : "—",
                Format.bytes(r.cost.workspaceBytes), stages,
                r.speedupVsNaive.map { Format.g($0, 1) + "x" } ?? "—",
                Format.sci(r.maxScaledError), Format.sci(r.relativeL2Error),
            ])
        }
        return t.render()
    }

    /// Counter figures per (layer, algorithm), when --events was given.
    public static func countersText(_ rs: [ConvBenchResult], session: CounterSession?) -> String? {
        guard let session, rs.contains(where: { $0.counters != nil }) else { return nil }
        var out = [session.explanation, "Counters per forward (one forward per part of the set):"]
        for r in rs {
            guard let c = r.counters else { continue }
            out.append(
                """
                  \(r.shortLayer) \(r.chosen.map { "auto→\($0)" } ?? r.algorithm); executed FLOPs (modelled) \
                \(String(format: "%.3g", r.cost.executedFLOPs))
                """
            )
            for (k, f) in c.sorted(by: { $0.key < $1.key }) { out.append("    \(k): \(f.text)") }
        }
        return out.joined(separator: "\n")
    }

    public static func csv(_ rs: [ConvBenchResult]) -> String {
        var lines = [
            ([
                "layer", "algorithm", "chosen", "median_s", "min_s", "max_s", "direct_gflops", "executed_gflops",
                "fraction_of_peak", "direct_flops", "executed_flops", "workspace_bytes", "min_traffic_bytes",
                "algorithm_traffic_bytes", "speedup_vs_naive", "max_scaled_error", "rel_l2_error", "kernel_isa",
            ].joined(separator: ","))
        ]
        for r in rs {
            let cells: [String] = [
                r.layer, r.algorithm, r.chosen ?? "", "\(r.seconds.median)", "\(r.seconds.min)",
                "\(r.seconds.max)",
                "\(r.directGFLOPs)", "\(r.executedGFLOPs)", "\(r.fractionOfPeak)", "\(r.cost.directFLOPs)",
                "\(r.cost.executedFLOPs)",
                "\(r.cost.workspaceBytes)", "\(r.cost.minimumTrafficBytes)", "\(r.cost.algorithmTrafficBytes)",
                r.speedupVsNaive.map { "\($0)" } ?? "", "\(r.maxScaledError)", "\(r.relativeL2Error)",
                r.kernelISA ?? "",
            ]
            lines.append(CSVRow.line(cells))
        }
        return lines.joined(separator: "\n")
    }
}

/// Times algorithms on one layer shape with seeded data and checks them against the reference.
public final class ConvBenchRunner {
    public let pool: WorkerPool
    public let threads: Int
    public let options: ConvOptions
    public let repetitions: Int
    public let warmup: Int
    public let peakPerThread: Double
    public let selector: AutoSelector
    public let session: CounterSession?

    public init(
        pool: WorkerPool, threads: Int, options: ConvOptions, repetitions: Int, warmup: Int,
        peakPerThread: Double, selector: AutoSelector, session: CounterSession? = nil
    ) {
        self.pool = pool; self.threads = threads; self.options = options
        self.repetitions = repetitions; self.warmup = warmup; self.peakPerThread = peakPerThread
        self.selector = selector
        self.session = session
    }

    /// One forward per part of the event set, counters read around each.
    public func count(_ algo: ConvolutionAlgorithm, input: Tensor, weights: Tensor, bias: Tensor, output: Tensor) throws
        -> [String: Figure]?
    {
        guard let session else { return nil }
        var deltas: [String: Double] = [:], scales: [String: Double] = [:]
        var seconds = 0.0
        for part in 0..<max(1, session.parts.count) {
            try session.select(part: part)
            let c0 = session.read()
            let t0 = monotonicNanos()
            try algo.forward(input: input, weights: weights, bias: bias, output: output, runner: pool, observer: nil)
            let t = Double(monotonicNanos() - t0) * 1e-9
            let c1 = session.read()
            if part == 0 { seconds = t }
            for (v, e) in c1 { deltas[v] = e.value - (c0[v]?.value ?? 0); scales[v] = e.scale }
        }
        return session.figures(deltas: deltas, scales: scales, seconds: seconds)
    }

    public func compare(_ g: ConvGeometry, algorithms: [ConvAlgorithmKind?]) throws -> [ConvBenchResult] {
        var rng = SeededGenerator(seed: 42)
        let input = Tensor(shape: g.inputShape)
        let weights = Tensor(shape: g.weightShape)
        let bias = try Tensor([g.k])
        input.fillUniform(&rng)
        weights.fillUniform(&rng, low: -0.5, high: 0.5)
        bias.fillUniform(&rng, low: -0.1, high: 0.1)
        let checked = min(g.n, 2)
        let ref = ReferenceConv2D.forward(g, input: input.data, weights: weights.data, bias: bias.data, images: checked)
        var out: [ConvBenchResult] = []
        var naiveMedian: Double?
        for entry in algorithms {
            let kind: ConvAlgorithmKind
            var chosen: String?
            var made = options
            if let e = entry {
                guard (try? e.check(g)) != nil else { continue }
                kind = e
            } else {
                let choice = try selector.choose(g, runner: pool)
                (kind, made) = (choice.algorithm, choice.options(options))
                chosen = kind.rawValue
            }
            let algo = try kind.make(g, options: made)
            let output = Tensor(shape: g.outputShape, zeroed: false)
            output.fill(.nan)
            let timer = StageTimer(workers: pool.width)
            for _ in 0..<warmup {
                try algo.forward(
                    input: input, weights: weights, bias: bias, output: output, runner: pool, observer: nil)
            }
            var samples: [Double] = []
            for _ in 0..<repetitions {
                let t0 = monotonicNanos()
                try algo.forward(
                    input: input, weights: weights, bias: bias, output: output, runner: pool, observer: timer)
                samples.append(Double(monotonicNanos() - t0) * 1e-9)
            }
            let counted = try count(algo, input: input, weights: weights, bias: bias, output: output)
            var maxScaled = 0.0, maxAbs = 0.0, num = 0.0, den = 0.0
            for i in 0..<ref.output.count {
                let y = Double(output.data[i])
                let d = y.isFinite ? abs(y - ref.output[i]) : .infinity
                maxAbs = max(maxAbs, d)
                maxScaled = max(maxScaled, d / max(ref.absSum[i], 1e-30))
                num += d * d
                den += ref.output[i] * ref.output[i]
            }
            let cost = algo.cost(workers: pool.width)
            let timing = Timing(samples)
            let stageSeconds = timer.seconds.filter { $0.key != .filterTransform }
            let stageTotal = stageSeconds.values.reduce(0, +)
            if entry == .naive { naiveMedian = timing.median }
            out.append(
                ConvBenchResult(
                    layer: g.description, shortLayer: g.shortDescription, algorithm: entry?.rawValue ?? "auto",
                    chosen: chosen, kernelISA: algo.kernelISA,
                    seconds: timing, directGFLOPs: cost.directFLOPs / timing.median / 1e9,
                    executedGFLOPs: cost.executedFLOPs / timing.median / 1e9,
                    fractionOfPeak: cost.executedFLOPs / timing.median / 1e9 / (peakPerThread * Double(threads)),
                    cost: cost,
                    stageShare: stageSeconds.reduce(into: [:]) {
                        $0[$1.key.rawValue] = $1.value / max(stageTotal, 1e-12)
                    },
                    speedupVsNaive: nil, maxScaledError: maxScaled, maxAbsError: maxAbs,
                    relativeL2Error: (num / max(den, 1e-300)).squareRoot(), checkedImages: checked, counters: counted))
        }
        if let n = naiveMedian {
            for i in out.indices { out[i].speedupVsNaive = n / out[i].seconds.median }
        }
        return out
    }
}

extension ConvBenchReport {
    /// `cnnscope compare`'s text: the header, the table, the counters and, when simulated, the
    /// cache traffic per forward (pure).
    public static func text(
        header: ConvBenchHeader, results: [ConvBenchResult], session: CounterSession?,
        simulated: Bool
    ) -> String {
        var out = [header.text, table(results)]
        if let c = countersText(results, session: session) { out.append(c) }
        if simulated {
            out.append("Simulated traffic per forward (cachegrind, one thread, caches from hwloc):")
            for r in results {
                let name = r.chosen.map { "auto→\($0)" } ?? r.algorithm
                out.append(
                    "  \(r.shortLayer) \(name): D1 misses \(r.simulatedD1Bytes?.text ?? "—"), "
                        + "LL misses \(r.simulatedLLBytes?.text ?? "—"); modelled minimum "
                            + """
                            \(Format.bytes(r.cost.minimumTrafficBytes)), algorithm \
                            \(Format.bytes(r.cost.algorithmTrafficBytes))
                            """
                )
            }
        }
        return out.joined(separator: "\n")
    }
}

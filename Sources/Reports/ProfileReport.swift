import Figures
import Roofline

/// The versioned run file (`report.json`) every renderer reads. Documented in the README.
public struct ProfileReport: Codable, Equatable, Sendable {
    public static let currentSchema = "cnnscope.profile/1"

    public var schema: String = ProfileReport.currentSchema
    public var createdAt: String
    public var commandLine: String
    public var machine: MachineSummary
    public var roofline: Roofline
    public var model: String
    public var dataset: String
    public var inputShape: [Int]
    public var batchSize: Int
    public var threads: Int
    public var bind: String
    public var repetitions: Int
    public var phase: String
    /// What counted here (hardware, software fallback, timers only) and why the rest did not.
    public var counterLevel: String
    public var counterNotes: [String]
    public var runs: [AlgorithmRun]
    /// The fastest algorithm per conv layer (by median time) across the runs.
    public var bestPerLayer: [String: String]
    public var notes: [String]
    /// The widest instruction set the hand-written kernels were allowed (`--isa`); nil in older runs.
    public var kernelISA: String?
    /// The share of the machine's CPU time that the host took away while the run went on (steal time,
    /// measured from /proc/stat as vmstat's `st`); nil where it could not be read, and in older runs.
    public var hostSteal: Figure?

    /// Above this share of steal time, the report (and the run's warning) says the timings are not the
    /// machine's own.
    public static let hostStealCaution = 0.05

    /// The report's line on the steal time, or nil without one.
    public var hostStealLine: String? {
        guard let f = hostSteal?.value else { return nil }
        let line = String(
            format: "Host steal time over the run: %.1f%% (measured, /proc/stat, as vmstat's st)", f * 100)
        guard f > Self.hostStealCaution else { return line }
        return line
            + """
            : the host ran other work on these cores, so the timings are slower than this machine runs alone; \
            compare ratios measured side by side
            """
    }

    public init(
        createdAt: String, commandLine: String, machine: MachineSummary, roofline: Roofline, model: String,
        dataset: String,
        inputShape: [Int], batchSize: Int, threads: Int, bind: String, repetitions: Int, phase: String,
        counterLevel: String, counterNotes: [String], runs: [AlgorithmRun], bestPerLayer: [String: String],
        notes: [String]
    ) {
        self.createdAt = createdAt; self.commandLine = commandLine; self.machine = machine; self.roofline = roofline
        self.model = model; self.dataset = dataset; self.inputShape = inputShape; self.batchSize = batchSize
        self.threads = threads; self.bind = bind; self.repetitions = repetitions; self.phase = phase
        self.counterLevel = counterLevel; self.counterNotes = counterNotes; self.runs = runs
        self.bestPerLayer = bestPerLayer; self.notes = notes
    }
}

public struct MachineSummary: Codable, Equatable, Sendable {
    /// The machine identity's name (`amd-zen3-2c-l3-32m-1a2b3c`): the key runs are compared by.
    /// nil in reports written before identities existed.
    public var identity: String?
    /// Every field the identity hashes (CPUID, ISA, cores, caches, NUMA, OpenBLAS core).
    public var identityDetail: String?
    /// A label only: VMs of different kinds often share a host name.
    public var host: String
    public var cpuModel: String
    public var cores: Int
    public var processingUnits: Int
    public var caches: [String]
    public var simd: [String]
    public var pmus: [String]
    public var ceilings: [String: Figure]
    /// The identity's name with the host as a label ("amd-zen3-2c-l3-32m-1a2b3c (host vm)").
    public var displayName: String { identity.map { "\($0) (host \(host))" } ?? host }

    public init(
        identity: String?, identityDetail: String?, host: String, cpuModel: String, cores: Int,
        processingUnits: Int, caches: [String], simd: [String], pmus: [String], ceilings: [String: Figure]
    ) {
        self.identity = identity; self.identityDetail = identityDetail
        self.host = host; self.cpuModel = cpuModel; self.cores = cores; self.processingUnits = processingUnits
        self.caches = caches; self.simd = simd; self.pmus = pmus; self.ceilings = ceilings
    }
}

/// One algorithm setting over the whole model.
public struct AlgorithmRun: Codable, Equatable, Sendable {
    public var algorithm: String
    public var layers: [LayerResult]
    public var totals: ModelTotals
    public init(algorithm: String, layers: [LayerResult], totals: ModelTotals) {
        self.algorithm = algorithm; self.layers = layers; self.totals = totals
    }
}

public struct ModelTotals: Codable, Equatable, Sendable {
    public var seconds: Figure
    public var imagesPerSecond: Figure
    public var latencyMsPerImage: Figure
    public var gflops: Figure
    public var efficiency: Figure
    /// The whole model timed without the profiler's hooks (median of the hook-overhead pairs' plain
    /// runs), and its images/s: what a user of the model sees, for comparisons with other runtimes
    /// (the figures above are sums of per-layer medians). Absent in older reports.
    public var unhookedSeconds: Figure?
    public var unhookedImagesPerSecond: Figure?
    public init(seconds: Figure, imagesPerSecond: Figure, latencyMsPerImage: Figure, gflops: Figure, efficiency: Figure)
    {
        self.seconds = seconds; self.imagesPerSecond = imagesPerSecond; self.latencyMsPerImage = latencyMsPerImage
        self.gflops = gflops; self.efficiency = efficiency
    }
}

/// One layer (one phase) under one algorithm setting: every figure carries its provenance.
public struct LayerResult: Codable, Equatable, Sendable {
    public var name: String
    public var type: String
    public var phase: String
    /// The convolution algorithm that ran (conv layers only).
    public var convAlgorithm: String?
    public var medianSeconds: Figure
    public var minSeconds: Figure
    public var maxSeconds: Figure
    public var directFLOPs: Figure
    public var executedFLOPs: Figure
    public var minimumBytes: Figure
    public var algorithmBytes: Figure
    public var countedBytes: Figure?
    public var simulatedBytes: Figure?
    public var intensity: Figure
    public var attainedGFLOPs: Figure
    public var roofGFLOPs: Figure
    public var efficiency: Figure
    public var bound: String
    public var shareOfModelTime: Figure
    public var counters: [String: Figure]
    public var tooShortToMeasure: Bool
    /// The memory level the point is judged against ("L2"), and the ceiling that bounds it
    /// ("L2 bandwidth" or a compute ceiling). nil in reports written before the hierarchy.
    public var boundLevel: String?
    public var boundCeiling: String?
    /// How the level was chosen ("counted" per-level bytes or the "modelled" footprint), and
    /// why it moved, if it did.
    public var levelSource: String?
    public var levelNote: String?
    /// Bytes the layer touches (inputs, weights, outputs, resident workspace), by formula.
    public var footprintBytes: Figure?
    /// The classic view: the roof and efficiency against DRAM alone.
    public var dramRoofGFLOPs: Figure?
    public var dramEfficiency: Figure?
    /// The instruction set the layer's kernels ran (forward: avx512, avx2, scalar or openblas,
    /// as its algorithm chose under the `--isa` cap; backward convolutions: the cap).
    public var kernelISA: String?

    public init(
        name: String, type: String, phase: String, convAlgorithm: String?, medianSeconds: Figure, minSeconds: Figure,
        maxSeconds: Figure, directFLOPs: Figure, executedFLOPs: Figure, minimumBytes: Figure, algorithmBytes: Figure,
        countedBytes: Figure?, simulatedBytes: Figure?, intensity: Figure, attainedGFLOPs: Figure, roofGFLOPs: Figure,
        efficiency: Figure, bound: String, shareOfModelTime: Figure, counters: [String: Figure],
        tooShortToMeasure: Bool,
        boundLevel: String? = nil, boundCeiling: String? = nil, levelSource: String? = nil, levelNote: String? = nil,
        footprintBytes: Figure? = nil, dramRoofGFLOPs: Figure? = nil, dramEfficiency: Figure? = nil
    ) {
        self.boundLevel = boundLevel; self.boundCeiling = boundCeiling; self.levelSource = levelSource
        self.levelNote = levelNote; self.footprintBytes = footprintBytes
        self.dramRoofGFLOPs = dramRoofGFLOPs; self.dramEfficiency = dramEfficiency
        self.name = name; self.type = type; self.phase = phase; self.convAlgorithm = convAlgorithm
        self.medianSeconds = medianSeconds; self.minSeconds = minSeconds; self.maxSeconds = maxSeconds
        self.directFLOPs = directFLOPs; self.executedFLOPs = executedFLOPs; self.minimumBytes = minimumBytes
        self.algorithmBytes = algorithmBytes; self.countedBytes = countedBytes; self.simulatedBytes = simulatedBytes
        self.intensity = intensity; self.attainedGFLOPs = attainedGFLOPs; self.roofGFLOPs = roofGFLOPs
        self.efficiency = efficiency; self.bound = bound; self.shareOfModelTime = shareOfModelTime
        self.counters = counters; self.tooShortToMeasure = tooShortToMeasure
    }
}

/// A damaged or foreign run file.
public struct ReportError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ s: String) { description = s }
}

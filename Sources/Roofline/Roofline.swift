import Figures

/// A roofline: one compute ceiling and bandwidth ceilings per memory level (pure values, no I/O).
/// attainable(I) = min(compute, bandwidth × I) for the chosen level; the classic roof uses the
/// slowest level (DRAM), and `attainableAllLevels` takes the minimum over every ceiling.
public struct Roofline: Codable, Equatable, Sendable {
    public struct Bandwidth: Codable, Equatable, Sendable {
        public var level: String
        public var gbPerSecond: Double
        public init(level: String, gbPerSecond: Double) { self.level = level; self.gbPerSecond = gbPerSecond }
    }

    public var computeGFLOPs: Double
    public var computeName: String
    /// Ordered from the fastest level (L1) to the slowest (DRAM).
    public var bandwidths: [Bandwidth]
    public var provenance: Provenance

    public init(computeGFLOPs: Double, computeName: String, bandwidths: [Bandwidth], provenance: Provenance) {
        self.computeGFLOPs = computeGFLOPs
        self.computeName = computeName
        self.bandwidths = bandwidths.sorted { $0.gbPerSecond > $1.gbPerSecond }
        self.provenance = provenance
    }

    /// The memory ceiling a point is judged against: the slowest level (DRAM when measured).
    public var memory: Bandwidth? { bandwidths.last }

    /// min(compute, memory bandwidth × intensity) in GFLOP/s; intensity in FLOP/byte.
    public func attainable(intensity: Double) -> Double {
        guard let m = memory, intensity.isFinite else { return computeGFLOPs }
        return min(computeGFLOPs, m.gbPerSecond * intensity)
    }

    /// The minimum over every ceiling at this intensity (equal to `attainable` for one intensity
    /// measured against the slowest level; kept for levels measured separately).
    public func attainableAllLevels(intensity: Double) -> Double {
        bandwidths.reduce(computeGFLOPs) { min($0, $1.gbPerSecond * intensity) }
    }

    /// The roof of one level at an intensity.
    public func attainable(intensity: Double, level: String) -> Double? {
        bandwidths.first { $0.level == level }.map { min(computeGFLOPs, $0.gbPerSecond * intensity) }
    }

    /// The intensity where the memory roof meets the compute roof.
    public var ridgeIntensity: Double? { memory.map { computeGFLOPs / $0.gbPerSecond } }

    public enum Bound: String, Codable, Sendable { case memory, compute }

    public func bound(intensity: Double) -> Bound {
        guard let r = ridgeIntensity else { return .compute }
        return intensity < r ? .memory : .compute
    }

    /// attained / roof at the point's intensity.
    public func efficiency(attainedGFLOPs: Double, intensity: Double) -> Double {
        attainedGFLOPs / attainable(intensity: intensity)
    }
}

/// One point on the roofline: a layer run with one algorithm.
public struct RooflinePoint: Codable, Equatable, Sendable {
    public var label: String
    public var algorithm: String
    /// FLOP per byte.
    public var intensity: Double
    public var attainedGFLOPs: Double
    public var roofGFLOPs: Double
    public var efficiency: Double
    public var bound: Roofline.Bound

    public init(label: String, algorithm: String, flops: Double, bytes: Double, seconds: Double, roofline: Roofline) {
        self.label = label
        self.algorithm = algorithm
        intensity = bytes > 0 ? flops / bytes : .infinity
        attainedGFLOPs = seconds > 0 ? flops / seconds / 1e9 : 0
        roofGFLOPs = roofline.attainable(intensity: intensity)
        efficiency = roofGFLOPs > 0 ? attainedGFLOPs / roofGFLOPs : 0
        bound = roofline.bound(intensity: intensity)
    }
}

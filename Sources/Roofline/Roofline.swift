import Figures

/// A hierarchical roofline (pure values, no I/O): compute ceilings (the highest is the roof) and
/// one bandwidth ceiling per memory level, each with the capacity that level offers the run.
///
/// A point is judged against the level whose traffic bounds it (`judge`): the smallest level
/// whose capacity holds the layer's modelled footprint, or a faster one when the measured rate
/// shows the data was served from closer. The classic view (`attainable(intensity:)`) judges
/// every point against the slowest level (DRAM).
public struct Roofline: Codable, Equatable, Sendable {
    public struct Bandwidth: Codable, Equatable, Sendable {
        public var level: String
        public var gbPerSecond: Double
        /// Bytes this level can hold for the run (a private cache times the cores in use, a
        /// shared one whole); nil for DRAM (unbounded).
        public var capacityBytes: Double?
        public init(level: String, gbPerSecond: Double, capacityBytes: Double? = nil) {
            self.level = level; self.gbPerSecond = gbPerSecond; self.capacityBytes = capacityBytes
        }
    }

    /// One compute ceiling, measured by its own microkernel (scalar FMA, AVX2 FMA, AVX-512 FMA).
    public struct Compute: Codable, Equatable, Sendable {
        public var name: String
        public var gflops: Double
        public init(name: String, gflops: Double) { self.name = name; self.gflops = gflops }
    }

    /// The ceiling points are judged against (the FMA peak of the ISA the kernels use).
    public var computeGFLOPs: Double
    public var computeName: String
    /// Every compute ceiling measured, highest first (nil in reports written before them).
    public var computeCeilings: [Compute]?
    /// Ordered from the fastest level (L1) to the slowest (DRAM).
    public var bandwidths: [Bandwidth]
    public var provenance: Provenance

    public init(
        computeGFLOPs: Double, computeName: String, bandwidths: [Bandwidth], provenance: Provenance,
        computeCeilings: [Compute]? = nil
    ) {
        self.computeGFLOPs = computeGFLOPs
        self.computeName = computeName
        self.bandwidths = bandwidths.sorted { $0.gbPerSecond > $1.gbPerSecond }
        self.provenance = provenance
        self.computeCeilings = computeCeilings?.sorted { $0.gflops > $1.gflops }
    }

    /// The memory ceiling of the classic view: the slowest level (DRAM when measured).
    public var memory: Bandwidth? { bandwidths.last }

    /// The classic roof: min(compute, DRAM bandwidth × intensity) in GFLOP/s.
    public func attainable(intensity: Double) -> Double {
        guard let m = memory, intensity.isFinite else { return computeGFLOPs }
        return min(computeGFLOPs, m.gbPerSecond * intensity)
    }

    /// The roof of one level at an intensity.
    public func attainable(intensity: Double, level: String) -> Double? {
        bandwidths.first { $0.level == level }.map {
            min(computeGFLOPs, $0.gbPerSecond * (intensity.isFinite ? intensity : .infinity))
        }
    }

    /// The intensity where the DRAM roof meets the compute roof.
    public var ridgeIntensity: Double? { memory.map { computeGFLOPs / $0.gbPerSecond } }

    public enum Bound: String, Codable, Sendable { case memory, compute }

    public func bound(intensity: Double) -> Bound {
        guard let r = ridgeIntensity else { return .compute }
        return intensity < r ? .memory : .compute
    }

    /// attained / classic roof at the point's intensity.
    public func efficiency(attainedGFLOPs: Double, intensity: Double) -> Double {
        attainedGFLOPs / attainable(intensity: intensity)
    }

    /// How far above its roof a measured point may sit before it is called inconsistent: timer
    /// noise and ceilings measured at another moment (±5%).
    public static let tolerance = 1.05

    /// The level a footprint fits: the fastest whose capacity holds it, else the slowest.
    public func level(forFootprint bytes: Double) -> Int? {
        guard !bandwidths.isEmpty else { return nil }
        return bandwidths.firstIndex { ($0.capacityBytes ?? .infinity) >= bytes } ?? bandwidths.count - 1
    }

    /// Judges a point against the level whose traffic bounds it. The modelled level is the
    /// fastest whose capacity holds `footprintBytes`; when the measured rate sits above that
    /// level's roof, the data must have come from closer, and the point moves to the first
    /// faster level whose roof holds it (said in `note`). A point above every roof at its
    /// modelled intensity gets no efficiency: its byte model overstates the traffic.
    public func judge(flops: Double, bytes: Double, seconds: Double, footprintBytes: Double) -> Judgement {
        let intensity = bytes > 0 ? flops / bytes : .infinity
        let attained = seconds > 0 ? flops / seconds / 1e9 : 0
        guard let modelled = level(forFootprint: footprintBytes) else {
            let e = attained / computeGFLOPs
            return Judgement(
                intensity: intensity, attainedGFLOPs: attained, level: nil, modelledLevel: nil,
                roofGFLOPs: computeGFLOPs, efficiency: e <= Self.tolerance ? e : nil,
                ceiling: computeName, note: nil)
        }
        var i = modelled
        func roof(_ k: Int) -> Double { min(computeGFLOPs, bandwidths[k].gbPerSecond * intensity) }
        while i > 0 && attained > Self.tolerance * roof(i) { i -= 1 }
        let r = roof(i)
        let ceiling = r >= computeGFLOPs ? computeName : "\(bandwidths[i].level) bandwidth"
        var note: String?
        if i != modelled {
            note =
                """
                footprint fits \(bandwidths[modelled].level), but the rate exceeds its roof: served from \
                \(bandwidths[i].level)
                """
        }
        var efficiency: Double? = r > 0 ? attained / r : nil
        if let e = efficiency, e > Self.tolerance {
            efficiency = nil
            note = "above every roof at the modelled intensity: the byte model overstates this layer's traffic"
        }
        return Judgement(
            intensity: intensity, attainedGFLOPs: attained, level: bandwidths[i].level,
            modelledLevel: bandwidths[modelled].level, roofGFLOPs: r, efficiency: efficiency,
            ceiling: ceiling, note: note)
    }

    /// Judges a point by counted traffic per level (bytes each level served, from a PMU or a
    /// cache simulator): every level's roof at its own intensity, and the lowest one bounds the
    /// point. Levels without a count are left out.
    public func judge(flops: Double, seconds: Double, bytesByLevel: [String: Double]) -> Judgement? {
        let attained = seconds > 0 ? flops / seconds / 1e9 : 0
        var best: (level: String, intensity: Double, roof: Double)?
        for b in bandwidths {
            guard let bytes = bytesByLevel[b.level], bytes > 0 else { continue }
            let i = flops / bytes
            let r = min(computeGFLOPs, b.gbPerSecond * i)
            if best == nil || r < best!.roof { best = (b.level, i, r) }
        }
        guard let best else { return nil }
        let e = best.roof > 0 ? attained / best.roof : nil
        let ceiling = best.roof >= computeGFLOPs ? computeName : "\(best.level) bandwidth"
        let over = (e ?? 0) > Self.tolerance
        return Judgement(
            intensity: best.intensity, attainedGFLOPs: attained, level: best.level, modelledLevel: nil,
            roofGFLOPs: best.roof, efficiency: over ? nil : e, ceiling: ceiling,
            note: over ? "above its roof by counted traffic: the ceilings may be stale (re-measure)" : nil)
    }

    /// The outcome of `judge`.
    public struct Judgement: Equatable, Sendable {
        public var intensity: Double
        public var attainedGFLOPs: Double
        /// The memory level the point is judged against (nil without bandwidth ceilings).
        public var level: String?
        /// The level the footprint model chose before the measured rate was considered.
        public var modelledLevel: String?
        public var roofGFLOPs: Double
        /// attained / roof, never above `tolerance`; nil when the point is above every roof.
        public var efficiency: Double?
        /// The ceiling that bounds the point: "L2 bandwidth" or the compute ceiling's name.
        public var ceiling: String
        public var note: String?
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

import Hardware
import Roofline

/// The roofline of a run from the machine's measured ceilings.
public enum RooflineBuilder {
    /// Compute roof: the FMA peak of the kernels' ISA for the thread count, with the other ISAs'
    /// FMA peaks as lower ceilings; memory roofs: load bandwidth per level (all threads when more
    /// than one), all measured, each with the capacity the level offers `threads` workers
    /// (private caches once per core in use, shared ones whole).
    public static func roofline(_ c: MachineCeilings, threads: Int, topology: Topology?) -> Roofline {
        let all = threads > 1
        func scaled(_ p: ComputePeak) -> Double {
            all ? p.allThreadsGFLOPs * Double(threads) / Double(max(1, p.threads)) : p.perThreadGFLOPs
        }
        let peak = scaled(c.fma)
        let levels = Array(Set(c.bandwidth.map(\.level))).sorted()
        let bws = levels.compactMap { l -> Roofline.Bandwidth? in
            guard let b = c.bandwidth(level: l, kernel: "load", allThreads: all) else { return nil }
            var capacity: Double?
            if l.hasPrefix("L"), let n = Int(l.dropFirst()), let cache = topology?.cache(level: n) {
                let copies = cache.sharedBy.count > 1 ? cache.instances : min(max(1, threads), cache.instances)
                capacity = Double(cache.sizeBytes * copies)
            }
            return Roofline.Bandwidth(level: l, gbPerSecond: b.gbPerSecond, capacityBytes: capacity)
        }
        let suffix = "(\(threads) thread\(threads == 1 ? "" : "s"))"
        let ceilings = (c.computeByISA ?? []).map {
            Roofline.Compute(name: "\($0.kernel) \(suffix)", gflops: scaled($0))
        }
        return Roofline(
            computeGFLOPs: peak, computeName: "FMA peak, \(c.fma.kernel) \(suffix)", bandwidths: bws,
            provenance: .measured, computeCeilings: ceilings.isEmpty ? nil : ceilings)
    }
}

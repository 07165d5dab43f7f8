import CHwloc

#if canImport(Glibc)
    import Glibc
#endif

/// Where each worker thread goes and which NUMA node its memory comes from.
public struct PinningPlan: Equatable, Sendable {
    public enum Layout: String, CaseIterable, Sendable {
        /// Fill processing units in topology order (SMT siblings of a core first).
        case compact
        /// One worker per core first, then the SMT siblings.
        case scatter
        /// One worker group per NUMA node: its workers on that node's cores (one per core first),
        /// and their memory bound to that node.
        case perNUMANode = "per-numa"
    }

    public struct Worker: Equatable, Sendable {
        /// The processing unit's OS index.
        public var pu: Int
        /// The NUMA node whose memory the worker uses (the one holding its PU).
        public var numaNode: Int
        /// The worker group (per NUMA node: the node; otherwise 0).
        public var group: Int
    }

    public var layout: Layout
    public var workers: [Worker]

    /// Plans `count` workers. `corePUs`: each core's PUs in topology order; `numaPUs`: each NUMA
    /// node's PUs (`HwlocTopology.numaNodePUs`).
    public static func plan(_ layout: Layout, workers count: Int, corePUs: [[Int]], numaPUs: [[Int]]) -> PinningPlan {
        let cores = corePUs.filter { !$0.isEmpty }
        func node(of pu: Int) -> Int { numaPUs.firstIndex { $0.contains(pu) } ?? 0 }
        func spread(_ cs: [[Int]]) -> [Int] {
            let depth = cs.map(\.count).max() ?? 1
            return (0..<depth).flatMap { k in cs.compactMap { k < $0.count ? $0[k] : nil } }
        }
        var order: [(pu: Int, group: Int)]
        switch layout {
        case .compact: order = cores.flatMap { $0 }.map { ($0, 0) }
        case .scatter: order = spread(cores).map { ($0, 0) }
        case .perNUMANode:
            // Workers dealt to the nodes in turn, each node's in scatter order, so that every node
            // gets its share of the workers and each group stays on its node.
            let perNode = numaPUs.indices.map { n in spread(cores.filter { numaPUs[n].contains($0[0]) }) }
            order = []
            let longest = perNode.map(\.count).max() ?? 0
            for k in 0..<longest {
                for (n, pus) in perNode.enumerated() where k < pus.count { order.append((pus[k], n)) }
            }
        }
        guard !order.isEmpty else { return PinningPlan(layout: layout, workers: []) }
        let ws = (0..<count).map { i -> Worker in
            let o = order[i % order.count]
            return Worker(pu: o.pu, numaNode: node(of: o.pu), group: o.group)
        }
        return PinningPlan(layout: layout, workers: ws)
    }

    /// The workers of each group, by worker index.
    public var groups: [[Int]] {
        let n = (workers.map(\.group).max() ?? -1) + 1
        return (0..<n).map { g in workers.indices.filter { workers[$0].group == g } }
    }
}

extension HwlocTopology {
    /// Binds the calling thread's future allocations to one NUMA node (hwloc_set_membind).
    public func bindCurrentThreadMemory(toNUMANode index: Int) throws {
        let flags = Int32(HWLOC_MEMBIND_THREAD.rawValue | HWLOC_MEMBIND_BYNODESET.rawValue)
        try withSingleBitmap(index) { set in
            _ = try SystemCall.check("hwloc_set_membind", context: "binding memory to NUMA node \(index)") {
                hwloc_set_membind(handle, set, HWLOC_MEMBIND_BIND, flags)
            }
        }
    }
}

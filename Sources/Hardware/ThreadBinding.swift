import CHwloc

#if canImport(Glibc)
    import Glibc
#endif

/// How worker threads are placed on processing units.
public enum BindPolicy: String, CaseIterable, Codable, Sendable {
    /// Fill processing units in topology order (SMT siblings of a core first).
    case compact
    /// Spread over cores first, then over the SMT siblings of each core.
    case scatter
    /// Leave placement to the OS scheduler.
    case none

    /// The processing-unit OS index for each of `count` workers (nil: unbound).
    public func placement(workers count: Int, topology: Topology) -> [Int?] {
        let cores = topology.corePUs.filter { !$0.isEmpty }
        guard self != .none, !cores.isEmpty else { return Array(repeating: nil, count: count) }
        var order: [Int] = []
        switch self {
        case .compact:
            order = cores.flatMap { $0 }
        case .scatter:
            let depth = cores.map(\.count).max() ?? 1
            for k in 0..<depth { for c in cores where k < c.count { order.append(c[k]) } }
        case .none:
            break
        }
        return (0..<count).map { order[$0 % order.count] }
    }
}

extension HwlocTopology {
    /// Binds the calling thread to one processing unit (by OS index).
    public func bindCurrentThread(toPU osIndex: Int) throws {
        try withSingleBitmap(osIndex) { set in
            _ = try SystemCall.check("hwloc_set_cpubind", context: "binding a worker to PU \(osIndex)") {
                hwloc_set_cpubind(handle, set, Int32(HWLOC_CPUBIND_THREAD.rawValue))
            }
        }
    }

    /// Binds the calling thread to a set of processing units (OS indexes), as `currentThreadBinding`
    /// reads them.
    public func bindCurrentThread(toPUs osIndexes: [Int]) throws {
        try withBitmap(osIndexes) { set in
            _ = try SystemCall.check("hwloc_set_cpubind", context: "binding a thread to PUs \(osIndexes)") {
                hwloc_set_cpubind(handle, set, Int32(HWLOC_CPUBIND_THREAD.rawValue))
            }
        }
    }

    /// Runs `body` with an hwloc bitmap holding only `index` (a PU or a NUMA node).
    func withSingleBitmap(_ index: Int, _ body: (hwloc_bitmap_t) throws -> Void) throws {
        try withBitmap([index], body)
    }

    /// Runs `body` with an hwloc bitmap holding exactly `indexes`.
    func withBitmap(_ indexes: [Int], _ body: (hwloc_bitmap_t) throws -> Void) throws {
        guard let set = hwloc_bitmap_alloc() else {
            throw HardwareError.hwloc(call: "hwloc_bitmap_alloc", errno: errno)
        }
        defer { hwloc_bitmap_free(set) }
        for i in indexes { _ = hwloc_bitmap_set(set, UInt32(i)) }
        try body(set)
    }

    /// The processing units the calling thread is bound to now.
    public func currentThreadBinding() throws -> [Int] {
        guard let set = hwloc_bitmap_alloc() else {
            throw HardwareError.hwloc(call: "hwloc_bitmap_alloc", errno: errno)
        }
        defer { hwloc_bitmap_free(set) }
        _ = try SystemCall.check("hwloc_get_cpubind") {
            hwloc_get_cpubind(handle, set, Int32(HWLOC_CPUBIND_THREAD.rawValue))
        }
        return Self.puIndexes(set)
    }
}

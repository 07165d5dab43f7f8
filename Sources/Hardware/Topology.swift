import CHwloc

#if canImport(Glibc)
    import Glibc
#endif

/// One cache level as hwloc reports it.
public struct CacheInfo: Codable, Equatable, Sendable {
    public var level: Int
    /// "data", "instruction" or "unified".
    public var kind: String
    public var sizeBytes: Int
    public var lineSize: Int
    /// Ways of associativity; 0 = unknown, -1 = fully associative (hwloc's convention).
    public var associativity: Int
    /// OS indexes of the processing units that share one instance.
    public var sharedBy: [Int]
    /// How many instances of this cache the machine has.
    public var instances: Int
}

/// The machine's topology: packages, cores, processing units, NUMA nodes, caches, CPU model.
public struct Topology: Codable, Sendable {
    public var packages: Int
    public var cores: Int
    public var processingUnits: Int
    public var numaNodes: Int
    public var cpuModel: String
    public var cpuVendor: String
    /// Data and unified caches, one entry per level (instruction caches listed separately).
    public var caches: [CacheInfo]
    public var instructionCaches: [CacheInfo]
    /// OS index of each core's first processing unit, in topology order (compact binding order).
    public var corePUs: [[Int]]

    public init(
        packages: Int, cores: Int, processingUnits: Int, numaNodes: Int, cpuModel: String, cpuVendor: String,
        caches: [CacheInfo], instructionCaches: [CacheInfo], corePUs: [[Int]]
    ) {
        self.packages = packages; self.cores = cores; self.processingUnits = processingUnits; self.numaNodes = numaNodes
        self.cpuModel = cpuModel; self.cpuVendor = cpuVendor; self.caches = caches
        self.instructionCaches = instructionCaches; self.corePUs = corePUs
    }

    public func cache(level: Int) -> CacheInfo? { caches.first { $0.level == level } }
}

/// An hwloc topology handle. Only this module touches hwloc.
public final class HwlocTopology: @unchecked Sendable {
    let handle: hwloc_topology_t

    /// This machine's topology.
    public convenience init() throws { try self.init(source: nil) }

    /// A topology that is not this machine's, for planning: `synthetic` in hwloc's synthetic
    /// description ("package:2 numa:2 core:16 pu:2") or `xml`, a file from `lstopo --of xml`.
    public convenience init(synthetic description: String) throws { try self.init(source: .synthetic(description)) }
    public convenience init(xmlFile path: String) throws { try self.init(source: .xml(path)) }

    enum Source { case synthetic(String), xml(String) }

    init(source: Source?) throws {
        var t: hwloc_topology_t?
        _ = try SystemCall.check("hwloc_topology_init") { hwloc_topology_init(&t) }
        guard let topo = t else { throw HardwareError.hwloc(call: "hwloc_topology_init", errno: errno) }
        do {
            switch source {
            case .synthetic(let d)?:
                _ = try SystemCall.check("hwloc_topology_set_synthetic", context: "description '\(d)'") {
                    hwloc_topology_set_synthetic(topo, d)
                }
            case .xml(let path)?:
                _ = try SystemCall.check("hwloc_topology_set_xml", context: path) { hwloc_topology_set_xml(topo, path) }
            case nil:
                break
            }
            _ = try SystemCall.check("hwloc_topology_load") { hwloc_topology_load(topo) }
        } catch {
            hwloc_topology_destroy(topo)
            throw error
        }
        handle = topo
    }

    deinit { hwloc_topology_destroy(handle) }

    /// The processing units (OS indexes) of each NUMA node, in node order.
    public func numaNodePUs() -> [[Int]] {
        let nodes = objects(HWLOC_OBJ_NUMANODE).map { Self.puIndexes($0.pointee.cpuset) }
        return nodes.isEmpty ? [objects(HWLOC_OBJ_PU).flatMap { Self.puIndexes($0.pointee.cpuset) }] : nodes
    }

    func count(_ type: hwloc_obj_type_t) -> Int {
        Int(max(0, hwloc_get_nbobjs_by_type(handle, type)))
    }

    func objects(_ type: hwloc_obj_type_t) -> [hwloc_obj_t] {
        (0..<count(type)).compactMap { hwloc_get_obj_by_type(handle, type, UInt32($0)) }
    }

    static func puIndexes(_ set: hwloc_const_cpuset_t?) -> [Int] {
        guard let set else { return [] }
        var out: [Int] = []
        var i = hwloc_bitmap_first(set)
        while i >= 0 {
            out.append(Int(i))
            i = hwloc_bitmap_next(set, i)
        }
        return out
    }

    static func info(_ obj: hwloc_obj_t, _ key: String) -> String? {
        guard let v = hwloc_obj_get_info_by_name(obj, key) else { return nil }
        return String(cString: v)
    }

    /// Reads everything `cnnscope machine` shows.
    public func snapshot() -> Topology {
        let packages = objects(HWLOC_OBJ_PACKAGE)
        var model = "unknown"
        var vendor = "unknown"
        if let p = packages.first {
            model = Self.info(p, "CPUModel") ?? model
            vendor = Self.info(p, "CPUVendor") ?? vendor
        }
        let cacheTypes: [(hwloc_obj_type_t, Int, Bool)] = [
            (HWLOC_OBJ_L1CACHE, 1, false), (HWLOC_OBJ_L2CACHE, 2, false), (HWLOC_OBJ_L3CACHE, 3, false),
            (HWLOC_OBJ_L4CACHE, 4, false), (HWLOC_OBJ_L5CACHE, 5, false),
            (HWLOC_OBJ_L1ICACHE, 1, true), (HWLOC_OBJ_L2ICACHE, 2, true), (HWLOC_OBJ_L3ICACHE, 3, true),
        ]
        var data: [CacheInfo] = []
        var instr: [CacheInfo] = []
        for (type, level, isInstr) in cacheTypes {
            let objs = objects(type)
            guard let o = objs.first, let attr = o.pointee.attr else { continue }
            let c = attr.pointee.cache
            let kind: String
            switch c.type {
            case HWLOC_OBJ_CACHE_DATA: kind = "data"
            case HWLOC_OBJ_CACHE_INSTRUCTION: kind = "instruction"
            default: kind = "unified"
            }
            let info = CacheInfo(
                level: level, kind: kind, sizeBytes: Int(c.size), lineSize: Int(c.linesize),
                associativity: Int(c.associativity),
                sharedBy: Self.puIndexes(o.pointee.cpuset), instances: objs.count)
            if isInstr { instr.append(info) } else { data.append(info) }
        }
        let corePUs = objects(HWLOC_OBJ_CORE).map { Self.puIndexes($0.pointee.cpuset) }
        return Topology(
            packages: packages.count, cores: count(HWLOC_OBJ_CORE),
            processingUnits: count(HWLOC_OBJ_PU), numaNodes: max(1, count(HWLOC_OBJ_NUMANODE)),
            cpuModel: model, cpuVendor: vendor, caches: data, instructionCaches: instr,
            corePUs: corePUs)
    }
}

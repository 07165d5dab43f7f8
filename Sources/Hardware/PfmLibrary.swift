import CPfm

#if canImport(Glibc)
    import Glibc
#endif

/// A PMU model libpfm4 detects on this machine.
public struct PMUInfo: Codable, Equatable, Sendable {
    public var name: String
    public var description: String
    /// "core", "uncore", "OS generic" or "other".
    public var kind: String
    public var events: Int
    public var genericCounters: Int
    public var fixedCounters: Int

    public init(name: String, description: String, kind: String, events: Int, genericCounters: Int, fixedCounters: Int)
    {
        self.name = name
        self.description = description
        self.kind = kind
        self.events = events
        self.genericCounters = genericCounters
        self.fixedCounters = fixedCounters
    }
}

/// A perf_event_attr produced by libpfm4 for an event name, with the fully qualified name.
public struct EncodedEvent: @unchecked Sendable {
    public var name: String
    public var qualifiedName: String
    public var attr: perf_event_attr
    public var type: UInt32 { attr.type }
    public var config: UInt64 { attr.config }
}

/// libpfm4, initialised once. Only this module imports it.
public enum PfmLibrary {
    private static let initResult: Int32 = pfm_initialize()

    public static func initialize() throws {
        let r = initResult
        if r != PFM_SUCCESS {
            throw HardwareError.pfm(call: "pfm_initialize", code: r, message: message(r), subject: "libpfm4")
        }
    }

    public static func message(_ code: Int32) -> String {
        guard let s = pfm_strerror(code) else { return "unknown error" }
        return String(cString: s)
    }

    /// `pfm_get_pmu_info` for every PMU id libpfm4 has tables for, present here or not.
    static func pmuInfos() throws -> [pfm_pmu_info_t] {
        try initialize()
        return (0..<PFM_PMU_MAX.rawValue).compactMap { raw in
            var info = pfm_pmu_info_t()
            info.size = MemoryLayout<pfm_pmu_info_t>.size
            return pfm_get_pmu_info(pfm_pmu_t(rawValue: raw), &info) == PFM_SUCCESS ? info : nil
        }
    }

    /// Every PMU model the installed libpfm4 has tables for, present here or not (the names
    /// `LIBPFM_FORCE_PMU` accepts and event-set sections may use).
    public static func knownPMUNames() throws -> [String] {
        try pmuInfos().compactMap { $0.name.map { String(cString: $0) } }
    }

    /// The PMU models present here (libpfm4 detects them from CPUID, whether or not the
    /// kernel lets them be opened; the counter probe tells that).
    public static func detectedPMUs() throws -> [PMUInfo] {
        try pmuInfos().filter { $0.is_present != 0 }.map { info in
            let kind: String
            switch info.type {
            case PFM_PMU_TYPE_CORE: kind = "core"
            case PFM_PMU_TYPE_UNCORE: kind = "uncore"
            case PFM_PMU_TYPE_OS_GENERIC: kind = "OS generic"
            default: kind = "other"
            }
            return PMUInfo(
                name: info.name.map { String(cString: $0) } ?? "?",
                description: info.desc.map { String(cString: $0) } ?? "",
                kind: kind, events: Int(info.nevents),
                genericCounters: Int(info.num_cntrs), fixedCounters: Int(info.num_fixed_cntrs))
        }
    }

    /// Encodes an event name (modifiers such as `:u` allowed) with PFM_OS_PERF_EVENT_EXT.
    /// Counts user level by default (PFM_PLM3), as a profiler of user code wants.
    public static func encode(_ name: String) throws -> EncodedEvent {
        try initialize()
        var attr = perf_event_attr()
        var fstr: UnsafeMutablePointer<CChar>? = nil
        var arg = pfm_perf_encode_arg_t()
        arg.size = MemoryLayout<pfm_perf_encode_arg_t>.size
        let r: Int32 = withUnsafeMutablePointer(to: &attr) { ap in
            withUnsafeMutablePointer(to: &fstr) { fp in
                arg.attr = ap
                arg.fstr = fp
                return pfm_get_os_event_encoding(name, PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg)
            }
        }
        defer { free(fstr) }
        guard r == PFM_SUCCESS else {
            throw HardwareError.pfm(
                call: "pfm_get_os_event_encoding", code: r, message: message(r), subject: "event '\(name)'")
        }
        attr.size = UInt32(MemoryLayout<perf_event_attr>.size)
        return EncodedEvent(name: name, qualifiedName: fstr.map { String(cString: $0) } ?? name, attr: attr)
    }
}

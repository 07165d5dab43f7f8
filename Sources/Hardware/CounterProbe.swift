import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Whether one event opens here, and if not, why, in words.
public struct ProbeResult: Codable, Sendable {
    public var event: String
    public var qualifiedName: String?
    public var opened: Bool
    /// Counted over a short busy loop when the event opened (nil otherwise: never 0 for "did not run").
    public var sample: UInt64?
    public var errno: String?
    public var cause: String?
}

/// Probes counter access with `perf_event_open` for a standard list of events.
public enum CounterProbe {
    /// The floating-point operations event of a PMU model, when cnnscope knows one.
    public static func fpEvent(forPMU name: String) -> String? {
        // Zen 1 counts FLOPs per kind and precision (an FMA counts two); Zen 2 and later have ANY.
        if name == "amd64_fam17h" || name == "amd64_fam17h_zen1" {
            return "RETIRED_SSE_AVX_OPERATIONS:SP_MULT_ADD_FLOPS:SP_MULT_FLOPS:SP_ADD_SUB_FLOPS:SP_DIV_FLOPS"
        }
        if name.hasPrefix("amd64_fam19h") || name.hasPrefix("amd64_fam1ah") || name.hasPrefix("amd64_fam17h") {
            return "RETIRED_SSE_AVX_FLOPS:ANY"
        }
        let intel = ["skl", "skx", "clx", "icl", "icx", "spr", "adl_glc", "tgl", "rkl", "emr", "gnr"]
        if intel.contains(where: { name == $0 || name.hasSuffix("::\($0)") }) {
            return "FP_ARITH_INST_RETIRED:256B_PACKED_SINGLE"
        }
        return nil
    }

    /// The standard list: generic hardware events, software events, and the FP event of the
    /// first core PMU detected.
    public static func standardEvents(pmus: [PMUInfo]) -> [String] {
        var list = ["cycles", "instructions", "cache-misses", "task-clock", "page-faults"]
        // libpfm4 lists a deprecated alias (amd64_fam17h) before the model's own name.
        let cores = pmus.filter { $0.kind == "core" }
        let core = cores.first { !$0.description.contains("deprecated") } ?? cores.first
        if let core, let fp = fpEvent(forPMU: core.name) {
            list.append("\(core.name)::\(fp)")
        }
        return list
    }

    /// The likely cause of a perf_event_open failure, in words.
    public static func cause(errno e: Int32) -> String {
        switch e {
        case ENOENT:
            return "this machine exposes no hardware PMU for this event (common in VMs and containers)"
        case EACCES, EPERM:
            let paranoid =
                (try? String(contentsOfFile: "/proc/sys/kernel/perf_event_paranoid", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            return
                """
                not permitted: kernel.perf_event_paranoid is \(paranoid); lower it (sysctl \
                kernel.perf_event_paranoid=1) or run with CAP_PERFMON
                """
        case EOPNOTSUPP:
            return "the PMU cannot count this event in the requested mode"
        case ENODEV:
            return "the kernel has no such PMU on this CPU"
        case EINVAL:
            return "the kernel rejected the event encoding (unsupported event or modifier)"
        case ENOSYS:
            return "perf_event_open is not available (kernel without perf events, or blocked by seccomp)"
        case EMFILE:
            return "too many open files; raise the file descriptor limit"
        case EBUSY:
            return "the counter is in exclusive use by another tool"
        default:
            return Errno.message(e)
        }
    }

    /// Opens each event alone on the calling thread and counts a short busy loop.
    public static func probe(_ events: [String]) -> [ProbeResult] {
        events.map { name in
            let encoded: EncodedEvent
            do { encoded = try PfmLibrary.encode(name) } catch {
                return ProbeResult(
                    event: name, qualifiedName: nil, opened: false, sample: nil,
                    errno: nil, cause: "\(error)")
            }
            do {
                let g = try CounterGroup(events: [encoded])
                try g.reset()
                try g.enable()
                let x = busyLoop(2_000_000)
                try g.disable()
                blackHole(x)
                let r = try g.read().first
                return ProbeResult(
                    event: name, qualifiedName: encoded.qualifiedName, opened: true,
                    sample: r.map { UInt64($0.scaled) }, errno: nil,
                    cause: r == nil ? "opened but never scheduled on the PMU" : nil)
            } catch let e as HardwareError {
                let en = e.errnoValue
                return ProbeResult(
                    event: name, qualifiedName: encoded.qualifiedName, opened: false, sample: nil,
                    errno: en.map(Errno.name), cause: en.map(cause(errno:)) ?? "\(e)")
            } catch {
                return ProbeResult(
                    event: name, qualifiedName: encoded.qualifiedName, opened: false, sample: nil,
                    errno: nil, cause: "\(error)")
            }
        }
    }
}

@inline(never) public func blackHole<T>(_ x: T) { _ = x }

/// A dependent chain of floating-point work the optimiser may neither remove nor move
/// outside the counted region.
@inline(never) @_optimize(none)
public func busyLoop(_ iterations: Int) -> Double {
    var x: Double = 1
    for i in 0..<iterations { x = x * 1.000001 + Double(i & 7) }
    return x
}

import Foundation

/// The CPU's model and SIMD extensions, read from /proc/cpuinfo (Linux).
public struct CPUFeatures: Codable, Sendable {
    public var modelName: String
    public var vendor: String
    public var family: Int?
    public var model: Int?
    public var stepping: Int?
    /// Every flag the kernel reports.
    public var flags: Set<String>

    /// The SIMD extensions cnnscope cares about, in order, with whether each is present.
    public var simd: [(name: String, present: Bool)] {
        let wanted: [(String, String)] = [
            ("SSE4.2", "sse4_2"), ("AVX", "avx"), ("AVX2", "avx2"), ("FMA", "fma"),
            ("AVX-512F", "avx512f"), ("AVX-512VNNI", "avx512_vnni"), ("AVX-512BF16", "avx512_bf16"),
            ("AVX-VNNI", "avx_vnni"), ("AMX-TILE", "amx_tile"),
        ]
        return wanted.map { ($0.0, flags.contains($0.1)) }
    }

    /// Single-precision lanes of the widest vector unit the CPU has.
    public var fp32Lanes: Int { flags.contains("avx512f") ? 16 : (flags.contains("avx") ? 8 : 4) }

    public init(
        modelName: String, vendor: String, family: Int?, model: Int?, stepping: Int? = nil,
        flags: Set<String>
    ) {
        self.modelName = modelName; self.vendor = vendor; self.family = family; self.model = model
        self.stepping = stepping; self.flags = flags
    }

    /// The instruction-set extensions cnnscope's kernels dispatch on, as /proc/cpuinfo names them
    /// (sorted): what makes two machines run different code.
    public static let kernelFlags = [
        "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
        "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8",
    ]

    /// The subset of `kernelFlags` this CPU has.
    public var kernelISA: [String] { Self.kernelFlags.filter { flags.contains($0) } }

    /// The widest vector ISA the kernels can use here: "avx512" (F, BW, VL, DQ, as
    /// `cnns_have_avx512`), "avx2" (with FMA) or "scalar".
    public var bestKernelISA: String {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) { return "avx512" }
        if flags.contains("avx2") && flags.contains("fma") { return "avx2" }
        return "scalar"
    }

    public static func parse(cpuinfo: String) -> CPUFeatures {
        var name = "unknown", vendor = "unknown"
        var family: Int?, model: Int?, stepping: Int?
        var flags = Set<String>()
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else {
                if !flags.isEmpty && line.trimmingCharacters(in: .whitespaces).isEmpty { break }
                continue
            }
            switch parts[0] {
            case "model name": if name == "unknown" { name = parts[1] }
            case "vendor_id": if vendor == "unknown" { vendor = parts[1] }
            case "cpu family": if family == nil { family = Int(parts[1]) }
            case "model": if model == nil { model = Int(parts[1]) }
            case "stepping": if stepping == nil { stepping = Int(parts[1]) }
            case "flags": if flags.isEmpty { flags = Set(parts[1].split(separator: " ").map(String.init)) }
            default: break
            }
        }
        return CPUFeatures(
            modelName: name, vendor: vendor, family: family, model: model, stepping: stepping, flags: flags)
    }

    public static func detect() throws -> CPUFeatures {
        do {
            return parse(cpuinfo: try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
        } catch {
            throw HardwareError.invalid(
                "/proc/cpuinfo: cannot read (\(error.localizedDescription)); CPU features unknown")
        }
    }
}

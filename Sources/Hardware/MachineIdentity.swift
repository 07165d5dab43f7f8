/// What a machine is, as far as cnnscope's numbers are concerned: the CPU (CPUID vendor, family,
/// model, stepping), the instruction sets the kernels dispatch on, cores and processing units,
/// every cache level's size and count (hwloc), NUMA nodes and the OpenBLAS kernel family.
/// Two machines with the same identity run the same code against the same cache hierarchy, so
/// measured ceilings and `auto` choices carry over between them; anything else does not. The
/// host name is a label, never part of the key (VMs are often all called `vm`).
public struct MachineIdentity: Codable, Equatable, Hashable, Sendable {
    public struct CacheLevel: Codable, Equatable, Hashable, Sendable {
        public var level: Int
        public var sizeBytes: Int
        public var instances: Int

        public init(level: Int, sizeBytes: Int, instances: Int) {
            self.level = level; self.sizeBytes = sizeBytes; self.instances = instances
        }
    }

    public var vendor: String
    public var family: Int?
    public var model: Int?
    public var stepping: Int?
    /// "zen3", "zen4", "icelake-server", ... from the vendor, family and model; "unknown" otherwise.
    public var microarchitecture: String
    /// The kernel-relevant ISA flags present (sorted as `CPUFeatures.kernelFlags`).
    public var isa: [String]
    public var cores: Int
    public var processingUnits: Int
    public var caches: [CacheLevel]
    public var numaNodes: Int
    /// OpenBLAS' kernel family (`openblas_get_corename`), which decides its GEMM code.
    public var blasCore: String

    public init(
        vendor: String, family: Int?, model: Int?, stepping: Int?, isa: [String], cores: Int,
        processingUnits: Int, caches: [CacheLevel], numaNodes: Int, blasCore: String
    ) {
        self.vendor = vendor; self.family = family; self.model = model; self.stepping = stepping
        self.isa = isa; self.cores = cores; self.processingUnits = processingUnits
        self.caches = caches.sorted { $0.level < $1.level }; self.numaNodes = numaNodes; self.blasCore = blasCore
        microarchitecture = Self.microarchitecture(vendor: vendor, family: family, model: model, isa: isa)
    }

    /// The identity of the machine described by `cpu` and `topology`.
    public init(cpu: CPUFeatures, topology: Topology, blasCore: String) {
        self.init(
            vendor: cpu.vendor, family: cpu.family, model: cpu.model, stepping: cpu.stepping,
            isa: cpu.kernelISA, cores: topology.cores, processingUnits: topology.processingUnits,
            caches: topology.caches.map {
                CacheLevel(level: $0.level, sizeBytes: $0.sizeBytes, instances: $0.instances)
            },
            numaNodes: topology.numaNodes, blasCore: blasCore)
    }

    /// Every field in a fixed order: the text the fingerprint hashes.
    public var canonical: String {
        func n(_ v: Int?) -> String { v.map(String.init) ?? "?" }
        let c = caches.map { "L\($0.level):\($0.sizeBytes)x\($0.instances)" }.joined(separator: ",")
        return "vendor=\(vendor);family=\(n(family));model=\(n(model));stepping=\(n(stepping));"
            + "isa=\(isa.joined(separator: ","));cores=\(cores);pus=\(processingUnits);caches=\(c);"
            + "numa=\(numaNodes);blas=\(blasCore)"
    }

    /// Six hex digits of the FNV-1a hash of `canonical`.
    public var fingerprint: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in canonical.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        let hex = String(h >> 40, radix: 16)
        return String(repeating: "0", count: max(0, 6 - hex.count)) + hex
    }

    /// A readable, file-name-safe key: `amd-zen4-2c-l3-32m-1a2b3c` (vendor, microarchitecture,
    /// cores, the last cache level and its total size, fingerprint).
    public var name: String {
        let v: String
        switch vendor {
        case "AuthenticAMD": v = "amd"
        case "GenuineIntel": v = "intel"
        default: v = vendor.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(8).description
        }
        var parts = [v.isEmpty ? "cpu" : v, microarchitecture, "\(cores)c"]
        if let last = caches.last {
            let total = last.sizeBytes * max(1, last.instances)
            let size = total >= 1 << 20 ? "\(total >> 20)m" : "\(total >> 10)k"
            parts.append("l\(last.level)-\(size)")
        }
        parts.append(fingerprint)
        return parts.joined(separator: "-")
    }

    /// Names the microarchitecture from CPUID's family and model (AMD Zen generations and the
    /// Intel server/client cores libpfm4 and cnnscope's event sets know).
    public static func microarchitecture(vendor: String, family: Int?, model: Int?, isa: [String]) -> String {
        guard let f = family, let m = model else { return "unknown" }
        switch vendor {
        case "AuthenticAMD":
            switch f {
            case 0x17: return m >= 0x30 ? "zen2" : "zen1"
            case 0x19:
                // Zen 4 parts: models 0x10-0x1f, 0x60-0x7f, 0xa0-0xaf; a VM that hides the model
                // still shows AVX-512, which Zen 3 lacks.
                if (0x10...0x1f).contains(m) || (0x60...0x7f).contains(m) || (0xa0...0xaf).contains(m)
                    || isa.contains("avx512f")
                {
                    return "zen4"
                }
                return "zen3"
            case 0x1a: return "zen5"
            default: return "amd-f\(String(f, radix: 16))"
            }
        case "GenuineIntel":
            guard f == 6 else { return "intel-f\(f)" }
            switch m {
            case 0x4e, 0x5e, 0x8e, 0x9e, 0xa5, 0xa6: return "skylake"
            case 0x55: return "skylake-server"
            case 0x6a, 0x6c: return "icelake-server"
            case 0x7d, 0x7e: return "icelake"
            case 0x8c, 0x8d: return "tigerlake"
            case 0x8f: return "sapphirerapids"
            case 0xcf: return "emeraldrapids"
            case 0x97, 0x9a, 0xb7, 0xba, 0xbf: return "alderlake"
            default: return "intel-m\(String(m, radix: 16))"
            }
        default:
            return "f\(f)m\(m)"
        }
    }
}

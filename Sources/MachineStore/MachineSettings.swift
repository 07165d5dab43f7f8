import Foundation
import Hardware
import Kernels

/// Which machine record a run uses: this machine's, from the cache folder, or one given
/// explicitly (`--machine FILE`, used as it is and never updated).
public struct MachineSettings: Sendable {
    /// A record file to use instead of this machine's cached one.
    public var recordFile: String?
    /// The cache folder (machines/<identity>.json below it); nil is the environment's default.
    public var cacheDir: String?

    public init(recordFile: String? = nil, cacheDir: String? = nil) {
        (self.recordFile, self.cacheDir) = (recordFile, cacheDir)
    }

    /// This machine's identity and its record (or the explicit one).
    public func open(
        cpu: CPUFeatures?, topology: Topology?, environment: [String: String], log: @escaping (String) -> Void
    ) throws -> MachineSession {
        let dir = MachineRecordStore.defaultDirectory(explicit: cacheDir, environment: environment)
        let store = MachineRecordStore(directory: dir, log: log)
        do {
            return try MachineSession(
                identity: Self.identity(cpu: cpu, topology: topology), host: HostName.current(),
                cpuModel: cpu?.modelName ?? "unknown", store: store, explicitRecord: recordFile, log: log)
        } catch { throw MachineSettingsError(description: "--machine \(error)") }
    }

    /// The identity of a machine; unknown parts (no CPUID, no hwloc) become "unknown" and one core.
    public static func identity(cpu: CPUFeatures?, topology: Topology?) -> MachineIdentity {
        let c = cpu ?? CPUFeatures(modelName: "unknown", vendor: "unknown", family: nil, model: nil, flags: [])
        let t =
            topology
            ?? Topology(
                packages: 1, cores: 1, processingUnits: 1, numaNodes: 1, cpuModel: c.modelName,
                cpuVendor: c.vendor, caches: [], instructionCaches: [], corePUs: [[0]])
        return MachineIdentity(cpu: c, topology: t, blasCore: Blas.coreName)
    }
}

/// An explicit record that cannot be used, worded for the user.
public struct MachineSettingsError: Error, CustomStringConvertible {
    public let description: String
}

extension MachineSession {
    /// The record's ceilings, measured now on all cores (pinned) when it has none.
    public func ceilings(cpu: CPUFeatures, topology: Topology, hwloc: HwlocTopology?) -> MachineCeilings {
        ceilings {
            let pool = WorkerPool(threads: topology.cores, policy: .compact, topology: hwloc)
            return CeilingProbe.measure(topology: topology, features: cpu, pool: pool)
        }
    }
}

extension MachineReport {
    /// `cnnscope machine`: what can be read about this machine (each part that cannot becomes a
    /// line saying why), with its ceilings measured and saved when `measure`; with `levels` too
    /// (names as `CeilingProbe.levelNames`, any case), only those levels' bandwidth, not saved. Throws
    /// when nothing at all could be read, or for a level this machine does not have.
    public static func survey(
        settings: MachineSettings, measure: Bool, levels: [String]? = nil, environment: [String: String],
        log: @escaping (String) -> Void
    ) throws -> MachineReport {
        var topo: HwlocTopology?, topology: Topology?, topologyError: String?
        do {
            let t = try HwlocTopology()
            (topo, topology) = (t, t.snapshot())
        } catch { topologyError = "\(error)" }
        var cpu: CPUFeatures?, cpuError: String?
        do { cpu = try CPUFeatures.detect() } catch { cpuError = "\(error)" }
        let selected = try levels.map { try selectLevels($0, topology: topology) }
        let session = try settings.open(cpu: cpu, topology: topology, environment: environment, log: log)
        let report = survey(
            session: session, hwloc: topo, topology: topology, topologyError: topologyError, cpu: cpu,
            cpuError: cpuError, measure: measure, levels: selected, host: HostName.current())
        if report.readNothing {
            throw MachineSettingsError(
                description: """
                    nothing could be read about this machine: \(topologyError ?? ""); \(cpuError ?? ""); \
                    \(report.pmuError ?? "")
                    """)
        }
        return report
    }

    /// The levels named in `names` as the ceilings name them (L1, L2, L3, DRAM), or an error naming
    /// the first one this machine lacks and listing those it has.
    static func selectLevels(_ names: [String], topology: Topology?) throws -> Set<String> {
        guard let topology else {
            throw MachineSettingsError(
                description: "--level needs the cache levels from hwloc, which could not be read; drop --level")
        }
        let known = CeilingProbe.levelNames(topology)
        return Set(
            try names.map { name in
                guard let level = known.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) else {
                    throw MachineSettingsError(
                        description: "--level \(name): no such level on this machine; use one of "
                            + known.joined(separator: ", "))
                }
                return level
            })
    }
}

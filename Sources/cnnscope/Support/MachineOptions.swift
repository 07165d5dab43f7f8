import ArgumentParser
import Foundation
import Hardware
import Kernels
import MachineStore
import Profiling
import Reports
import Runtime

/// `--machine FILE` and `--cache-dir DIR`: which machine record a run uses.
struct MachineOptions: ParsableArguments {
    @Option(
        help:
            """
            Use this machine record (JSON written by cnnscope machine --measure) for the ceilings and auto's \
            choices instead of this machine's cached one; it is used as it is and never updated.
            """
    )
    var machine: String?

    @Option(
        help:
            """
            The folder for measured ceilings and auto's choices (machines/<identity>.json below it); the default \
            is $CNNSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/cnnscope, else ~/.cache/cnnscope.
            """
    )
    var cacheDir: String?

    /// This machine's identity and record.
    func session(cpu: CPUFeatures?, topology: Topology?) throws -> MachineSession {
        try Self.session(cacheDir: cacheDir, explicitRecord: machine, cpu: cpu, topology: topology)
    }

    /// The record store of `cacheDir` (or the environment's default) and this machine's record in
    /// it, or the explicit record.
    static func session(
        cacheDir: String?, explicitRecord: String?, cpu: CPUFeatures?,
        topology: Topology?
    ) throws -> MachineSession {
        let dir = MachineRecordStore.defaultDirectory(
            explicit: cacheDir, environment: ProcessInfo.processInfo.environment)
        let store = MachineRecordStore(directory: dir, log: Console.error)
        do {
            return try MachineSession(
                identity: identity(cpu: cpu, topology: topology), host: ProfilesDirectory.hostName,
                cpuModel: cpu?.modelName ?? "unknown", store: store,
                explicitRecord: explicitRecord, log: Console.error)
        } catch { throw CLIError("--machine \(error)") }
    }

    static func identity(cpu: CPUFeatures?, topology: Topology?) -> MachineIdentity {
        let c = cpu ?? CPUFeatures(modelName: "unknown", vendor: "unknown", family: nil, model: nil, flags: [])
        let t =
            topology
            ?? Topology(
                packages: 1, cores: 1, processingUnits: 1, numaNodes: 1, cpuModel: c.modelName,
                cpuVendor: c.vendor, caches: [], instructionCaches: [], corePUs: [[0]])
        return MachineIdentity(cpu: c, topology: t, blasCore: Blas.coreName)
    }
}

extension MachineSession {
    /// The record's ceilings, measured now on all cores (pinned) when it has none.
    func ceilings(cpu: CPUFeatures, topology: Topology, hwloc: HwlocTopology?) -> MachineCeilings {
        ceilings {
            let pool = WorkerPool(threads: topology.cores, policy: .compact, topology: hwloc)
            return CeilingProbe.measure(topology: topology, features: cpu, pool: pool)
        }
    }
}

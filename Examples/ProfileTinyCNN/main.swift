// Profiles tiny-cnn through CnnscopeKit, as `cnnscope profile` does: machine identity and cached
// ceilings, the pinned pool, then ModelProfiler. Run: swift run profile-example [Profiles/models]
import Datasets
import Foundation
import Hardware
import Kernels
import MachineStore
import Profiling
import Training

let models = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "Profiles/models")
let profile = try ModelProfile.load(named: "tiny-cnn", in: models)
let hwloc = try HwlocTopology(), topology = hwloc.snapshot(), cpu = try CPUFeatures.detect()
Blas.threads = 1  // one OpenBLAS thread inside each pinned worker
let pool = WorkerPool(threads: topology.cores, policy: .compact, topology: hwloc)
let identity = MachineIdentity(cpu: cpu, topology: topology, blasCore: Blas.coreName)
let cache = MachineRecordStore.defaultDirectory(explicit: nil, environment: ProcessInfo.processInfo.environment)
let machine = try MachineSession(
    identity: identity, host: HostName.current(), cpuModel: cpu.modelName,
    store: MachineRecordStore(directory: cache, log: { print($0) }), explicitRecord: nil,
    log: { print($0) })
let ceilings = machine.ceilings { CeilingProbe.measure(topology: topology, features: cpu, pool: pool) }
let options = ConvOptions().sized(
    l2Bytes: topology.cache(level: 2)?.sizeBytes, l3Bytes: topology.cache(level: 3)?.sizeBytes,
    workers: pool.width)
let profiler = ModelProfiler(
    pool: pool, threads: pool.width, options: options, session: nil,
    roofline: RooflineBuilder.roofline(ceilings, threads: pool.width, topology: topology),
    machine: RunAssembler.machineSummary(topology, cpu: cpu, pmus: [], ceilings: ceilings, identity: identity),
    selector: machine.selector(options: options))
let batch = Dataset.synthetic(count: 32, shape: [28, 28, 1], seed: 1)
let (report, _) = try profiler.profile(
    ModelProfileRequest(
        profile: profile, batch: batch, fixedShape: nil, algorithms: ["im2col", "auto"], repetitions: 3,
        trainingStep: false,
        weights: nil, seed: 1, datasetLabel: "synthetic", commandLine: "profile-example", bind: "compact"))
machine.keep(profiler.selector)
print(RunAssembler.summary(report))

// Profiles tiny-cnn through CnnscopeKit, as `cnnscope profile` does: the pinned pool, this machine's
// identity and cached ceilings, then ModelProfiler. Run: swift run profile-example
import Datasets
import Foundation
import MachineStore
import Profiling
import Runtime

let environment = ProcessInfo.processInfo.environment
let env = try RunEnvironment(
    execution: ExecutionSettings(), machine: MachineSettings(),
    profiles: ProfilesFolder.locate(
        environment: environment, executable: URL(fileURLWithPath: CommandLine.arguments[0])),
    environment: environment, commandLine: "profile-example", log: { print($0) }, warn: { print($0) })
let (roofline, machine) = try env.roofline()
let profiler = ModelProfiler(
    pool: env.pool, threads: env.threads, options: env.options, session: nil, roofline: roofline, machine: machine,
    selector: env.selector)
let (report, _) = try profiler.profile(
    ModelProfileRequest(
        profile: try env.model("tiny-cnn"), batch: Dataset.synthetic(count: 32, shape: [28, 28, 1], seed: 1),
        fixedShape: nil, algorithms: ["im2col", "auto"], repetitions: 3, trainingStep: false, weights: nil, seed: 1,
        datasetLabel: "synthetic", commandLine: "profile-example", bind: "compact"))
env.finish()
print(RunAssembler.summary(report))

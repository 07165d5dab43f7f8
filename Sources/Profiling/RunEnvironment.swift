import Foundation
import Hardware
import Kernels
import MachineStore
import Profiler
import Reports
import Roofline
import Runtime
import Training

/// What every workflow starts from: the pinned pool and kernel options, this machine's identity
/// and record, the Profiles folder, and where progress lines and warnings go. The tool builds
/// one from its options; everything the process environment says arrives here, read once.
public final class RunEnvironment {
    public let runtime: ExecutionRuntime
    public let machine: MachineSession
    public let cpu: CPUFeatures?
    public let profiles: ProfilesFolder?
    public let environment: [String: String]
    /// The command line, recorded in run files.
    public let commandLine: String
    /// Progress lines (standard output in the tool).
    public let log: (String) -> Void
    /// Warnings (standard error in the tool).
    public let warn: (String) -> Void
    /// auto's choices on this machine; kept in the record by `finish()`.
    public private(set) lazy var selector: AutoSelector = machine.selector(options: runtime.options)
    /// The machine's CPU times when the run began (nil where /proc/stat cannot be read): `finish()`
    /// says how much of the run's CPU time the host took away.
    private let startTimes = try? HostCPUTimes.read()

    public init(
        execution: ExecutionSettings, machine: MachineSettings, profiles: ProfilesFolder?,
        environment: [String: String], commandLine: String, log: @escaping (String) -> Void,
        warn: @escaping (String) -> Void
    ) throws {
        runtime = execution.runtime(environment: environment)
        cpu = try? CPUFeatures.detect()
        self.machine = try machine.open(
            cpu: cpu, topology: runtime.topology, environment: environment, log: warn)
        (self.profiles, self.environment, self.commandLine, self.log, self.warn) =
            (profiles, environment, commandLine, log, warn)
    }

    public var pool: WorkerPool { runtime.pool }
    public var threads: Int { runtime.threads }
    public var options: ConvOptions { runtime.options }
    public var identityName: String { machine.identity.name }

    /// A model by name, .yaml path or .onnx file.
    public func model(_ name: String) throws -> ModelProfile { try ProfilesFolder.model(name, in: profiles) }

    /// The topology and CPU, which the roofline and the ceilings need.
    public func hardware() throws -> (topology: Topology, cpu: CPUFeatures) {
        guard let t = runtime.topology else {
            throw WorkflowError("hwloc could not read the topology; the roofline needs the cache sizes")
        }
        return (t, try cpu ?? CPUFeatures.detect())
    }

    /// This machine's ceilings (measured now and cached when the record has none), its roofline
    /// for the run's threads, and the machine section of a report.
    public func roofline() throws -> (roofline: Roofline, machine: MachineSummary) {
        let (topology, cpu) = try hardware()
        let ceilings = machine.ceilings(cpu: cpu, topology: topology, hwloc: runtime.hwloc)
        let pmus = (try? PfmLibrary.detectedPMUs()) ?? []
        return (
            RooflineBuilder.roofline(ceilings, threads: threads, topology: topology),
            RunAssembler.machineSummary(
                topology, cpu: cpu, pmus: pmus, ceilings: ceilings, identity: machine.identity)
        )
    }

    /// A counter session for `--events NAME` on the pool (nil without it).
    public func counterSession(_ eventSet: String?) throws -> CounterSession? {
        try CounterSession.open(setNamed: eventSet, profiles: profiles, pool: pool)
    }

    /// The folder a run writes: the one given, else <reports>/<identity>/<name>-<UTC time>, where <reports>
    /// is `reportsRoot(environment:)`, outside any checkout; `{machine}` in either is this machine's identity
    /// (a sweep task names its folder so).
    public func outputFolder(_ given: String?, name: String, date: Date = Date()) -> String {
        (given ?? "\(Self.reportsRoot(environment: environment))/{machine}/\(name)-\(Self.timestamp(date))")
            .replacingOccurrences(of: "{machine}", with: identityName)
    }

    /// Where reports go by default: `$CNNSCOPE_REPORTS_DIR`, else `$XDG_DATA_HOME/cnnscope/reports`, else
    /// `~/.local/share/cnnscope/reports` (the user's data, never the source tree); `Reports` in the current
    /// folder only when there is no home folder.
    public static func reportsRoot(environment: [String: String]) -> String {
        if let d = environment["CNNSCOPE_REPORTS_DIR"], !d.isEmpty { return d }
        if let d = environment["XDG_DATA_HOME"], !d.isEmpty { return d + "/cnnscope/reports" }
        if let h = environment["HOME"], !h.isEmpty { return h + "/.local/share/cnnscope/reports" }
        return "Reports"
    }

    /// yyyyMMdd-HHmmss in UTC.
    public static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        f.locale = Locale(identifier: "en_US_POSIX")
        return f.string(from: date)
    }

    /// Keeps the choices auto measured in this machine's record, and warns when the host took away
    /// more than `ProfileReport.hostStealCaution` of the CPU time while the run went on; returns that
    /// share.
    @discardableResult
    public func finish() -> Double? {
        machine.keep(selector)
        return reportHostSteal()
    }

    /// The share of the machine's CPU time the host took away since the run began (nil where
    /// /proc/stat cannot be read, or no tick has passed), with a warning above
    /// `ProfileReport.hostStealCaution`.
    @discardableResult
    public func reportHostSteal() -> Double? {
        guard let start = startTimes, let now = try? HostCPUTimes.read() else { return nil }
        let fraction = now.stealFraction(since: start)
        if let line = Self.stealWarning(fraction) { warn(line) }
        return fraction
    }

    /// The warning for a run over which the host took away `fraction` of the CPU time, or nil at or
    /// below `ProfileReport.hostStealCaution`, the reports' threshold too (or when it is unknown).
    public static func stealWarning(_ fraction: Double?) -> String? {
        guard let fraction, fraction > ProfileReport.hostStealCaution else { return nil }
        return String(
            format: """
                warning: the host took away %.0f%% of this machine's CPU time during the run (steal time, \
                measured from /proc/stat as vmstat's st): its timings ran slower than this machine runs \
                alone; compare ratios measured side by side, or run again when the host is quieter
                """, fraction * 100)
    }
}

/// A workflow that cannot go on, worded for the user.
public struct WorkflowError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

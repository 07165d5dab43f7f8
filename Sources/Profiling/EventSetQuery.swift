import Figures
import Foundation
import Hardware
import Profiler

/// `cnnscope events`: the shipped event sets against this machine's PMUs, or translated to
/// another libpfm4 PMU model.
public struct EventSetQuery {
    /// One set only (with its long description), or every set.
    public var set: String?
    public var profiles: ProfilesFolder?

    public init(set: String?, profiles: ProfilesFolder?) { (self.set, self.profiles) = (set, profiles) }

    /// What a translation needs: text to print, or this command run again with libpfm4 forced
    /// to load another PMU's tables.
    public enum Translation {
        case text(String)
        case rerun(forcing: String)
    }

    func sets() throws -> [EventSet] {
        guard let dir = profiles?.folder("events") else { throw ProfilesFolder.missing("events") }
        return try (set.map { [$0] } ?? EventSet.available(in: dir)).map { try EventSet.load(named: $0, in: dir) }
    }

    /// Every set, with which events open here and why the others do not.
    public func listing() throws -> String {
        let pmus: [PMUInfo]
        do { pmus = try PfmLibrary.detectedPMUs() } catch { throw WorkflowError("libpfm4: \(error)") }
        let software = profiles.flatMap { try? EventSet.load(named: "SOFTWARE", in: $0.folder("events")) }
        return EventSetListing.text(sets: try sets(), software: software, pmus: pmus, long: set != nil)
    }

    /// Every set's section for `pmu`, encoded with its tables. libpfm4 encodes only for PMUs it
    /// treats as present, so another machine's PMU needs a child process with LIBPFM_FORCE_PMU
    /// (libpfm4 reads it once, at initialisation).
    public func translate(pmu: String, json: Bool, environment: [String: String]) throws -> Translation {
        let detected = ((try? PfmLibrary.detectedPMUs()) ?? []).map(\.name)
        if pmu != "generic" && !detected.contains(pmu) {
            let known = (try? PfmLibrary.knownPMUNames()) ?? []
            guard known.contains(pmu) else {
                let cores = known.filter { !$0.contains("_unc") && !$0.hasPrefix("perf") }
                throw WorkflowError(
                    "--pmu: unknown PMU '\(pmu)'; libpfm4 knows: generic, \(cores.joined(separator: ", "))")
            }
            guard environment["LIBPFM_FORCE_PMU"] != pmu else {
                throw WorkflowError("--pmu \(pmu): libpfm4 did not load it even with LIBPFM_FORCE_PMU=\(pmu)")
            }
            return .rerun(forcing: pmu)
        }
        let translations = try sets().map { EventSetTranslation.translate($0, pmu: pmu) }
        return .text(json ? try JSONText.pretty(translations) : EventSetListing.text(translations, pmu: pmu))
    }

    /// `translate`, with another PMU's translation made by running this executable again (its
    /// output passed through): the text to print, if any, and the child's exit status.
    public func translated(pmu: String, json: Bool, environment: [String: String], arguments: [String]) throws
        -> (text: String?, status: Int32)
    {
        switch try translate(pmu: pmu, json: json, environment: environment) {
        case .text(let text): return (text, 0)
        case .rerun(let forced):
            let me = URL(fileURLWithPath: "/proc/self/exe")
            return (nil, try Self.rerun(me, arguments: arguments, forcing: forced, environment: environment))
        }
    }

    /// Runs `executable` with `arguments` again with LIBPFM_FORCE_PMU=pmu, its output passed
    /// through; returns its exit status.
    public static func rerun(
        _ executable: URL, arguments: [String], forcing pmu: String, environment: [String: String]
    ) throws -> Int32 {
        let p = Process()
        p.standardInput = FileHandle.nullDevice  // children never read this process's input
        p.executableURL = executable
        p.arguments = arguments
        var env = environment
        env["LIBPFM_FORCE_PMU"] = pmu
        p.environment = env
        do { try p.run() } catch { throw WorkflowError("--pmu \(pmu): cannot start a child process: \(error)") }
        p.waitUntilExit()
        return p.terminationStatus
    }
}

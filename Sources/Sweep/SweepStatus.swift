import Figures
import Foundation

/// Where one task stands.
public enum SweepTaskState: String, Codable, Sendable, CaseIterable {
    /// Its run folder holds a report.
    case done
    case running, pending
    /// It ended with a non-zero status, or Slurm says it failed (node failure, time limit, ...).
    case failed
    /// Never submitted, or Slurm has no trace of it.
    case missing
}

public struct SweepTaskStatus: Sendable {
    public var task: SweepTask
    public var state: SweepTaskState
    /// The run folder with the report (done), or why it failed.
    public var detail: String
    /// The newest log of the task, if any.
    public var log: String?
}

public struct SweepStatusReport: Sendable {
    public var tasks: [SweepTaskStatus]
    public func count(_ s: SweepTaskState) -> Int { tasks.filter { $0.state == s }.count }
    public var summary: String {
        SweepTaskState.allCases.map { "\(count($0)) \($0.rawValue)" }.joined(separator: ", ")
    }

    /// A line per task (JSON lines when `json`), then the summary line for `folder`.
    public func text(json: Bool, folder: String) throws -> String {
        let lines = try tasks.map { t -> String in
            guard json else {
                let log = t.log.map { "  log: \($0)" } ?? ""
                return "\(t.task.id)  \(t.task.model)  \(t.state.rawValue)  \(t.detail)\(log)"
            }
            let line: [String: String] = [
                "task": t.task.id, "model": t.task.model, "state": t.state.rawValue, "detail": t.detail,
                "log": t.log ?? "",
            ]
            return try JSONText.line(line)
        }
        return (lines + ["Sweep \(folder): \(summary)"]).joined(separator: "\n")
    }
}

/// Reads a sweep's state from its folder (reports, exit files, logs) and from Slurm (squeue for
/// live tasks; sacct, where accounting is kept, for how ended ones ended).
public struct SweepStatusReader {
    public let runner: CommandRunner
    public init(runner: CommandRunner) { self.runner = runner }

    /// The run folder a task wrote, whatever machine identity it ran under.
    /// `list` gives a folder's entries (the status reads each folder once for all tasks).
    static func runFolders(_ t: SweepTask, folder: String, list: (String) -> [String]) -> [String] {
        let parts = t.runFolder.components(separatedBy: "{machine}")
        guard parts.count == 2 else { return ["\(folder)/\(t.runFolder)"] }
        let base = "\(folder)/\(parts[0])"
        return list(base).map { "\(base)\($0)\(parts[1])" }
    }

    public func status(folder: String) throws -> SweepStatusReport {
        let m = try SweepManifest.load(folder: folder)
        let jobs = m.submissions.map(\.jobID)
        let ids = jobs.joined(separator: ",")
        let liveAnswer = jobs.isEmpty ? [:] : slurmStates(["squeue", "-h", "-r", "-o", "%i|%T", "-j", ids])
        let live = liveAnswer ?? [:]
        let ended =
            (jobs.isEmpty ? [:] : slurmStates(["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", ids])) ?? [:]
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: "\(folder)/logs")) ?? []
        var listings: [String: [String]] = [:]
        func entries(_ dir: String) -> [String] {
            if let l = listings[dir] { return l }
            let l = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.sorted() ?? []
            listings[dir] = l
            return l
        }
        var out: [SweepTaskStatus] = []
        for t in m.tasks {
            let submitted = m.submissions.filter { $0.group == t.group && $0.indices.contains(t.index) }
            let log = logs.filter { $0.hasPrefix("\(t.group)-") && $0.hasSuffix("_\(t.index).out") }.sorted().last
                .map { "\(folder)/logs/\($0)" }
            var st = SweepTaskStatus(task: t, state: .missing, detail: "not submitted", log: log)
            if let done = Self.runFolders(t, folder: folder, list: entries).first(where: {
                FileManager.default.fileExists(atPath: "\($0)/report.json")
            }) {
                st.state = .done
                st.detail = done
            } else if let last = submitted.last {
                let key = "\(last.jobID)_\(t.index)"
                let exit = (try? String(contentsOfFile: "\(folder)/status/\(t.id).exit", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if let s = live[key] {
                    st.state = s == "PENDING" ? .pending : .running
                    st.detail = "job \(key) \(s.lowercased())"
                } else if let e = exit, e != "0" {
                    st.state = .failed
                    st.detail = "exited with status \(e)"
                } else if let s = ended[key], !["COMPLETED", "RUNNING", "PENDING"].contains(s) {
                    st.state = .failed
                    st.detail = "Slurm: \(s)"
                } else if exit == "0" {
                    st.state = .failed
                    st.detail = "exited 0 but wrote no report"
                } else if log != nil {
                    st.state = .failed
                    st.detail = "ended without an exit status (the node or the job died)"
                } else if liveAnswer == nil {
                    st.detail = "job \(key): squeue did not answer (is SLURM_CONF set for this cluster?)"
                } else {
                    st.detail = "job \(key): Slurm has no trace of it"
                }
            }
            out.append(st)
        }
        return SweepStatusReport(tasks: out)
    }

    /// "JOBID_INDEX" → state, from squeue or sacct; nil when the command is missing or fails
    /// (sacct without accounting storage, squeue without a controller).
    func slurmStates(_ argv: [String]) -> [String: String]? {
        guard runner.locate(argv[0]) != nil, let r = try? runner.run(argv), r.status == 0 else { return nil }
        var states: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count >= 2 else { continue }
            states[f[0]] = String(f[1].split(separator: " ").first ?? "")
        }
        return states
    }
}

import Foundation

/// Submits a planned sweep's job arrays with sbatch and records the job ids in the manifest.
public struct SweepSubmitter {
    public let runner: CommandRunner
    public init(runner: CommandRunner) { self.runner = runner }

    /// The sbatch command lines for every group (all tasks, or only `indices` per group).
    public static func commands(_ m: SweepManifest, folder: String, indices: [String: [Int]]? = nil) -> [(
        String, [String]
    )] {
        m.groups.compactMap { g in
            var argv = ["sbatch", "--parsable"]
            if let only = indices {
                guard let list = only[g.name], !list.isEmpty else { return nil }
                argv.append("--array=\(list.map(String.init).joined(separator: ","))")
            }
            return (g.name, argv + ["\(folder)/\(g.script)"])
        }
    }

    /// Submits; with `onlyFailed`, only tasks `status` reports as failed are submitted again.
    /// Without sbatch on PATH it throws, and the error carries the lines to run by hand.
    public func submit(folder: String, onlyFailed: Bool, now: String) throws -> (SweepManifest, [SweepSubmission]) {
        var m = try SweepManifest.load(folder: folder)
        var indices: [String: [Int]]?
        if onlyFailed {
            let report = try SweepStatusReader(runner: runner).status(folder: folder)
            var picked: [String: [Int]] = [:]
            for t in report.tasks where t.state == .failed { picked[t.task.group, default: []].append(t.task.index) }
            guard !picked.isEmpty else { throw SweepError("\(folder): no failed tasks to submit again") }
            indices = picked
        } else if !m.submissions.isEmpty {
            let jobs = m.submissions.map(\.jobID).joined(separator: ", ")
            throw SweepError(
                "\(folder): the sweep was submitted already (job \(jobs)); "
                    + "use --failed to submit the failed tasks again")
        }
        let cmds = Self.commands(m, folder: folder, indices: indices)
        guard runner.locate("sbatch") != nil else {
            throw SweepError(
                "sbatch is not on PATH (no Slurm here); run these on a Slurm login node:\n"
                    + cmds.map { ShellQuote.line($0.1) }.joined(separator: "\n"))
        }
        var made: [SweepSubmission] = []
        for (group, argv) in cmds {
            let r = try runner.run(argv)
            let id = r.stdout.split(separator: "\n").first.map { String($0.split(separator: ";")[0]) } ?? ""
            guard r.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
                // What was submitted before the failure is kept, so status still finds it.
                m.submissions += made
                try? m.save(folder: folder)
                let why = r.stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }.joined(separator: "; ")
                throw SweepError(
                    "`\(ShellQuote.line(argv))` failed (exit \(r.status)): \(why.isEmpty ? r.stdout : why)")
            }
            let idx = indices?[group] ?? m.tasks.filter { $0.group == group }.map(\.index)
            made.append(SweepSubmission(group: group, jobID: id, indices: idx, submittedAt: now))
        }
        m.submissions += made
        try m.save(folder: folder)
        return (m, made)
    }

    /// Submits, and returns a line per submitted group.
    public func submitText(folder: String, onlyFailed: Bool, now: String) throws -> String {
        try submit(folder: folder, onlyFailed: onlyFailed, now: now).1.map { s in
            let tasks = s.indices.map(String.init).joined(separator: ",")
            return "Submitted group \(s.group): job \(s.jobID), array tasks \(tasks)"
        }.joined(separator: "\n")
    }
}

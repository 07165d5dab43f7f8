import Figures
import Foundation

/// What `sweep plan` is asked for.
public struct SweepPlanRequest: Sendable {
    /// The sweep folder (made absolute, since jobs run elsewhere).
    public var folder: String
    public var models: [String]
    public var algorithms: String
    public var batchSizes: [Int]
    public var threads: [Int]
    /// One machine group per partition and per constraint; none: one group with Slurm's defaults.
    public var partitions: [String]
    public var constraints: [String]
    /// Other `profile` options, passed to every task as given (`--dataset synthetic`).
    public var passThrough: [String]
    /// The cnnscope executable the jobs run (absolute path, as the nodes see it).
    public var executable: String
    public var version: String

    public init(
        folder: String, models: [String], algorithms: String, batchSizes: [Int], threads: [Int], partitions: [String],
        constraints: [String], passThrough: [String], executable: String, version: String
    ) {
        self.folder = folder; self.models = models; self.algorithms = algorithms; self.batchSizes = batchSizes
        self.threads = threads; self.partitions = partitions; self.constraints = constraints
        self.passThrough = passThrough; self.executable = executable; self.version = version
    }

    /// The request from `sweep plan`'s options as typed: comma-separated models, batch sizes and
    /// thread counts; other `profile` options after `--` (never `--output`, which each task sets).
    public init(
        folder: String, models: String, algorithms: String, batchSizes: String, threads: String,
        partitions: [String], constraints: [String], passThrough: [String], executable: String, version: String
    ) throws {
        if passThrough.contains("--output") { throw SweepError("--output is set per task by the sweep.") }
        self.init(
            folder: folder, models: models.split(separator: ",").map(String.init), algorithms: algorithms,
            batchSizes: try IntegerList.parse(batchSizes, option: "--batch-sizes"),
            threads: try IntegerList.parse(threads, option: "--threads"), partitions: partitions,
            constraints: constraints, passThrough: passThrough, executable: executable, version: version)
    }
}

/// Plans a sweep: every (model, batch size, threads) on every machine group, as one Slurm job
/// array per group, each task a `cnnscope profile` that writes its run under
/// `runs/<machine identity>/` (the node fills the identity in: `--output` takes `{machine}`).
public enum SweepPlanner {
    public static func plan(_ r: SweepPlanRequest, createdAt: String) throws -> (
        SweepManifest, scripts: [String: String]
    ) {
        guard !r.models.isEmpty, !r.batchSizes.isEmpty, !r.threads.isEmpty else {
            throw SweepError("a sweep needs at least one model, batch size and thread count")
        }
        if let bad = r.models.first(where: { $0.isEmpty || $0.contains(" ") }) {
            throw SweepError("model '\(bad)' is not a profile name or path without spaces")
        }
        let folder = URL(fileURLWithPath: r.folder).standardizedFileURL.path
        var groups: [SweepGroup] = []
        func add(_ base: String, partition: String?, constraint: String?) {
            var name = String(base.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
            if groups.contains(where: { $0.name == name }) { name += "-\(groups.count)" }
            groups.append(
                SweepGroup(name: name, partition: partition, constraint: constraint, script: "\(name).sbatch"))
        }
        for p in r.partitions { add(p, partition: p, constraint: nil) }
        for c in r.constraints { add(c, partition: nil, constraint: c) }
        if groups.isEmpty { add("default", partition: nil, constraint: nil) }
        var tasks: [SweepTask] = []
        var scripts: [String: String] = [:]
        for g in groups {
            var index = 0
            for m in r.models {
                for b in r.batchSizes {
                    for t in r.threads {
                        let id = "\(g.name)-\(index)"
                        let stem = URL(fileURLWithPath: m).deletingPathExtension().lastPathComponent
                        let run = "runs/{machine}/\(stem)-b\(b)-t\(t)-\(id)"
                        let cmd =
                            [
                                r.executable, "profile", "--model", m, "--algorithms", r.algorithms,
                                "--batch-size", String(b), "--threads", String(t),
                            ] + r.passThrough
                            + ["--output", "\(folder)/\(run)"]
                        tasks.append(
                            SweepTask(
                                id: id, group: g.name, index: index, model: m, batchSize: b, threads: t, runFolder: run,
                                command: cmd))
                        index += 1
                    }
                }
            }
            scripts[g.script] = SbatchScript.render(
                group: g, tasks: tasks.filter { $0.group == g.name }, folder: folder,
                version: r.version, createdAt: createdAt)
        }
        let manifest = SweepManifest(
            cnnscopeVersion: r.version, createdAt: createdAt, executable: r.executable, groups: groups, tasks: tasks)
        return (manifest, scripts)
    }

    /// Writes the manifest and scripts into the folder (which must be new or empty).
    public static func write(_ manifest: SweepManifest, scripts: [String: String], folder: String) throws {
        let fm = FileManager.default
        if let items = try? fm.contentsOfDirectory(atPath: folder), !items.isEmpty {
            throw SweepError("\(folder): the folder exists and is not empty; give a new --output folder")
        }
        for sub in ["runs", "logs", "status"] {
            try fm.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true)
        }
        for (name, text) in scripts { try AtomicFile.write(Data(text.utf8), to: "\(folder)/\(name)", executable: true) }
        try manifest.save(folder: folder)
    }

    /// Plans the sweep, writes its folder, and returns what to tell the user.
    public static func planAndWrite(_ request: SweepPlanRequest, createdAt: String) throws -> String {
        let (manifest, scripts) = try plan(request, createdAt: createdAt)
        try write(manifest, scripts: scripts, folder: request.folder)
        let folder = request.folder
        return
            (["Planned \(manifest.tasks.count) tasks in \(manifest.groups.count) machine group(s) in \(folder)"]
            + manifest.groups.map { "  \(folder)/\($0.script)" } + ["Next: cnnscope sweep submit \(folder)"])
            .joined(separator: "\n")
    }
}

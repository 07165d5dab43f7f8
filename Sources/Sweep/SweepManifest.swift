import Figures
import Foundation

/// One machine type of a sweep: the Slurm partition and/or constraint its jobs ask for.
public struct SweepGroup: Codable, Equatable, Sendable {
    /// A short name for file names ("zen4", "partition-a"), unique in the sweep.
    public var name: String
    public var partition: String?
    public var constraint: String?
    /// The sbatch script, relative to the sweep folder.
    public var script: String
}

/// One profile run: a model and a setting, on every machine group.
public struct SweepTask: Codable, Equatable, Sendable {
    /// Unique in the sweep: "<group>-<index>"; the array index is `index`.
    public var id: String
    public var group: String
    public var index: Int
    public var model: String
    public var batchSize: Int
    public var threads: Int
    /// The run folder, relative to the sweep folder; `{machine}` is replaced on the node by the
    /// machine identity (`runs/{machine}/basic-cnn-zen4-0`).
    public var runFolder: String
    /// The full command line the task runs (argv).
    public var command: [String]
}

/// One call of sbatch: the group, the job id Slurm gave, and the array indices it covers.
public struct SweepSubmission: Codable, Equatable, Sendable {
    public var group: String
    public var jobID: String
    public var indices: [Int]
    public var submittedAt: String
}

/// The sweep folder's `manifest.json`: what was planned, with which cnnscope, and what was submitted.
public struct SweepManifest: Codable, Equatable, Sendable {
    public static let currentSchema = "cnnscope.sweep/1"
    public static let fileName = "manifest.json"

    public var schema = SweepManifest.currentSchema
    public var cnnscopeVersion: String
    public var createdAt: String
    /// The cnnscope executable the scripts run.
    public var executable: String
    public var groups: [SweepGroup]
    public var tasks: [SweepTask]
    public var submissions: [SweepSubmission] = []

    public init(
        cnnscopeVersion: String, createdAt: String, executable: String, groups: [SweepGroup], tasks: [SweepTask]
    ) {
        self.cnnscopeVersion = cnnscopeVersion; self.createdAt = createdAt; self.executable = executable
        self.groups = groups; self.tasks = tasks
    }

    /// Reads `folder/manifest.json`; a folder that is not a sweep, a damaged manifest and a manifest
    /// of a newer schema are one-line errors.
    public static func load(folder: String) throws -> SweepManifest {
        let path = "\(folder)/\(fileName)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SweepError("\(folder): not a sweep folder (no \(fileName); make one with `cnnscope sweep plan`)")
        }
        struct Head: Codable { var schema: String? }
        let head = try? JSONDecoder().decode(Head.self, from: data)
        guard let schema = head?.schema else { throw SweepError("\(path): not a sweep manifest (no schema field)") }
        guard schema == currentSchema else {
            throw SweepError(
                "\(path): schema \(schema) is not \(currentSchema), which this cnnscope reads; use the cnnscope that "
                    + "planned the sweep")
        }
        do { return try JSONDecoder().decode(SweepManifest.self, from: data) } catch {
            throw SweepError("\(path): damaged manifest: \(error.localizedDescription)")
        }
    }

    /// The manifest as JSON (sorted keys, pretty).
    public func encoded() throws -> Data {
        try JSONText.data(self)
    }

    /// Writes the manifest through a temporary file and a rename.
    public func save(folder: String) throws {
        try AtomicFile.write(try encoded(), to: "\(folder)/\(Self.fileName)")
    }
}

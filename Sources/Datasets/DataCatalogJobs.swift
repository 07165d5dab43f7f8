import Foundation

extension DataCatalog {
    /// The catalog at `explicit`, else Profiles/datasets/catalog.json in `profiles`.
    public static func load(explicit: String?, profiles: URL?) throws -> DataCatalog {
        guard let p = explicit ?? profiles?.appendingPathComponent("datasets/catalog.json").path else {
            throw DatasetError(
                "cannot find Profiles/datasets/catalog.json; set CNNSCOPE_PROFILES or give --catalog FILE")
        }
        return try load(path: p)
    }

    /// One line per data set: name, description, file count.
    public var listing: String {
        datasets.map { e in "\(e.name): \(e.description) (\(e.files.count) file\(e.files.count == 1 ? "" : "s"))" }
            .joined(separator: "\n")
    }

    /// Downloads, checks and unpacks the data set `name` into `dataDir` (default: where
    /// `--dataset NAME` looks), and returns the line saying where it went.
    public func fetch(
        _ name: String, into dataDir: String?, mirror: String?, environment: [String: String],
        checks: [String: (URL) throws -> Void] = [:], log: @escaping (String) -> Void
    ) throws -> String {
        let e = try entry(name)
        let folder = dataDir.map { URL(fileURLWithPath: $0) } ?? Self.defaultFolder(e.name, environment: environment)
        let files = try DataFetcher(checks: checks, log: log).fetch(e, into: folder, mirror: mirror)
        guard let option = e.datasetOption else { return "\(e.name) is in \(files.joined(separator: ", "))" }
        return "\(e.name) is in \(folder.path); use it with --dataset \(option)"
            + (dataDir == nil ? "" : " --data-dir \(folder.path)")
    }
}

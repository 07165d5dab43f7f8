import Foundation

/// The data sets cnnscope can fetch, as data (`Profiles/datasets/catalog.json`): per data set the
/// files, the places they are published (the first that answers is used), each file's size and
/// SHA-256, and which members of an archive to unpack. A file whose publisher gives no digest names
/// the check that verifies it instead (`checked_by`).
public struct DataCatalog: Codable, Sendable {
    public struct File: Codable, Sendable {
        public var file: String
        public var sha256: String?
        public var size: Int?
        /// For archives (.tar.gz): the member base names to unpack beside it.
        public var extract: [String]?
        /// How a file without a published digest is verified (for example "keras-weights:mobilenetv2").
        public var checkedBy: String?

        enum CodingKeys: String, CodingKey {
            case file, sha256, size, extract
            case checkedBy = "checked_by"
        }
    }

    public struct Entry: Codable, Sendable {
        public var name: String
        public var description: String
        /// The canonical location first, then mirrors.
        public var baseURLs: [String]
        public var files: [File]
        /// The `--dataset` value that reads the fetched folder (nil for weights).
        public var datasetOption: String?

        enum CodingKeys: String, CodingKey {
            case name, description, files
            case baseURLs = "base_urls"
            case datasetOption = "dataset_option"
        }
    }

    public var schema: String
    /// Where the digests come from.
    public var sources: String?
    public var datasets: [Entry]

    /// Reads a catalog, or says in one line what is wrong with it.
    public static func load(path: String) throws -> DataCatalog {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw DatasetError("\(path): cannot read the data-set catalog")
        }
        do {
            let c = try JSONDecoder().decode(DataCatalog.self, from: d)
            guard c.schema == "cnnscope.datasets/2" else {
                throw DatasetError("\(path): schema '\(c.schema)', expected 'cnnscope.datasets/2'")
            }
            for e in c.datasets {
                if e.baseURLs.isEmpty { throw DatasetError("\(path): data set '\(e.name)' lists no base_urls") }
                for f in e.files where f.sha256 == nil && f.checkedBy == nil {
                    throw DatasetError("\(path): \(e.name)/\(f.file) has neither a sha256 nor a checked_by")
                }
            }
            return c
        } catch let e as DatasetError { throw e } catch {
            throw DatasetError("\(path): not a data-set catalog (\(error))")
        }
    }

    public func entry(_ name: String) throws -> Entry {
        guard let e = datasets.first(where: { $0.name == name }) else {
            throw DatasetError(
                "unknown data set '\(name)'; the catalog has: \(datasets.map(\.name).joined(separator: ", "))")
        }
        return e
    }

    /// Where a fetched data set lives by default: `$XDG_DATA_HOME/cnnscope/datasets/NAME`, else
    /// `~/.local/share/cnnscope/datasets/NAME` (pure: the caller passes the environment).
    public static func defaultFolder(_ name: String, environment: [String: String]) -> URL {
        if let x = environment["XDG_DATA_HOME"], x.hasPrefix("/") {
            return URL(fileURLWithPath: x).appendingPathComponent("cnnscope/datasets/\(name)")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/share/cnnscope/datasets/\(name)")
    }
}

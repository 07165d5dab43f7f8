import ArgumentParser
import Datasets
import Foundation

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Fetch the lab's data sets (MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100, STL-10) and check them.",
        discussion: """
            The data sets and their checksums are listed in Profiles/datasets/catalog.json. A fetched \
            data set lands in $XDG_DATA_HOME/cnnscope/datasets/NAME (~/.local/share/...), where \
            --dataset NAME finds it without --data-dir.
            """,
        subcommands: [Fetch.self, List.self])

    static func catalog(_ path: String?) throws -> DataCatalog {
        guard let p = path ?? ProfilesDirectory.locate()?.appendingPathComponent("datasets/catalog.json").path else {
            throw CLIError("cannot find Profiles/datasets/catalog.json; set CNNSCOPE_PROFILES or give --catalog FILE")
        }
        do { return try DataCatalog.load(path: p) } catch { throw CLIError("\(error)") }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the data sets that can be fetched.")

        @Option(help: "A data-set catalog (JSON) instead of Profiles/datasets/catalog.json.")
        var catalog: String?

        func run() throws {
            for e in try DataCommand.catalog(catalog).datasets {
                print("\(e.name): \(e.description) (\(e.files.count) file\(e.files.count == 1 ? "" : "s"))")
            }
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a data set, check every file's MD5, and unpack archives.")

        @Argument(help: "The data set: mnist, fashion-mnist, cifar10, cifar100 or stl10 (see `cnnscope data list`).")
        var name: String

        @Option(help: "The folder to put it in; the default is $XDG_DATA_HOME/cnnscope/datasets/NAME.")
        var dataDir: String?

        @Option(help: "Download from this URL prefix instead of the publisher's (a local mirror, for example).")
        var mirror: String?

        @Option(help: "A data-set catalog (JSON) instead of Profiles/datasets/catalog.json.")
        var catalog: String?

        func run() throws {
            let entry: DataCatalog.Entry
            do { entry = try DataCommand.catalog(catalog).entry(name) } catch let e as CLIError { throw e } catch {
                throw CLIError("\(error)")
            }
            let folder =
                dataDir.map { URL(fileURLWithPath: $0) }
                ?? DataCatalog.defaultFolder(entry.name, environment: ProcessInfo.processInfo.environment)
            do {
                try DataFetcher(log: { print($0) }).fetch(entry, into: folder, mirror: mirror)
            } catch { throw CLIError("\(error)") }
            print(
                "\(entry.name) is in \(folder.path); use it with --dataset \(entry.datasetOption)"
                    + (dataDir == nil ? "" : " --data-dir \(folder.path)"))
        }
    }
}

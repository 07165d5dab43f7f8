import ArgumentParser
import Datasets
import Foundation
import Profiling

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Fetch the lab's data sets (MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100, STL-10) and check them.",
        discussion: """
            The data sets and their checksums are listed in Profiles/datasets/catalog.json. A fetched data set lands \
            in $XDG_DATA_HOME/cnnscope/datasets/NAME (~/.local/share/...), where --dataset NAME finds it without \
            --data-dir.
            """,
        subcommands: [Fetch.self, List.self])

    static func catalog(_ path: String?) throws -> DataCatalog {
        try DataCatalog.load(explicit: path, profiles: Console.profiles?.url)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the data sets that can be fetched.")

        @Option(help: "A data-set catalog (JSON) instead of Profiles/datasets/catalog.json.") var catalog: String?

        func run() throws {
            print(try DataCommand.catalog(catalog).listing)
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a data set (resuming a cut transfer), verify every file's SHA-256, and unpack it.")

        @Argument(
            help: "mnist, fashion-mnist, cifar10, cifar100, stl10 or mobilenetv2-imagenet (`cnnscope data list`).")
        var name: String
        @Option(help: "The folder to put it in; the default is $XDG_DATA_HOME/cnnscope/datasets/NAME.")
        var dataDir: String?
        @Option(help: "Download from this URL prefix instead of the publisher's (a local mirror, for example).")
        var mirror: String?
        @Option(help: "A data-set catalog (JSON) instead of Profiles/datasets/catalog.json.") var catalog: String?

        func run() throws {
            print(
                try DataCommand.catalog(catalog).fetch(
                    name, into: dataDir, mirror: mirror, environment: Console.environment,
                    checks: DataFetchChecks.standard(profiles: Console.profiles), log: { print($0) }))
        }
    }
}

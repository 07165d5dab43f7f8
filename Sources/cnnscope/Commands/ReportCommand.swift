import ArgumentParser
import Figures
import Foundation
import Reports
import Roofline
import Sweep
import Transfer

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a profile run, or put two runs side by side.",
        discussion: """
            `cnnscope report RUN.json --format md` prints a run again as Markdown (or html, csv, json). \
            `cnnscope report --compare A.json B.json` compares two runs (two machines, two thread \
            counts, before and after a change): totals and per-layer times with ratios B/A, and with \
            --output FILE.html a page with a combined roofline. `cnnscope report --all LAB.json... \
            RESULTS.json...` builds the lab's Part 7 table: every model of every lab run (one per \
            data set) and of transfer runs, with a Dataset column, and the winners across all of them. \
            `cnnscope report --merge SWEEP [RUN...] --output DIR` merges runs from many machines (a sweep \
            folder, run folders or run files) into one cross-machine report: report.json, .csv, .md and \
            a self-contained report.html.
            """)

    @Argument(help: "The run file (report.json) to render.")
    var file: String?

    @Option(help: "Output format: html, md, csv or json.")
    var format = "md"

    @Option(name: .customLong("compare"), parsing: .upToNextOption, help: "Two run files to compare: A.json B.json.")
    var compare: [String] = []

    @Option(
        name: .customLong("all"), parsing: .upToNextOption,
        help: "Lab (lab.json) and transfer (results.json) files to combine into the lab's all-models table.")
    var all: [String] = []

    @Option(
        name: .customLong("merge"), parsing: .upToNextOption,
        help: "A sweep folder, run folders or run files to merge into one cross-machine report (needs --output DIR).")
    var merge: [String] = []

    @Option(help: "With --merge: the machine identity the others are compared with (default: the first machine).")
    var baseline: String?

    @Option(help: "Write to this file (written atomically) instead of standard output; with --merge, a folder.")
    var output: String?

    func validate() throws {
        if compare.isEmpty && file == nil && all.isEmpty && merge.isEmpty {
            throw ValidationError(
                "Give a run file (report.json), --compare A.json B.json, --all lab.json results.json ... or "
                    + "--merge SWEEP")
        }
        if !merge.isEmpty && output == nil {
            throw ValidationError("--merge writes four files: give the folder with --output DIR.")
        }
        if !compare.isEmpty && compare.count != 2 {
            throw ValidationError("--compare takes exactly two run files, got \(compare.count).")
        }
        if !["html", "md", "csv", "json"].contains(format) {
            throw ValidationError("--format must be html, md, csv or json, got '\(format)'.")
        }
    }

    static func load(_ path: String) throws -> ProfileReport {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw CLIError("\(path): cannot read the run file")
        }
        return try ReportRenderer.decode(d, file: path)
    }

    func emit(_ text: String) throws {
        if let o = output { try Console.writeAtomically(text, to: o) } else { print(text, terminator: "") }
    }

    /// The lab's all-models table from lab.json and transfer results.json files (told apart by schema).
    static func allModels(_ paths: [String]) throws -> AllModelsTable {
        var rows: [AllModelsTable.Row] = []
        for p in paths {
            guard let d = FileManager.default.contents(atPath: p) else { throw CLIError("\(p): cannot read the file") }
            struct Head: Decodable { var schema: String? }
            let schema = (try? JSONDecoder().decode(Head.self, from: d))?.schema ?? ""
            do {
                switch schema {
                case LabReport.currentSchema:
                    rows += AllModelsTable.rows(try JSONDecoder().decode(LabReport.self, from: d))
                case "cnnscope.transfer/1":
                    rows += try JSONDecoder().decode(TransferResults.self, from: d).comparisonRows
                default:
                    throw CLIError(
                        "\(p): schema '\(schema)' is neither a lab run (lab.json) nor a transfer run (results.json)")
                }
            } catch let e as CLIError { throw e } catch {
                throw CLIError("\(p): not a readable \(schema) file (\(error))")
            }
        }
        return AllModelsTable(rows: rows, sources: paths)
    }

    func run() throws {
        if !merge.isEmpty, let dir = output {
            let r = try RunCollector(runner: ProcessCommandRunner()).merge(
                merge, baseline: baseline, output: dir, createdAt: ISO8601DateFormatter().string(from: Date()))
            for n in r.notes { Console.error("note: \(n)") }
            print("Merged \(r.rows.map(\.sources.count).reduce(0, +)) algorithm runs from \(r.machines.count) machines")
            print("Report: \(dir)/report.html (also report.json, report.csv, report.md)")
            return
        }
        if !all.isEmpty {
            let table = try Self.allModels(all)
            switch format {
            case "csv": try emit(table.csv)
            case "html": try emit(table.html)
            case "json": try emit(try Console.json(table) + "\n")
            default: try emit(table.markdown)
            }
            return
        }
        if compare.count == 2 {
            let a = try Self.load(compare[0]), b = try Self.load(compare[1])
            if let note = ComparisonRenderer.machineNote(a, b) { Console.error("note: \(note)") }
            let isHTML = output?.hasSuffix(".html") ?? (format == "html")
            try emit(
                isHTML
                    ? ComparisonRenderer.html(a, b, names: compare) : ComparisonRenderer.markdown(a, b, names: compare))
            return
        }
        let r = try Self.load(file!)
        switch format {
        case "html": try emit(HTMLRenderer.html(r))
        case "csv": try emit(ReportRenderer.csv(r))
        case "json": try emit(try ReportRenderer.json(r))
        default: try emit(ReportRenderer.markdown(r))
        }
    }
}

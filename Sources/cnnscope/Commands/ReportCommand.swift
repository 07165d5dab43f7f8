import ArgumentParser
import Figures
import Foundation
import Lab
import Sweep

extension ReportJob.Format: ExpressibleByArgument {}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a profile run, or put two runs side by side.",
        discussion: """
            `cnnscope report RUN.json --format md` prints a run again as Markdown (or html, csv, json). `cnnscope \
            report --compare A.json B.json` compares two runs (two machines, two thread counts, before and after a \
            change): totals and per-layer times with ratios B/A, and with --output FILE.html a page with a combined \
            roofline. `cnnscope report --all LAB.json... RESULTS.json...` builds the lab's Part 7 table: every model \
            of every lab run (one per data set) and of transfer runs, with a Dataset column, and the winners across \
            all of them. `cnnscope report --merge SWEEP [RUN...] --output DIR` merges runs from many machines (a sweep \
            folder, run folders or run files) into one cross-machine report: report.json, .csv, .md and a \
            self-contained report.html.
            """)

    @Argument(help: "The run file (report.json) to render.") var file: String?
    @Option(help: "The output format.") var format = ReportJob.Format.md
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
        try Console.validating {
            try ReportJob.check(file: file, compare: compare, all: all, merge: merge, output: output)
        }
    }

    func emit(_ text: String) throws {
        if let o = output { try AtomicFile.write(text, to: o) } else { print(text, terminator: "") }
    }

    func run() throws {
        if !merge.isEmpty, let dir = output {
            let r = try RunCollector(runner: ProcessCommandRunner()).merge(
                merge, baseline: baseline, output: dir, createdAt: ISO8601DateFormatter().string(from: Date()))
            for n in r.notes { Console.error("note: \(n)") }
            print("Merged \(r.rows.map(\.sources.count).reduce(0, +)) algorithm runs from \(r.machines.count) machines")
            print("Report: \(dir)/report.html (also report.json, report.csv, report.md)")
        } else if !all.isEmpty {
            try emit(try ReportJob.allModels(all, format: format))
        } else if compare.count == 2 {
            let (text, note) = try ReportJob.compare(
                compare[0], compare[1], html: output?.hasSuffix(".html") ?? (format == .html))
            if let note { Console.error("note: \(note)") }
            try emit(text)
        } else if let file {
            try emit(try ReportJob.render(file: file, format: format))
        }
    }
}

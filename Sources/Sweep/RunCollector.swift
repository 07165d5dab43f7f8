import Figures
import Foundation
import Reports

/// Finds and reads the run files to merge: a sweep folder (its tasks' runs; failed and missing
/// tasks become notes), a run folder (its report.json), or a run file. Files of another schema
/// or damaged ones are left out with a note; the rest are merged.
public struct RunCollector {
    public let runner: CommandRunner
    public init(runner: CommandRunner) { self.runner = runner }

    public func collect(_ inputs: [String]) throws -> (runs: [(report: ProfileReport, source: String)], notes: [String])
    {
        var files: [String] = []
        var notes: [String] = []
        for input in inputs {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else {
                throw SweepError("\(input): no such file or folder")
            }
            if !isDir.boolValue {
                files.append(input)
            } else if FileManager.default.fileExists(atPath: "\(input)/\(SweepManifest.fileName)") {
                let status = try SweepStatusReader(runner: runner).status(folder: input)
                for t in status.tasks {
                    if t.state == .done {
                        files.append("\(t.detail)/report.json")
                    } else {
                        let log = t.log.map { "; log \($0)" } ?? ""
                        notes.append(
                            "Task \(t.task.id) (\(t.task.model)) is \(t.state.rawValue): \(t.detail)\(log); left out.")
                    }
                }
            } else if FileManager.default.fileExists(atPath: "\(input)/report.json") {
                files.append("\(input)/report.json")
            } else {
                let found =
                    FileManager.default.enumerator(atPath: input)?.compactMap { $0 as? String }
                    .filter { $0.hasSuffix("/report.json") || $0 == "report.json" }.sorted() ?? []
                guard !found.isEmpty else {
                    throw SweepError("\(input): neither a sweep folder, a run folder nor a folder with run files in it")
                }
                files += found.map { "\(input)/\($0)" }
            }
        }
        var runs: [(ProfileReport, String)] = []
        for f in files {
            guard let data = FileManager.default.contents(atPath: f) else {
                notes.append("\(f): cannot be read; left out.")
                continue
            }
            do { runs.append((try ReportRenderer.decode(data, file: f), f)) } catch {
                notes.append("\(error); left out.")
            }
        }
        guard !runs.isEmpty else {
            throw SweepError(
                "nothing to merge: no readable run files in \(inputs.joined(separator: ", "))"
                    + (notes.isEmpty ? "" : " (\(notes.count) left out: \(notes[0]))"))
        }
        return (runs, notes)
    }

    /// Merges and writes report.json, report.csv, report.md and report.html into `output`
    /// (each through a temporary file and a rename).
    public func merge(_ inputs: [String], baseline: String?, output: String, createdAt: String) throws
        -> CrossMachineReport
    {
        let (runs, notes) = try collect(inputs)
        let r = CrossMachineReport.merge(runs, baseline: baseline, notes: notes, createdAt: createdAt)
        try AtomicFile.write(Data(try CrossMachineRenderer.json(r).utf8), to: "\(output)/report.json")
        try AtomicFile.write(Data(CrossMachineRenderer.csv(r).utf8), to: "\(output)/report.csv")
        try AtomicFile.write(Data(CrossMachineRenderer.markdown(r).utf8), to: "\(output)/report.md")
        try AtomicFile.write(Data(CrossMachineRenderer.html(r).utf8), to: "\(output)/report.html")
        return r
    }
}

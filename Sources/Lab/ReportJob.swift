import Figures
import Foundation
import Profiling
import Reports
import Transfer

/// `cnnscope report`: a run file rendered again, two runs side by side, or the lab's Part 7
/// table over lab and transfer runs. Returns text; the caller writes it.
public enum ReportJob {
    public enum Format: String, CaseIterable, Sendable { case html, md, csv, json }

    /// Checks that the options name one thing to do, with what it needs.
    public static func check(file: String?, compare: [String], all: [String], merge: [String], output: String?) throws {
        if compare.isEmpty && file == nil && all.isEmpty && merge.isEmpty {
            throw WorkflowError(
                "Give a run file (report.json), --compare A.json B.json, --all lab.json results.json ... or "
                    + "--merge SWEEP")
        }
        if !merge.isEmpty && output == nil {
            throw WorkflowError("--merge writes four files: give the folder with --output DIR.")
        }
        if !compare.isEmpty && compare.count != 2 {
            throw WorkflowError("--compare takes exactly two run files, got \(compare.count).")
        }
    }

    /// A run file (report.json) in `format`.
    public static func render(file: String, format: Format) throws -> String {
        let r = try load(file)
        switch format {
        case .html: return HTMLRenderer.html(r)
        case .csv: return ReportRenderer.csv(r)
        case .json: return try ReportRenderer.json(r)
        case .md: return ReportRenderer.markdown(r)
        }
    }

    /// Two runs compared (Markdown, or HTML with a combined roofline), and a note when they come
    /// from different machines.
    public static func compare(_ a: String, _ b: String, html: Bool) throws -> (text: String, note: String?) {
        let (ra, rb) = (try load(a), try load(b))
        let text =
            html ? ComparisonRenderer.html(ra, rb, names: [a, b]) : ComparisonRenderer.markdown(ra, rb, names: [a, b])
        return (text, ComparisonRenderer.machineNote(ra, rb))
    }

    /// The lab's all-models table over lab.json and transfer results.json files, in `format`.
    public static func allModels(_ paths: [String], format: Format) throws -> String {
        let table = try allModels(paths)
        switch format {
        case .csv: return table.csv
        case .html: return table.html
        case .json: return try JSONText.pretty(table) + "\n"
        case .md: return table.markdown
        }
    }

    /// The rows of every lab and transfer file (told apart by their schema).
    public static func allModels(_ paths: [String]) throws -> AllModelsTable {
        var rows: [AllModelsTable.Row] = []
        for p in paths {
            guard let d = FileManager.default.contents(atPath: p) else {
                throw WorkflowError("\(p): cannot read the file")
            }
            struct Head: Decodable { var schema: String? }
            let schema = (try? JSONDecoder().decode(Head.self, from: d))?.schema ?? ""
            do {
                switch schema {
                case LabReport.currentSchema:
                    rows += AllModelsTable.rows(try JSONDecoder().decode(LabReport.self, from: d))
                case "cnnscope.transfer/1":
                    rows += try JSONDecoder().decode(TransferResults.self, from: d).comparisonRows
                default:
                    throw WorkflowError(
                        "\(p): schema '\(schema)' is neither a lab run (lab.json) nor a transfer run (results.json)")
                }
            } catch let e as WorkflowError { throw e } catch {
                throw WorkflowError("\(p): not a readable \(schema) file (\(error))")
            }
        }
        return AllModelsTable(rows: rows, sources: paths)
    }

    static func load(_ path: String) throws -> ProfileReport {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw WorkflowError("\(path): cannot read the run file")
        }
        return try ReportRenderer.decode(d, file: path)
    }
}

import Figures
import Foundation

/// An event set as data (`Profiles/events/NAME.txt`), in the spirit of likwid's performance
/// groups: a description, the events per PMU model, and derived metrics by formula.
public struct EventSet: Sendable {
    public struct Section: Sendable {
        /// libpfm4 PMU names this section applies to ("generic": perf's generic events).
        public var pmus: [String]
        /// (variable, event name) in file order.
        public var events: [(variable: String, event: String)]
        /// Section-level derived variables (VARIABLE = FORMULA).
        public var derived: [(variable: String, formula: Expression)]
    }

    public var name: String
    public var short: String
    public var long: String
    public var sections: [Section]
    /// Metrics by formula over the section's variables and `time` (region seconds).
    public var metrics: [(name: String, formula: Expression)]

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func parse(_ text: String, name: String, file: String) throws -> EventSet {
        var set = EventSet(name: name, short: "", long: "", sections: [], metrics: [])
        var mode = "head"
        var longLines: [String] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            func fail(_ why: String) -> ParseError { ParseError(description: "\(file):\(n + 1): \(why)") }
            if mode == "long" { longLines.append(String(raw)); continue }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("SHORT ") { set.short = String(line.dropFirst(6)); continue }
            if line == "LONG" { mode = "long"; continue }
            if line == "METRICS" { mode = "metrics"; continue }
            if line.hasPrefix("PMU ") {
                let pmus = line.dropFirst(4).split(separator: " ").map(String.init)
                guard !pmus.isEmpty else { throw fail("PMU needs at least one libpfm4 PMU name") }
                set.sections.append(Section(pmus: pmus, events: [], derived: []))
                mode = "pmu"
                continue
            }
            switch mode {
            case "pmu":
                if let eq = line.firstIndex(of: "=") {
                    let v = line[..<eq].trimmingCharacters(in: .whitespaces)
                    do {
                        set.sections[set.sections.count - 1].derived.append(
                            (v, try Expression.parse(String(line[line.index(after: eq)...]))))
                    } catch { throw fail("\(error)") }
                    continue
                }
                let parts = line.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw fail("expected 'VARIABLE EVENT' or 'VARIABLE = FORMULA', got '\(line)'")
                }
                set.sections[set.sections.count - 1].events.append((parts[0], parts[1]))
            case "metrics":
                guard let eq = line.firstIndex(of: "=") else { throw fail("expected 'NAME = FORMULA', got '\(line)'") }
                let name = line[..<eq].trimmingCharacters(in: .whitespaces)
                do { set.metrics.append((name, try Expression.parse(String(line[line.index(after: eq)...])))) } catch {
                    throw fail("metric '\(name)': \(error)")
                }
            default:
                throw fail("unexpected line before any PMU section: '\(line)'")
            }
        }
        set.long = longLines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !set.sections.isEmpty else { throw ParseError(description: "\(file): no PMU section") }
        // Every metric variable must be defined by some section (or be `time`).
        for (mname, f) in set.metrics {
            for v in f.variables where v != "time" {
                let defined = set.sections.contains { s in
                    s.events.contains { $0.variable == v } || s.derived.contains { $0.variable == v }
                }
                if !defined {
                    throw ParseError(
                        description: "\(file): metric '\(mname)' uses '\(v)', which no PMU section defines")
                }
            }
        }
        return set
    }

    public static func load(path: String) throws -> EventSet {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw ParseError(description: "\(path): cannot read the event set")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(String(decoding: d, as: UTF8.self), name: name, file: path)
    }

    public static func load(named name: String, in dir: URL) throws -> EventSet {
        let p = dir.appendingPathComponent("\(name).txt").path
        if FileManager.default.fileExists(atPath: p) { return try load(path: p) }
        throw ParseError(
            description:
                """
                unknown event set '\(name)'; the sets in \(dir.path) are: \
                \(available(in: dir).joined(separator: ", "))
                """
        )
    }

    public static func available(in dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// The section for the detected PMUs: the first naming one of them, else "generic".
    public func section(for pmuNames: [String]) -> Section? {
        sections.first { s in s.pmus.contains { pmuNames.contains($0) } }
            ?? sections.first { $0.pmus.contains("generic") }
    }
}

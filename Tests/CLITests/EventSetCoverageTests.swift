import Foundation
import Hardware
import Profiler
import XCTest

/// Every event of every section, encoded for every PMU that section names, whatever machine the
/// suite runs on: libpfm4 encodes only for PMUs it treats as present, so each PMU is checked by
/// `cnnscope events --pmu NAME --json`, which runs itself again with LIBPFM_FORCE_PMU=NAME.
final class EventSetCoverageTests: XCTestCase {
    static let eventsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Profiles/events")

    /// The cnnscope executable beside the test bundle (Scripts/test builds it first).
    static func executable() throws -> URL {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundleDir, Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL] {
            let u = dir.appendingPathComponent("cnnscope")
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        XCTFail(
            "the cnnscope executable is not beside the tests (\(bundleDir.path)); "
                + "run `swift build --product cnnscope` first"
        )
        throw XCTSkip("no executable")
    }

    func run(_ exe: URL, _ args: [String]) throws -> (status: Int32, out: Data, err: String) {
        let p = Process()
        p.standardInput = FileHandle.nullDevice  // children never read this process's input
        p.executableURL = exe
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["CNNSCOPE_PROFILES"] = Self.eventsDir.deletingLastPathComponent().path
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, o, String(decoding: e, as: UTF8.self))
    }

    /// `cnnscope machine` probes one FLOP event per core PMU; it must be the FLOPS_SP set's event for
    /// that PMU (or, where the set derives FLOPs from several events, one of them), whatever the order
    /// of its unit masks.
    func testTheProbesFLOPEventIsTheEventSetsForEveryPMU() throws {
        let set = try EventSet.load(named: "FLOPS_SP", in: Self.eventsDir)
        func parts(_ e: String) -> Set<Substring> { Set(e.split(separator: ":")) }
        var checked = 0
        for section in set.sections where !section.pmus.contains("generic") {
            for pmu in section.pmus {
                let probe = try XCTUnwrap(CounterProbe.fpEvent(forPMU: pmu), "no probe FLOP event for \(pmu)")
                XCTAssertTrue(
                    section.events.contains { parts($0.event) == parts(probe) },
                    "\(pmu): probe \(probe), section \(section.events.map(\.event))")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 10)
        let cores = [
            PMUInfo(
                name: "amd64_fam17h", description: "AMD64 Fam17h Zen1 (deprecated - use amd_fam17h_zen1 instead)",
                kind: "core", events: 64, genericCounters: 6, fixedCounters: 0),
            PMUInfo(
                name: "amd64_fam17h_zen1", description: "AMD64 Fam17h Zen1", kind: "core", events: 64,
                genericCounters: 6, fixedCounters: 0),
        ]
        XCTAssertEqual(
            CounterProbe.standardEvents(pmus: cores).last,
            "amd64_fam17h_zen1::" + (CounterProbe.fpEvent(forPMU: "amd64_fam17h_zen1") ?? "?"),
            "the probe uses the model's own PMU, not libpfm4's deprecated alias")
    }

    func testEverySectionEncodesOnEveryPMUItNames() throws {
        let exe = try Self.executable()
        let sets = try EventSet.available(in: Self.eventsDir).map { try EventSet.load(named: $0, in: Self.eventsDir) }
        let pmus = EventSetTranslation.namedPMUs(sets)
        XCTAssertTrue(
            pmus.contains("amd64_fam19h_zen3") && pmus.contains("amd64_fam19h_zen4") && pmus.contains("spr"), "\(pmus)")
        var pairs = 0
        for pmu in pmus {
            let r = try run(exe, ["events", "--pmu", pmu, "--json"])
            XCTAssertEqual(r.status, 0, "events --pmu \(pmu): \(r.err)")
            guard r.status == 0 else { continue }
            let translations = try JSONDecoder().decode([EventSetTranslation].self, from: r.out)
            for set in sets {
                let named = set.sections.contains { $0.pmus.contains(pmu) }
                let t = translations.first { $0.set == set.name }
                XCTAssertEqual(t?.section != nil, named, "\(set.name) on \(pmu)")
                guard named, let t else { continue }
                pairs += 1
                for e in t.events {
                    XCTAssertNil(e.error, "\(set.name) on \(pmu): \(e.variable) = \(e.event): \(e.error ?? "")")
                    XCTAssertTrue(
                        e.qualifiedName?.hasPrefix("\(pmu)::") ?? false,
                        "\(set.name) on \(pmu): \(e.event) encoded as \(e.qualifiedName ?? "nothing")")
                }
            }
        }
        let expected = sets.reduce(0) { n, s in
            n + s.sections.reduce(0) { $0 + $1.pmus.filter { $0 != "generic" }.count }
        }
        XCTAssertEqual(pairs, expected, "every (section, PMU) pair checked")
        print("event sets: \(pairs) section × PMU pairs encoded over \(pmus.count) PMUs")
    }

    func testUnknownPMUIsAOneLineErrorListingTheKnownOnes() throws {
        let r = try run(try Self.executable(), ["events", "--pmu", "no_such_pmu"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("unknown PMU 'no_such_pmu'") && r.err.contains("amd64_fam19h_zen4"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
    }
}

import Foundation
import Kernels
import Tensor
import XCTest

@testable import Hardware
@testable import MachineStore

/// The two machines this project has run on, as their identities would read.
enum IdentityFixtures {
    static func zen(model: Int, isa: [String], l2: Int) -> MachineIdentity {
        MachineIdentity(
            vendor: "AuthenticAMD", family: 25, model: model, stepping: 1, isa: isa, cores: 2,
            processingUnits: 2,
            caches: [
                .init(level: 1, sizeBytes: 32 << 10, instances: 2), .init(level: 2, sizeBytes: l2, instances: 2),
                .init(level: 3, sizeBytes: 32 << 20, instances: 1),
            ],
            numaNodes: 1, blasCore: "Zen")
    }
    static let zen3 = zen(model: 1, isa: ["avx", "avx2", "fma"], l2: 512 << 10)
    static let zen4 = zen(model: 17, isa: ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl"], l2: 1 << 20)
}

final class MachineIdentityTests: XCTestCase {
    func testNamesSayWhatTheMachineIs() {
        XCTAssertTrue(IdentityFixtures.zen3.name.hasPrefix("amd-zen3-2c-l3-32m-"), IdentityFixtures.zen3.name)
        XCTAssertTrue(IdentityFixtures.zen4.name.hasPrefix("amd-zen4-2c-l3-32m-"), IdentityFixtures.zen4.name)
        XCTAssertEqual(IdentityFixtures.zen3.fingerprint.count, 6)
        // Deterministic: the same fields give the same name in every process.
        XCTAssertEqual(
            IdentityFixtures.zen3.name, IdentityFixtures.zen(model: 1, isa: ["avx", "avx2", "fma"], l2: 512 << 10).name)
    }

    func testAnyKernelRelevantDifferenceChangesTheFingerprint() {
        let base = IdentityFixtures.zen3
        var variants: [MachineIdentity] = []
        var v = base; v.isa.append("avx512f"); variants.append(v)
        v = base; v.caches[1].sizeBytes = 1 << 20; variants.append(v)
        v = base; v.cores = 4; variants.append(v)
        v = base; v.numaNodes = 2; variants.append(v)
        v = base; v.blasCore = "Haswell"; variants.append(v)
        v = base; v.stepping = 2; variants.append(v)
        for x in variants { XCTAssertNotEqual(x.fingerprint, base.fingerprint, x.canonical) }
        XCTAssertEqual(Set(variants.map(\.fingerprint)).count, variants.count)
    }

    func testMicroarchitectureFromCPUID() {
        func u(_ v: String, _ f: Int, _ m: Int, _ isa: [String] = []) -> String {
            MachineIdentity.microarchitecture(vendor: v, family: f, model: m, isa: isa)
        }
        XCTAssertEqual(u("AuthenticAMD", 25, 1), "zen3")
        XCTAssertEqual(u("AuthenticAMD", 25, 0x11), "zen4")
        XCTAssertEqual(u("AuthenticAMD", 25, 1, ["avx512f"]), "zen4")  // a VM that hides the model
        XCTAssertEqual(u("AuthenticAMD", 23, 0x31), "zen2")
        XCTAssertEqual(u("AuthenticAMD", 26, 2), "zen5")
        XCTAssertEqual(u("GenuineIntel", 6, 0x6a), "icelake-server")
        XCTAssertEqual(u("GenuineIntel", 6, 0x8f), "sapphirerapids")
    }

    func testThisMachineHasAnIdentity() throws {
        let cpu = try CPUFeatures.detect()
        let t = try HwlocTopology().snapshot()
        let id = MachineIdentity(cpu: cpu, topology: t, blasCore: Blas.coreName)
        XCTAssertEqual(id.cores, t.cores)
        XCTAssertEqual(id.caches.count, t.caches.count)
        XCTAssertFalse(id.isa.isEmpty)
        print("this machine: \(id.name) — \(id.canonical)")
    }
}

final class MachineRecordStoreTests: XCTestCase {
    var dir: URL!
    var warnings: [String] = []

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        warnings = []
    }

    override func tearDownWithError() throws {
        _ = try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        try? FileManager.default.removeItem(at: dir)
    }

    func store() -> MachineRecordStore { MachineRecordStore(directory: dir, log: { self.warnings.append($0) }) }

    func testRoundTripKeyedByIdentityNotHost() throws {
        let s = store()
        var r = s.load(identity: IdentityFixtures.zen3, host: "vm", cpuModel: "AMD EPYC")
        XCTAssertNil(r.ceilings)
        r.algorithmChoices.choices["k"] = AlgorithmChoice(algorithm: .im2col, secondsByAlgorithm: ["im2col": 1e-3])
        XCTAssertTrue(s.save(r))
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: dir.appendingPathComponent("machines/\(IdentityFixtures.zen3.name).json").path))
        XCTAssertEqual(
            s.load(identity: IdentityFixtures.zen3, host: "other-host", cpuModel: "x").algorithmChoices.choices["k"]?
                .algorithm, .im2col)
        // Same host name and CPU string, other machine: nothing carries over.
        XCTAssertTrue(
            s.load(identity: IdentityFixtures.zen4, host: "vm", cpuModel: "AMD EPYC").algorithmChoices.choices.isEmpty)
        XCTAssertEqual(warnings, [])
    }

    func testCorruptRecordIsSetAsideWithAWarning() throws {
        let s = store()
        let u = s.url(for: IdentityFixtures.zen3)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("{ not json".utf8).write(to: u)
        let r = s.load(identity: IdentityFixtures.zen3, host: "vm", cpuModel: "x")
        XCTAssertNil(r.ceilings)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains(u.path) && warnings[0].contains("set aside"), warnings[0])
        XCTAssertFalse(FileManager.default.fileExists(atPath: u.path))
        let left = try FileManager.default.contentsOfDirectory(atPath: u.deletingLastPathComponent().path)
        XCTAssertEqual(left.filter { $0.contains(".corrupt-") }.count, 1, "\(left)")
    }

    func testForeignRecordUnderThisNameIsNotTrusted() throws {
        let s = store()
        var foreign = MachineRecord(identity: IdentityFixtures.zen4, host: "vm", cpuModel: "AMD EPYC")
        foreign.algorithmChoices.choices["k"] = AlgorithmChoice(algorithm: .winogradF4, secondsByAlgorithm: [:])
        let u = s.url(for: IdentityFixtures.zen3)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try foreign.encoded().write(to: u)
        let r = s.load(identity: IdentityFixtures.zen3, host: "vm", cpuModel: "AMD EPYC")
        XCTAssertTrue(r.algorithmChoices.choices.isEmpty)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains(IdentityFixtures.zen4.name), warnings[0])
    }

    func testUnwritableDirectoryWarnsOnceAndGoesOn() throws {
        guard getuid() != 0 else {
            // Root writes through permission bits; a file where the folder should be blocks it instead.
            let blocked = dir.appendingPathComponent("blocked")
            try Data().write(to: blocked)
            let s = MachineRecordStore(directory: blocked, log: { self.warnings.append($0) })
            let r = MachineRecord(identity: IdentityFixtures.zen3, host: "vm", cpuModel: "x")
            XCTAssertFalse(s.save(r))
            XCTAssertFalse(s.save(r))
            XCTAssertEqual(warnings.count, 1, "\(warnings)")
            XCTAssertTrue(warnings[0].contains("without saving"), warnings[0])
            return
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        let s = store()
        let r = MachineRecord(identity: IdentityFixtures.zen3, host: "vm", cpuModel: "x")
        XCTAssertFalse(s.save(r))
        XCTAssertFalse(s.save(r))
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
    }

    /// `machine --measure --level`: the named levels' bandwidth only (any case), at one thread and
    /// all, beside the compute ceilings, and nothing saved; a level this machine lacks is an error
    /// naming it and the levels it has.
    func testMeasuringSomeLevelsMeasuresThoseAndSavesNothing() throws {
        let settings = MachineSettings(cacheDir: dir.path)
        let env = ProcessInfo.processInfo.environment
        let r = try MachineReport.survey(
            settings: settings, measure: true, levels: ["l1"], environment: env, log: { self.warnings.append($0) })
        guard let c = r.ceilings else { throw XCTSkip("hwloc or /proc/cpuinfo unreadable here: \(r)") }
        XCTAssertEqual(Set(c.bandwidth.map(\.level)), ["L1"])
        XCTAssertEqual(Set(c.bandwidth.map(\.kernel)), ["load", "copy", "triad"])
        XCTAssertEqual(Set(c.bandwidth.map(\.threads)), Set([1, r.topology?.cores ?? 1]))
        XCTAssertTrue(c.method.hasSuffix("; only L1"), c.method)
        XCTAssertFalse(r.cachedCeilings)
        XCTAssertFalse(FileManager.default.fileExists(atPath: r.cachedRecord), r.cachedRecord)
        XCTAssertThrowsError(
            try MachineReport.survey(settings: settings, measure: true, levels: ["L9"], environment: env, log: { _ in })
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("--level L9: no such level") && text.contains("L1, L2"), text)
        }
    }

    func testCacheDirectoryPrecedence() {
        let env = ["CNNSCOPE_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"]
        XCTAssertEqual(MachineRecordStore.defaultDirectory(explicit: "/e", environment: env).path, "/e")
        XCTAssertEqual(MachineRecordStore.defaultDirectory(explicit: nil, environment: env).path, "/c")
        XCTAssertEqual(
            MachineRecordStore.defaultDirectory(explicit: nil, environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"])
                .path,
            "/x/cnnscope")
        XCTAssertEqual(
            MachineRecordStore.defaultDirectory(explicit: nil, environment: ["HOME": "/h"]).path, "/h/.cache/cnnscope")
        // A relative XDG_CACHE_HOME is invalid by the spec and ignored.
        XCTAssertEqual(
            MachineRecordStore.defaultDirectory(explicit: nil, environment: ["XDG_CACHE_HOME": "x", "HOME": "/h"]).path,
            "/h/.cache/cnnscope")
    }

    /// `cnnscope machine`'s text names each load ceiling's streams (two or one), and nothing for a
    /// copy or for a record measured before streams were kept.
    func testMachineTextNamesEachLoadsStreams() {
        let peak = ComputePeak(perThreadGFLOPs: 90, allThreadsGFLOPs: 170, threads: 2, kernel: "fixture", trials: 1)
        func ceiling(_ level: String, _ kernel: String, streams: Int?) -> BandwidthCeiling {
            var b = BandwidthCeiling(
                level: level, kernel: kernel, threads: 2, workingSetBytes: 1 << 20, gbPerSecond: 100,
                minGBPerSecond: 90, maxGBPerSecond: 110, isa: "avx512")
            b.streams = streams
            if streams != nil { b.oneStreamGBPerSecond = streams == 2 ? 83.3 : 100 }
            return b
        }
        let c = MachineCeilings(
            fma: peak, mixedPerThreadGFLOPs: 1, mixedAllThreadsGFLOPs: 2,
            bandwidth: [
                ceiling("L2", "load", streams: 2), ceiling("L3", "load", streams: 1),
                ceiling("L3", "copy", streams: nil), ceiling("DRAM", "load", streams: nil),
            ], method: "fixture")
        let r = MachineReport(
            host: "vm", identity: IdentityFixtures.zen3, identityName: IdentityFixtures.zen3.name, cachedRecord: "",
            cachedCeilings: true, topology: nil, topologyError: nil, cpu: nil, simd: [:], cpuError: nil, pmus: [],
            pmuError: nil, counters: [], perfEventParanoid: nil, openblas: "", openblasCore: "", fmaPeak: peak,
            ceilings: c)
        let lines = MachineReport.text(r).split(separator: "\n").map(String.init)
        func line(_ level: String, _ kernel: String) -> String {
            lines.first { $0.hasPrefix("  \(level)") && $0.contains(" \(kernel) ") } ?? "none"
        }
        XCTAssertTrue(line("L2", "load").hasSuffix("max 110.0, two streams; one stream 83.3)"), line("L2", "load"))
        XCTAssertTrue(line("L3", "load").hasSuffix("max 110.0, one stream)"), line("L3", "load"))
        XCTAssertTrue(line("L3", "copy").hasSuffix("max 110.0)"), line("L3", "copy"))
        XCTAssertTrue(line("DRAM", "load").hasSuffix("max 110.0)"), line("DRAM", "load"))
    }

    /// Ceilings measured with an older method (no version, or another one) are measured again and
    /// saved, saying so; current ones are reused; a record given with --machine is used as it is.
    func testCeilingsOfAnOlderMethodAreMeasuredAgain() throws {
        let peak = ComputePeak(perThreadGFLOPs: 90, allThreadsGFLOPs: 170, threads: 2, kernel: "fixture", trials: 1)
        func ceilings(_ version: Int?) -> MachineCeilings {
            var c = MachineCeilings(
                fma: peak, mixedPerThreadGFLOPs: 1, mixedAllThreadsGFLOPs: 2, bandwidth: [], method: "fixture")
            c.methodVersion = version
            return c
        }
        let s = store()
        var old = s.load(identity: IdentityFixtures.zen3, host: "vm", cpuModel: "x")
        old.ceilings = ceilings(nil)
        XCTAssertTrue(s.save(old))
        var said: [String] = [], measured = 0
        let session = try MachineSession(
            identity: IdentityFixtures.zen3, host: "vm", cpuModel: "x", store: s, explicitRecord: nil,
            log: { said.append($0) })
        let fresh = session.ceilings {
            measured += 1; return ceilings(MachineCeilings.currentMethodVersion)
        }
        XCTAssertEqual(measured, 1)
        XCTAssertEqual(fresh.methodVersion, MachineCeilings.currentMethodVersion)
        XCTAssertTrue(said.contains { $0.contains("older") || $0.contains("method version 1") }, "\(said)")
        _ = session.ceilings {
            measured += 1; return ceilings(MachineCeilings.currentMethodVersion)
        }
        XCTAssertEqual(measured, 1, "current ceilings are reused")
        XCTAssertEqual(
            s.load(identity: IdentityFixtures.zen3, host: "vm", cpuModel: "x").ceilings?.methodVersion,
            MachineCeilings.currentMethodVersion)
        let u = dir.appendingPathComponent("given.json")
        try old.encoded().write(to: u)
        let given = try MachineSession(
            identity: IdentityFixtures.zen3, host: "vm", cpuModel: "x", store: s, explicitRecord: u.path,
            log: { _ in })
        _ = given.ceilings {
            measured += 1; return ceilings(MachineCeilings.currentMethodVersion)
        }
        XCTAssertEqual(measured, 1, "a record given with --machine is used as it is")
    }

    func testExplicitRecordOfAnotherMachineIsUsedAndSaysSo() throws {
        let u = dir.appendingPathComponent("given.json")
        try MachineRecord(identity: IdentityFixtures.zen4, host: "vm", cpuModel: "x").encoded().write(to: u)
        var said: [String] = []
        let r = try MachineRecordStore.loadExplicit(
            path: u.path, identity: IdentityFixtures.zen3, log: { said.append($0) })
        XCTAssertEqual(r.identity, IdentityFixtures.zen4)
        XCTAssertEqual(said.count, 1)
        XCTAssertTrue(said[0].contains("another machine") && said[0].contains(IdentityFixtures.zen4.name), said[0])
        try Data("[]".utf8).write(to: u)
        XCTAssertThrowsError(
            try MachineRecordStore.loadExplicit(path: u.path, identity: IdentityFixtures.zen3, log: { _ in })
        ) {
            XCTAssertTrue("\($0)".contains(u.path), "\($0)")
        }
    }

    /// auto's key names the machine and every kernel switch: a choice timed elsewhere, or with
    /// another switch, is timed again rather than reused.
    func testAutoKeysSayWhatWasTimed() throws {
        let g = try ConvGeometry(n: 2, h: 6, w: 6, c: 4, k: 8, r: 3)
        let o = ConvOptions()
        var off = o; off.smallGemm = false
        let keys = [
            AutoSelector.key(g, threads: 1, options: o, machine: IdentityFixtures.zen3.name),
            AutoSelector.key(g, threads: 1, options: o, machine: IdentityFixtures.zen4.name),
            AutoSelector.key(g, threads: 1, options: off, machine: IdentityFixtures.zen3.name),
            AutoSelector.key(g, threads: 2, options: o, machine: IdentityFixtures.zen3.name),
        ]
        XCTAssertEqual(Set(keys).count, keys.count, "\(keys)")
        let zen3 = AutoSelector(options: o, machine: IdentityFixtures.zen3.name)
        _ = try zen3.choose(g, runner: SerialRunner())
        XCTAssertTrue(zen3.changed)
        let again = AutoSelector(cache: zen3.cache, options: o, machine: IdentityFixtures.zen3.name)
        _ = try again.choose(g, runner: SerialRunner())
        XCTAssertFalse(again.changed, "the same machine and switches reuse the choice")
        let zen4 = AutoSelector(cache: zen3.cache, options: o, machine: IdentityFixtures.zen4.name)
        _ = try zen4.choose(g, runner: SerialRunner())
        XCTAssertTrue(zen4.changed, "another machine's choice was reused")
    }

    /// Under an AVX-512 cap, auto also times each algorithm on its AVX2 kernels and keeps the
    /// ISA with the choice; under an AVX2 cap there is nothing narrower to try.
    func testAutoTimesTheNarrowerISAOnlyUnderAnAVX512Cap() throws {
        let g = try ConvGeometry(n: 4, h: 14, w: 14, c: 32, k: 64, r: 3)
        for isa in ConvOptions.availableISAs {
            let choice = try AutoSelector(options: ConvOptions(isa: isa)).choose(g, runner: SerialRunner())
            let narrower = choice.secondsByAlgorithm.keys.filter { $0.hasSuffix("@avx2") }
            if isa == "avx512" {
                XCTAssertFalse(narrower.isEmpty, "\(choice.secondsByAlgorithm)")
                XCTAssertTrue(choice.isa == nil || choice.isa == "avx2")
            } else {
                XCTAssertTrue(narrower.isEmpty, "\(choice.secondsByAlgorithm)")
                XCTAssertNil(choice.isa)
            }
            XCTAssertEqual(choice.options(ConvOptions(isa: isa)).isa, choice.isa ?? isa)
        }
    }
}

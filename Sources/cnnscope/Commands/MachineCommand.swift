import ArgumentParser
import Foundation
import Hardware
import Kernels
import MachineStore
import Profiling
import Reports
import Runtime

struct MachineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine",
        abstract: "Show this machine's topology, SIMD extensions, PMU models and counter access.",
        discussion: """
            The topology and caches come from hwloc, the CPU model and SIMD extensions from \
            /proc/cpuinfo, the PMU models from libpfm4. The counter probe opens each event of a \
            standard list with perf_event_open and, for each one that fails, gives the errno and \
            its likely cause. A part that cannot be read becomes a line saying why; the command \
            fails only when nothing could be reported.
            """)

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(
        help:
            "Also measure the machine's ceilings (FMA peaks, load/copy/triad bandwidth of every cache level and DRAM, one thread and all cores; about half a minute) and save them in the machine cache (machines/<identity>.json under --cache-dir)."
    )
    var measure = false

    @Option(
        help:
            "The folder for measured ceilings and auto's choices (machines/<identity>.json below it); the default is $CNNSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/cnnscope, else ~/.cache/cnnscope."
    )
    var cacheDir: String?

    struct Report: Codable {
        var schema = "cnnscope.machine-report/2"
        var host: String
        var identity: MachineIdentity
        var identityName: String
        /// Where this machine's record is (or would be) cached, and whether it holds ceilings.
        var cachedRecord: String
        var cachedCeilings: Bool
        var topology: Topology?
        var topologyError: String?
        var cpu: CPUFeatures?
        var simd: [String: Bool]
        var cpuError: String?
        var pmus: [PMUInfo]
        var pmuError: String?
        var counters: [ProbeResult]
        var perfEventParanoid: String?
        var openblas: String
        var openblasCore: String
        var fmaPeak: ComputePeak?
        var ceilings: MachineCeilings?
    }

    func run() throws {
        var topo: HwlocTopology?
        var topology: Topology?
        var topologyError: String?
        do {
            let t = try HwlocTopology()
            topo = t
            topology = t.snapshot()
        } catch { topologyError = "\(error)" }

        var cpu: CPUFeatures?
        var cpuError: String?
        do { cpu = try CPUFeatures.detect() } catch { cpuError = "\(error)" }

        var pmus: [PMUInfo] = []
        var pmuError: String?
        do { pmus = try PfmLibrary.detectedPMUs() } catch { pmuError = "\(error)" }
        let probes = pmuError == nil ? CounterProbe.probe(CounterProbe.standardEvents(pmus: pmus)) : []

        var peak: ComputePeak?
        var ceilings: MachineCeilings?
        let session = try MachineOptions.session(cacheDir: cacheDir, explicitRecord: nil, cpu: cpu, topology: topology)
        if measure, let cpu, let topology {
            let pool = WorkerPool(threads: topology.cores, policy: .compact, topology: topo)
            let c = CeilingProbe.measure(topology: topology, features: cpu, pool: pool)
            session.replaceCeilings(c)
            ceilings = c
            peak = c.fma
        }
        let paranoid = (try? String(contentsOfFile: "/proc/sys/kernel/perf_event_paranoid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let report = Report(
            host: ProfilesDirectory.hostName, identity: session.identity, identityName: session.identity.name,
            cachedRecord: session.store?.url(for: session.identity).path ?? "",
            cachedCeilings: session.record.ceilings != nil, topology: topology, topologyError: topologyError,
            cpu: cpu, simd: Dictionary(uniqueKeysWithValues: (cpu?.simd ?? []).map { ($0.name, $0.present) }),
            cpuError: cpuError, pmus: pmus, pmuError: pmuError, counters: probes,
            perfEventParanoid: paranoid, openblas: Blas.config, openblasCore: Blas.coreName,
            fmaPeak: peak, ceilings: ceilings)
        if topology == nil && cpu == nil && pmus.isEmpty {
            Console.error(
                "nothing could be read about this machine: \(topologyError ?? ""); \(cpuError ?? ""); \(pmuError ?? "")"
            )
            throw ExitCode(1)
        }
        print(json ? try Console.json(report) : Self.text(report))
    }

    static func text(_ r: Report) -> String {
        var out: [String] = [
            "Machine: \(r.identityName) (host \(r.host))",
            "Identity: \(r.identity.canonical)",
            "Cached record: \(r.cachedRecord)\(r.cachedCeilings ? " (ceilings measured)" : " (no ceilings yet)")",
        ]
        if let cpu = r.cpu {
            let fam = [cpu.family.map { "family \($0)" }, cpu.model.map { "model \($0)" }].compactMap { $0 }.joined(
                separator: ", ")
            out.append("CPU: \(cpu.modelName) (\(cpu.vendor)\(fam.isEmpty ? "" : ", " + fam))")
            out.append("SIMD: " + cpu.simd.map { "\($0.name) \($0.present ? "yes" : "no")" }.joined(separator: ", "))
        } else {
            out.append("CPU: unknown (\(r.cpuError ?? "no /proc/cpuinfo"))")
        }
        if let t = r.topology {
            func plural(_ n: Int, _ w: String) -> String { "\(n) \(w)\(n == 1 ? "" : "s")" }
            out.append(
                "Topology (hwloc): \(plural(t.packages, "package")), \(plural(t.cores, "core")), "
                    + "\(plural(t.processingUnits, "processing unit")), \(plural(t.numaNodes, "NUMA node"))")
            out.append("Caches:")
            for c in (t.caches + t.instructionCaches).sorted(by: { ($0.level, $0.kind) < ($1.level, $1.kind) }) {
                let name = "L\(c.level)" + (c.kind == "data" ? "d" : c.kind == "instruction" ? "i" : "")
                let assoc =
                    c.associativity == -1
                    ? "fully associative" : c.associativity == 0 ? "associativity unknown" : "\(c.associativity)-way"
                out.append(
                    "  \(name.padding(toLength: 4, withPad: " ", startingAt: 0)) \(Format.bytes(Double(c.sizeBytes)).padding(toLength: 9, withPad: " ", startingAt: 0)) line \(c.lineSize) B, \(assoc), \(c.instances) instance\(c.instances == 1 ? "" : "s") of \(c.sharedBy.count) PU\(c.sharedBy.count == 1 ? "" : "s") each (first: PU \(c.sharedBy.map(String.init).joined(separator: ",")))"
                )
            }
        } else {
            out.append("Topology: unavailable (\(r.topologyError ?? "?"))")
        }
        if let e = r.pmuError {
            out.append("PMU models (libpfm4): unavailable (\(e))")
        } else {
            out.append("PMU models (libpfm4 detects from CPUID; the probe below says what the kernel lets open):")
            for p in r.pmus {
                let cnt =
                    p.genericCounters + p.fixedCounters > 0
                    ? ", \(p.genericCounters) generic + \(p.fixedCounters) fixed counters" : ""
                out.append("  \(p.name) — \(p.description) (\(p.kind), \(p.events) events\(cnt))")
            }
        }
        out.append(
            "Counter access (perf_event_open, user level; perf_event_paranoid = \(r.perfEventParanoid ?? "unknown")):")
        let width = (r.counters.map(\.event.count).max() ?? 10) + 2
        for c in r.counters {
            let name = c.event.padding(toLength: width, withPad: " ", startingAt: 0)
            if c.opened {
                out.append(
                    "  \(name)opens    counted \(c.sample.map(String.init) ?? "—")\(c.event == "task-clock" ? " ns" : "") over a short busy loop"
                )
            } else {
                out.append("  \(name)FAILS    \(c.errno.map { $0 + ": " } ?? "")\(c.cause ?? "")")
            }
        }
        let hw = r.counters.filter { ["cycles", "instructions"].contains($0.event) }
        if !hw.isEmpty && hw.allSatisfy({ !$0.opened }) {
            out.append(
                "  => No hardware counters here: cnnscope falls back to software events and timers, labelled as such.")
        }
        out.append("OpenBLAS: \(r.openblas) (kernel \(r.openblasCore))")
        if let p = r.fmaPeak {
            out.append(
                String(
                    format: "FMA peak (measured, %@): %.1f GFLOP/s per thread, %.1f GFLOP/s with %d pinned threads",
                    p.kernel, p.perThreadGFLOPs, p.allThreadsGFLOPs, p.threads))
        }
        if let c = r.ceilings {
            out.append(
                String(
                    format: "FMA+add peak (measured): %.1f GFLOP/s per thread, %.1f with all threads",
                    c.mixedPerThreadGFLOPs, c.mixedAllThreadsGFLOPs))
            for p in c.computeByISA ?? [] {
                out.append(
                    String(
                        format: "Compute ceiling %@ (measured): %.1f GFLOP/s per thread, %.1f with %d threads",
                        p.kernel, p.perThreadGFLOPs, p.allThreadsGFLOPs, p.threads))
            }
            out.append("Bandwidth (measured, \(c.method)):")
            for b in c.bandwidth {
                out.append(
                    String(
                        format: "  %-5@ %-6@ %d thread%@  working set %@  %.1f GB/s (min %.1f, max %.1f)",
                        b.level, b.kernel, b.threads, b.threads == 1 ? " " : "s",
                        Format.bytes(Double(b.workingSetBytes)),
                        b.gbPerSecond, b.minGBPerSecond, b.maxGBPerSecond))
            }
        }
        return out.joined(separator: "\n")
    }
}

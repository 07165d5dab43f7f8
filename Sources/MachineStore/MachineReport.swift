import Foundation
import Hardware
import Kernels
import Reports

/// Everything `cnnscope machine` reports about this machine: identity and cached record,
/// topology, CPU and SIMD, PMUs and a counter probe, OpenBLAS, and ceilings when measured. A part
/// that cannot be read carries the reason instead.
public struct MachineReport: Codable {
    public var schema = "cnnscope.machine-report/2"
    public var host: String
    public var identity: MachineIdentity
    public var identityName: String
    /// Where this machine's record is (or would be) cached, and whether it holds ceilings.
    public var cachedRecord: String
    public var cachedCeilings: Bool
    public var topology: Topology?
    public var topologyError: String?
    public var cpu: CPUFeatures?
    public var simd: [String: Bool]
    public var cpuError: String?
    public var pmus: [PMUInfo]
    public var pmuError: String?
    public var counters: [ProbeResult]
    public var perfEventParanoid: String?
    public var openblas: String
    public var openblasCore: String
    public var fmaPeak: ComputePeak?
    public var ceilings: MachineCeilings?
}

extension MachineReport {
    /// Reads the machine through its session (identity, cache); with `measure`, measures the
    /// ceilings on all cores and saves them in the session's record. With `levels` as well, measures
    /// those levels' bandwidth only (and the compute ceilings) and saves nothing: a partial record.
    public static func survey(
        session: MachineSession, hwloc: HwlocTopology?, topology: Topology?, topologyError: String?,
        cpu: CPUFeatures?, cpuError: String?, measure: Bool, levels: Set<String>? = nil, host: String
    ) -> MachineReport {
        var pmus: [PMUInfo] = []
        var pmuError: String?
        do { pmus = try PfmLibrary.detectedPMUs() } catch { pmuError = "\(error)" }
        let probes = pmuError == nil ? CounterProbe.probe(CounterProbe.standardEvents(pmus: pmus)) : []
        var ceilings: MachineCeilings?
        if measure, let cpu, let topology {
            let pool = WorkerPool(threads: topology.cores, policy: .compact, topology: hwloc)
            let c = CeilingProbe.measure(topology: topology, features: cpu, pool: pool, levels: levels)
            if levels == nil { session.replaceCeilings(c) }
            ceilings = c
        }
        let paranoid = (try? String(contentsOfFile: "/proc/sys/kernel/perf_event_paranoid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return MachineReport(
            host: host, identity: session.identity, identityName: session.identity.name,
            cachedRecord: session.store?.url(for: session.identity).path ?? "",
            cachedCeilings: session.record.ceilings != nil, topology: topology, topologyError: topologyError,
            cpu: cpu, simd: Dictionary(uniqueKeysWithValues: (cpu?.simd ?? []).map { ($0.name, $0.present) }),
            cpuError: cpuError, pmus: pmus, pmuError: pmuError, counters: probes,
            perfEventParanoid: paranoid, openblas: Blas.config, openblasCore: Blas.coreName,
            fmaPeak: ceilings?.fma, ceilings: ceilings)
    }

    /// True when not even one part could be read.
    public var readNothing: Bool { topology == nil && cpu == nil && pmus.isEmpty }

    /// The report as `cnnscope machine` prints it (pure).
    public static func text(_ r: MachineReport) -> String {
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
                    """
                      \(name.padding(toLength: 4, withPad: " ", startingAt: 0)) \
                    \(Format.bytes(Double(c.sizeBytes)).padding(toLength: 9, withPad: " ", startingAt: 0)) line \
                    \(c.lineSize) B, \(assoc), \(c.instances) instance\(c.instances == 1 ? "" : "s") of \
                    \(c.sharedBy.count) PU\(c.sharedBy.count == 1 ? "" : "s") each (first: PU \
                    \(c.sharedBy.map(String.init).joined(separator: ",")))
                    """
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
                    """
                      \(name)opens    counted \
                    \(c.sample.map(String.init) ?? "—")\(c.event == "task-clock" ? " ns" : "") over a short busy \
                    loop
                    """
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
                    format: "FMA peak (measured, %@, best of %d trials): %.1f GFLOP/s per thread, %.1f GFLOP/s with %d "
                        + "pinned threads", p.kernel, p.trials, p.perThreadGFLOPs, p.allThreadsGFLOPs, p.threads))
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
                var streams =
                    b.streams.map { $0 == 1 ? ", one stream" : $0 == 2 ? ", two streams" : ", \($0) streams" } ?? ""
                if b.streams == 2, let one = b.oneStreamGBPerSecond {
                    streams += String(format: "; one stream %.1f", one)
                }
                out.append(
                    String(
                        format: "  %-5@ %-6@ %d thread%@  working set %@  %.1f GB/s (min %.1f, max %.1f%@)",
                        b.level, b.kernel, b.threads, b.threads == 1 ? " " : "s",
                        Format.bytes(Double(b.workingSetBytes)),
                        b.gbPerSecond, b.minGBPerSecond, b.maxGBPerSecond, streams))
            }
        }
        return out.joined(separator: "\n")
    }
}

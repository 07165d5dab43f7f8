import Figures
import Foundation
import Roofline

/// Pure functions from a report value to strings: JSON, CSV, Markdown. No I/O.
public enum ReportRenderer {
    public static func json(_ r: ProfileReport) throws -> String {
        try JSONText.pretty(r) + "\n"
    }

    /// Parses a run file; another schema version or a damaged file gives a clear error.
    public static func decode(_ data: Data, file: String) throws -> ProfileReport {
        struct Probe: Decodable { var schema: String? }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: data) else {
            throw ReportError("\(file): not a cnnscope run file (not valid JSON)")
        }
        guard let s = probe.schema else { throw ReportError("\(file): not a cnnscope run file (no \"schema\" field)") }
        guard s == ProfileReport.currentSchema else {
            throw ReportError(
                """
                \(file): schema '\(s)' is not the supported '\(ProfileReport.currentSchema)'; re-run cnnscope \
                profile with this version
                """
            )
        }
        do { return try JSONDecoder().decode(ProfileReport.self, from: data) } catch let DecodingError.keyNotFound(
            k, ctx)
        {
            throw ReportError(
                """
                \(file): damaged run file: missing '\(k.stringValue)' at \
                \(ctx.codingPath.map(\.stringValue).joined(separator: "."))
                """
            )
        } catch {
            throw ReportError("\(file): damaged run file: \(error)")
        }
    }

    static func num(_ f: Figure?) -> String {
        guard let f, let v = f.value else { return "" }
        return "\(v)"
    }

    /// The layer's algorithm and the instruction set its kernels ran ("winograd-f4 · avx512").
    static func kernelCell(_ l: LayerResult) -> String {
        [l.convAlgorithm, l.kernelISA].compactMap { $0 }.joined(separator: " · ")
    }

    /// One row per layer and algorithm, ready for pandas.
    public static func csv(_ r: ProfileReport) -> String {
        var lines = [
            CSVRow.line([
                "model", "algorithm", "layer", "type", "phase", "conv_algorithm", "median_s", "min_s", "max_s",
                "direct_flops", "executed_flops", "min_bytes", "algorithm_bytes", "counted_bytes", "simulated_bytes",
                "intensity_flop_per_byte", "attained_gflops", "roof_gflops", "efficiency", "bound",
                "share_of_model_time", "too_short", "bound_level", "bounding_ceiling", "level_source",
                "footprint_bytes", "dram_roof_gflops", "dram_efficiency", "kernel_isa",
            ])
        ]
        for run in r.runs {
            for l in run.layers {
                let cells: [String] = [
                    r.model, run.algorithm, l.name, l.type, l.phase, l.convAlgorithm ?? "",
                    num(l.medianSeconds), num(l.minSeconds), num(l.maxSeconds), num(l.directFLOPs),
                    num(l.executedFLOPs),
                    num(l.minimumBytes), num(l.algorithmBytes), num(l.countedBytes), num(l.simulatedBytes),
                    num(l.intensity), num(l.attainedGFLOPs), num(l.roofGFLOPs), num(l.efficiency), l.bound,
                    num(l.shareOfModelTime), l.tooShortToMeasure ? "1" : "0",
                    l.boundLevel ?? "", l.boundCeiling ?? "", l.levelSource ?? "", num(l.footprintBytes),
                    num(l.dramRoofGFLOPs), num(l.dramEfficiency), l.kernelISA ?? "",
                ]
                lines.append(CSVRow.line(cells))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "L2" or "L2 (modelled)" / "L2 (counted)", with "↑" when the measured rate moved the point
    /// to a faster level than its footprint suggested.
    static func levelText(_ l: LayerResult) -> String {
        guard let level = l.boundLevel else { return l.bound }
        let moved = l.levelNote?.hasPrefix("footprint fits") == true ? " ↑" : ""
        return "\(level)\(moved) (\(l.levelSource ?? "modelled"))"
    }

    /// A fraction as a percentage, or "—" when there is none.
    static func pct(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "—" }
        return String(format: "%.1f%%", v * 100)
    }

    static func f(_ v: Double?, _ digits: Int = 2) -> String {
        guard let v, v.isFinite else { return "—" }
        return String(format: "%.\(digits)f", v)
    }

    public static func markdown(_ r: ProfileReport) -> String {
        var md: [String] = []
        md.append("# cnnscope profile: \(r.model) on \(r.machine.displayName)")
        md.append("")
        md.append("`\(r.commandLine)` — \(r.createdAt)")
        md.append("")
        md.append(
            """
            Batch \(r.batchSize), input \(r.inputShape.map(String.init).joined(separator: "x")), \(r.dataset), \
            \(r.threads) threads (bind \(r.bind)), \(r.repetitions) repetitions, \(r.phase)\
            \(r.kernelISA.map { ", kernels up to \($0)" } ?? "").
            """
        )
        md.append("")
        md.append("## Machine")
        md.append("")
        md.append(
            "- Identity: \(r.machine.identity ?? "not recorded")\(r.machine.identityDetail.map { " — " + $0 } ?? "")")
        md.append(
            "- CPU: \(r.machine.cpuModel), \(r.machine.cores) cores, \(r.machine.processingUnits) processing units")
        md.append("- Caches: \(r.machine.caches.joined(separator: "; "))")
        md.append("- SIMD: \(r.machine.simd.joined(separator: ", "))")
        md.append("- PMUs (libpfm4): \(r.machine.pmus.joined(separator: ", "))")
        md.append("- Counters: \(r.counterLevel)")
        for n in r.counterNotes { md.append("  - \(n)") }
        if let steal = r.hostStealLine { md.append("- \(steal)") }
        md.append("")
        md.append("| ceiling | value | provenance |")
        md.append("|---|---|---|")
        for (k, v) in r.machine.ceilings.sorted(by: { $0.key < $1.key }) {
            md.append("| \(k) | \(f(v.value, 1)) \(v.unit) | \(v.provenance.rawValue) |")
        }
        md.append("")
        md.append("## Model totals")
        md.append("")
        md.append(
            "| algorithm | time (ms) | images/s | latency (ms/image) | GFLOP/s | efficiency | images/s, whole model |")
        md.append("|---|---:|---:|---:|---:|---:|---:|")
        for run in r.runs {
            let t = run.totals
            md.append(
                """
                | \(run.algorithm) | \(f(t.seconds.value.map { $0 * 1e3 }, 3)) | \(f(t.imagesPerSecond.value, 0)) \
                | \(f(t.latencyMsPerImage.value, 4)) | \(f(t.gflops.value, 1)) | \(pct(t.efficiency.value)) \
                | \(f(t.unhookedImagesPerSecond?.value, 0)) |
                """
            )
        }
        md.append("")
        md.append(
            """
            Time, images/s and latency are sums of per-layer medians; the last column times the whole model \
            without the profiler's hooks (median), as a user of the model sees it.
            """)
        md.append("")
        if !r.bestPerLayer.isEmpty {
            md.append(
                "Best algorithm per convolution layer: "
                    + r.bestPerLayer.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value)" }.joined(
                        separator: ", "))
            md.append("")
        }
        md.append("## Layers")
        md.append("")
        md.append(
            """
            | algorithm | layer | conv | median ms (min–max) | GFLOP exec | MB min | MB alg | FLOP/B | GFLOP/s | \
            roof | eff. | level | bounding ceiling | share |
            """
        )
        md.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
        for run in r.runs {
            for l in run.layers {
                let ms =
                    """
                    \(f(l.medianSeconds.value.map { $0 * 1e3 }, 3)) \
                    (\(f(l.minSeconds.value.map { $0 * 1e3 }, 3))–\(f(l.maxSeconds.value.map { $0 * 1e3 }, 3)))
                    """
                md.append(
                    """
                    | \(run.algorithm) | \(l.name) (\(l.type)) | \(kernelCell(l)) | \
                    \(ms)\(l.tooShortToMeasure ? " †" : "") | \(f(l.executedFLOPs.value.map { $0 / 1e9 }, 4)) | \
                    \(f(l.minimumBytes.value.map { $0 / 1e6 }, 2)) | \
                    \(f(l.algorithmBytes.value.map { $0 / 1e6 }, 2)) | \(f(l.intensity.value, 1)) | \
                    \(f(l.attainedGFLOPs.value, 1)) | \(f(l.roofGFLOPs.value, 1)) | \(pct(l.efficiency.value)) | \
                    \(levelText(l)) | \(l.boundCeiling ?? l.bound) | \(pct(l.shareOfModelTime.value)) |
                    """
                )
            }
        }
        md.append("")
        md.append("† shorter than 20x the hook overhead: too short to measure reliably.")
        md.append("")
        md.append("## Provenance")
        md.append("")
        md.append(
            """
            - Times: **measured** (monotonic clock around each layer, hook overhead subtracted); median, min and \
            max over the repetitions.
            """
        )
        md.append(
            """
            - FLOPs, minimum and algorithm bytes, intensity, roofs: **modelled** (formulas of each layer and \
            algorithm; roofs from the measured ceilings).
            """
        )
        md.append("- Ceilings: **measured** by microbenchmarks on this machine.")
        md.append(
            """
            - Roofline level per layer: **counted** bytes per level where the PMU gave them (the level whose roof \
            is lowest 
            """
                + """
                bounds the layer); otherwise **modelled**: the layer's footprint (inputs, weights, outputs and \
                resident 
                """
                    + """
                    workspace) against each level's capacity for the threads in use (hwloc sizes; private caches once \
                    per core), 
                    """
                    + """
                    the smallest level that holds it; a measured rate above that level's roof moves the point to the \
                    first 
                    """
                    + """
                    faster level whose roof holds it (↑). Efficiency is never shown above 105%: a point above every \
                    roof at its 
                    """
                + "modelled intensity has none, and says why.")
        md.append(
            """
            - Counter columns: **counted** where the PMU or kernel exposed them; otherwise listed as unavailable \
            with the reason.
            """
        )
        for n in r.notes { md.append("- \(n)") }
        return md.joined(separator: "\n") + "\n"
    }
}

import Figures
import Foundation
import Hardware
import Kernels
import Layers
import Profiler
import Reports
import Roofline
import Tensor

/// Turns a profiler's records into a run: costs by formula per layer, the hierarchical
/// roofline judgement, totals and the machine summary.
public enum RunAssembler {
    /// The instruction set a layer's forward kernels ran: its convolution algorithm's, the
    /// int8 GEMM's, the depthwise kernel's, or a Dense layer's GEMM ("openblas" where OpenBLAS runs
    /// it); nil for layers without hand-written kernels.
    public static func kernelISA(_ layer: Layer, batch: Int, runner: ParallelRunner) -> String? {
        if let pass = fusedPass(layer) { return pass.kernelISA }
        if let c = layer as? Conv2DLayer {
            if c.fusedInto != nil { return nil }
            // Convolution + ReLU + max pooling in one kernel: AVX-512, AVX2 or its scalar reference.
            if c.lastForwardFused { return c.fusedPoolISA }
            return (try? c.algorithm(batch: batch, runner: runner))?.kernelISA
        }
        if let d = layer as? DepthwiseConv2DLayer {
            if d.fusedInto != nil { return nil }
            return d.kernel(batch: batch).kernelISA(d.options)
        }
        if let q = layer as? Int8Layer { return q.kernel.sumsISA }
        if let d = layer as? DenseLayer { return d.forwardKernel(batch: batch, workers: runner.width) }
        if let p = layer as? PoolingLayer, p.type == .max, p.fusedInto == nil {
            return p.options.avx512Kernels ? "avx512" : (Blas.haveSmallGemm ? "avx2" : "scalar")
        }
        return nil
    }

    /// The fused inverted-residual pass a layer (an expand or a depthwise layer) ran in the last forward.
    static func fusedPass(_ layer: Layer) -> FusedInvertedResidual? {
        (layer as? Conv2DLayer)?.lastFusedPass ?? (layer as? DepthwiseConv2DLayer)?.lastFusedPass
    }

    /// FLOPs and bytes of one layer for a batch, by formula (modelled).
    public static func costs(_ layer: Layer, phase: Phase, batch: Int, workers: Int, runner: ParallelRunner)
        -> (direct: Double, executed: Double, minBytes: Double, algBytes: Double, conv: String?, workspace: Double)
    {
        // Folded into the convolution before it at inference: its work is in that layer's time.
        if phase == .forward, let f = layer as? FoldableIntoConvolution, let into = f.foldedInto {
            return (0, 0, 0, 0, "folded into \(into)", 0)
        }
        // Run inside the convolution before it (convolution + ReLU + 2x2 max pooling in one kernel).
        if let p = layer as? PoolingLayer, let into = p.fusedInto {
            return (0, 0, 0, 0, "fused into \(into)", 0)
        }
        // Computed by the fused inverted-residual pass of the expand layer before it.
        if phase == .forward,
            let into = (layer as? DepthwiseConv2DLayer)?.fusedInto ?? (layer as? Conv2DLayer)?.fusedInto
        {
            return (0, 0, 0, 0, "fused into \(into)", 0)
        }
        if phase == .forward, let pass = fusedPass(layer) {
            let f = pass.flops(batch: batch, workers: workers), bytes = pass.minimumBytes(batch: batch)
            return (f.direct, f.executed, bytes, bytes, pass.label, pass.workspaceBytes(workers: workers))
        }
        if phase == .forward, let q = layer as? Int8Layer {
            let fused = q.runsFusedPool
            let cost = q.kernel.cost(batch: batch, workers: workers, pooled: fused)
            let quads = fused && q.kernel.columnQuads ? " on column quads" : ""
            let label = "int8 \(q.kernel.kernelName)\(quads)" + (fused ? " + max pool (fused)" : "")
            return (
                cost.directFLOPs, cost.executedFLOPs, cost.minimumTrafficBytes, cost.algorithmTrafficBytes, label,
                cost.workspaceBytes
            )
        }
        if let c = layer as? Conv2DLayer, let algo = try? c.algorithm(batch: batch, runner: runner) {
            let cost = algo.cost(workers: workers)
            if phase == .forward {
                let label = c.lastForwardFused ? "\(algo.kind.rawValue) + max pool (fused)" : algo.kind.rawValue
                return (
                    cost.directFLOPs, cost.executedFLOPs, cost.minimumTrafficBytes, cost.algorithmTrafficBytes, label,
                    cost.workspaceBytes
                )
            }
            let g = algo.geometry
            let bk = Im2colConv2DBackward(geometry: g, options: c.options)
            let inB = Double(batch * g.h * g.w * g.c) * 4, outB = Double(batch * g.p * g.q * g.k) * 4,
                wB = Double(g.r * g.s * g.c * g.k) * 4
            let minB = inB + outB + 2 * wB + (c.needsInputGradient ? inB : 0)
            // The small-patch path (short receptive fields) writes no column buffer.
            let smallPatch = Im2colConv2D.usesSmallPatch(g, options: c.options)
            let colOnce = smallPatch ? 0 : 2 * Double(batch * g.p * g.q * g.r * g.s * g.c) * 4
            // The column buffer is lowered in chunks of at most the workspace limit per worker.
            let colResident = min(colOnce / 2, Double(workers * c.options.workspaceLimitBytes))
            // im2col's dW reads the input in place (no column buffer) where the implicit kernel runs.
            let implicitDW = bk.usesImplicitWeightGradient
            let dwCol = implicitDW ? 0 : colOnce, dxCol = c.needsInputGradient ? colOnce : 0
            let im2colDW = implicitDW ? "implicit dW" : "im2col dW"
            // dW through a Winograd transform where timing chose one, else im2col's
            // colᵀ·dy; dX through im2col/col2im, or as a forward convolution of dy with the flipped
            // kernel (stride 1, odd kernel, same padding) on its own algorithm.
            let wg = c.chosenWinogradWeightGradient(batch: batch)
            let dW: (executed: Double, traffic: Double, workspace: Double, label: String) =
                wg.map {
                    (
                        $0.executedFLOPs(batch: batch), $0.transformTrafficBytes(batch: batch),
                        $0.workspaceBytes(workers: workers), "\($0.transform.name) dW"
                    )
                } ?? (bk.flops(batch: batch, inputGradient: false), dwCol, dwCol > 0 ? colResident : 0, im2colDW)
            let direct = bk.flops(batch: batch, inputGradient: c.needsInputGradient)
            if c.needsInputGradient, c.transposedGeometry(batch: batch) != nil,
                let dx = try? c.inputGradientAlgorithm(batch: batch, runner: runner)
            {
                let dxCost = dx.cost(workers: workers)
                let alg = minB + dW.traffic + (dxCost.algorithmTrafficBytes - dxCost.minimumTrafficBytes)
                return (
                    direct, dW.executed + dxCost.executedFLOPs, minB, alg, "\(dW.label) + \(dx.kind.rawValue) dX",
                    dxCost.workspaceBytes + dW.workspace
                )
            }
            guard wg != nil else {
                let label =
                    (c.lastForwardFused ? "im2col + max pool (fused backward)" : "im2col (backward)")
                    + (implicitDW ? ", implicit dW" : "")
                return (
                    direct, direct, minB, minB + dwCol + dxCol, label, dwCol + dxCol > 0 ? colResident : 0
                )
            }
            // dW on the Winograd transform, dX (when asked) through im2col/col2im.
            let dxIm2col = c.needsInputGradient ? 1.0 : 0
            return (
                direct, dW.executed + dxIm2col * bk.flops(batch: batch, inputGradient: false), minB,
                minB + dW.traffic + dxIm2col * colOnce, dW.label + (c.needsInputGradient ? " + im2col dX" : ""),
                dW.workspace + dxIm2col * colResident
            )
        }
        // Max pooling's backward reads dy and the argmax bytes forward kept, and writes dx.
        if phase == .backward, let p = layer as? PoolingLayer, p.type == .max {
            let outs = Double(batch * p.outputShape.reduce(1, *)), ins = Double(batch * p.inputShape.reduce(1, *))
            let bytes = outs * 4 + outs + ins * 4
            return (ins, ins, bytes, bytes, nil, 0)
        }
        let cost = layer.cost()
        let label: String? =
            layer is DepthwiseConv2DLayer
            ? (phase == .forward ? "direct (depthwise)" : "direct (depthwise backward)") : nil
        let pb = Double(layer.parameterCount) * 4
        let fwdBytes = Double(batch) * (cost.forwardBytes - pb) + pb
        let flops = Double(batch) * cost.forwardFLOPs
        return phase == .forward
            ? (flops, flops, fwdBytes, fwdBytes, label, 0)
            : (2 * flops, 2 * flops, 2 * fwdBytes, 2 * fwdBytes, label, 0)
    }

    public static func run(
        algorithm: String, model: Sequential, records: [LayerRecord], session: CounterSession?, batch: Int,
        workers: Int, roofline: Roofline, runner: ParallelRunner = SerialRunner(), isa: String? = nil
    ) -> AlgorithmRun {
        let medians = records.map { Timing($0.samples).median }
        let total = medians.reduce(0, +)
        var layers: [LayerResult] = []
        var executedTotal = 0.0
        for (r, med) in zip(records, medians) {
            let layer = model.layers[r.index]
            let t = Timing(r.samples)
            let c = costs(layer, phase: r.phase, batch: batch, workers: workers, runner: runner)
            executedTotal += c.executed
            // Counter-derived rates over the calls that read the counters (a subset, when the reads rotate).
            let figs = session?.figures(deltas: r.countersPerCall, seconds: r.countedCallSeconds ?? med) ?? [:]
            let counted =
                figs["DRAM bytes"].flatMap { $0.value != nil ? $0 : nil }
                ?? figs["L3 miss bytes"].flatMap { $0.value != nil ? $0 : nil }
            let pt = RooflinePoint(
                label: r.name, algorithm: algorithm, flops: c.executed, bytes: c.algBytes, seconds: med,
                roofline: roofline)
            let hasWork = c.executed > 0 && med > 0
            // Hierarchical judgement: counted bytes per level where the PMU gave them, else the
            // modelled footprint against the cache capacities.
            let footprint = c.minBytes + c.workspace
            let countedLevels = Self.countedBytesByLevel(figs)
            let countedJudgement =
                countedLevels.isEmpty
                ? nil : roofline.judge(flops: c.executed, seconds: med, bytesByLevel: countedLevels)
            let j =
                countedJudgement
                ?? roofline.judge(flops: c.executed, bytes: c.algBytes, seconds: med, footprintBytes: footprint)
            let efficiency: Figure =
                !hasWork
                ? .missing("no floating-point work", .measured)
                : j.efficiency.map { .of($0, .measured) } ?? .missing(j.note ?? "above every roof", .measured)
            layers.append(
                LayerResult(
                    name: r.name, type: r.kerasClass, phase: r.phase.rawValue, convAlgorithm: c.conv,
                    medianSeconds: .of(med, .measured, "s"), minSeconds: .of(t.min, .measured, "s"),
                    maxSeconds: .of(t.max, .measured, "s"),
                    directFLOPs: .of(c.direct, .modelled, "FLOP"), executedFLOPs: .of(c.executed, .modelled, "FLOP"),
                    minimumBytes: .of(c.minBytes, .modelled, "B"), algorithmBytes: .of(c.algBytes, .modelled, "B"),
                    countedBytes: session == nil
                        ? nil
                        : (counted
                            ?? .missing(
                                figs["DRAM bytes"]?.unavailable
                                    ?? "the event set counts no traffic (use --events MEM or CACHE)", .counted, "B")),
                    simulatedBytes: nil,
                    intensity: c.algBytes > 0
                        ? .of(pt.intensity, .modelled, "FLOP/B") : .missing("no bytes", .modelled),
                    attainedGFLOPs: hasWork
                        ? .of(pt.attainedGFLOPs, .measured, "GFLOP/s") : .missing("no floating-point work", .measured),
                    roofGFLOPs: hasWork
                        ? .of(j.roofGFLOPs, .modelled, "GFLOP/s") : .missing("no floating-point work", .modelled),
                    efficiency: efficiency,
                    bound: hasWork
                        ? (j.ceiling.hasSuffix("bandwidth") ? "memory (\(j.level ?? "?"))" : "compute") : "—",
                    shareOfModelTime: .of(total > 0 ? med / total : 0, .measured),
                    counters: figs, tooShortToMeasure: r.tooShort,
                    boundLevel: hasWork ? j.level : nil, boundCeiling: hasWork ? j.ceiling : nil,
                    levelSource: hasWork ? (countedJudgement != nil ? "counted" : "modelled") : nil,
                    levelNote: hasWork ? j.note : nil,
                    footprintBytes: .of(footprint, .modelled, "B"),
                    dramRoofGFLOPs: hasWork ? .of(pt.roofGFLOPs, .modelled, "GFLOP/s") : nil,
                    dramEfficiency: hasWork ? .of(pt.efficiency, .measured) : nil))
            if r.phase == .forward {
                layers[layers.count - 1].kernelISA = kernelISA(layer, batch: batch, runner: runner)
            } else if c.conv != nil {
                layers[layers.count - 1].kernelISA = isa
            }
        }
        let gflops = total > 0 ? executedTotal / total / 1e9 : 0
        return AlgorithmRun(
            algorithm: algorithm, layers: layers,
            totals: ModelTotals(
                seconds: .of(total, .measured, "s"), imagesPerSecond: .of(Double(batch) / total, .measured, "images/s"),
                latencyMsPerImage: .of(total * 1e3 / Double(batch), .measured, "ms"),
                gflops: .of(gflops, .measured, "GFLOP/s"),
                efficiency: .of(gflops / roofline.computeGFLOPs, .measured)))
    }

    /// Bytes each level served, from a CACHE or MEM set's counted figures: L1 fills came from
    /// L2, L2 fills from L3, L3 misses (or DRAM fills) from DRAM.
    public static func countedBytesByLevel(_ figs: [String: Figure]) -> [String: Double] {
        var out: [String: Double] = [:]
        func take(_ name: String, _ level: String) {
            if let f = figs[name], f.provenance == .counted, let v = f.value, v > 0 { out[level] = v }
        }
        take("L1 fill bytes", "L2")
        take("L2 fill bytes", "L3")
        take("L3 miss bytes", "DRAM")
        take("DRAM bytes", "DRAM")
        return out
    }

    public static func best(_ runs: [AlgorithmRun]) -> [String: String] {
        var best: [String: (String, Double)] = [:]
        for run in runs {
            for l in run.layers where l.type == "Conv2D" && l.phase == "forward" {
                guard let t = l.medianSeconds.value else { continue }
                let label = run.algorithm == "auto" ? "auto→\(l.convAlgorithm ?? "?")" : run.algorithm
                if best[l.name] == nil || t < best[l.name]!.1 { best[l.name] = (label, t) }
            }
        }
        return best.mapValues(\.0)
    }

    public static func machineSummary(
        _ t: Topology, cpu: CPUFeatures, pmus: [PMUInfo], ceilings: MachineCeilings,
        identity: MachineIdentity
    ) -> MachineSummary {
        var ce: [String: Figure] = [
            "FMA peak, 1 thread": .of(ceilings.fma.perThreadGFLOPs, .measured, "GFLOP/s"),
            "FMA peak, \(ceilings.fma.threads) threads": .of(ceilings.fma.allThreadsGFLOPs, .measured, "GFLOP/s"),
            "FMA+add peak, 1 thread": .of(ceilings.mixedPerThreadGFLOPs, .measured, "GFLOP/s"),
        ]
        for b in ceilings.bandwidth {
            ce[
                """
                \(b.level) \(b.kernel), \(b.threads) thread\(b.threads == 1 ? "" : "s") \
                (\(Format.bytes(Double(b.workingSetBytes))))
                """
            ] = .of(b.gbPerSecond, .measured, "GB/s")
        }
        return MachineSummary(
            identity: identity.name, identityDetail: identity.canonical, host: HostName.current(),
            cpuModel: cpu.modelName, cores: t.cores, processingUnits: t.processingUnits,
            caches: t.caches.map { "L\($0.level) \(Format.bytes(Double($0.sizeBytes))) ×\($0.instances)" },
            simd: cpu.simd.filter(\.present).map(\.name), pmus: pmus.map(\.name), ceilings: ce)
    }

    public static func summary(_ r: ProfileReport) -> String {
        var t = TextTable(header: [
            "algorithm", "layer", "conv", "median ms", "GFLOP/s", "roof", "eff.", "bound", "share",
        ])
        t.rightAligned = [3, 4, 5, 6, 8]
        for run in r.runs {
            for l in run.layers {
                t.rows.append([
                    run.algorithm, "\(l.name)\(l.phase == "forward" ? "" : " (bwd)")", l.convAlgorithm ?? "",
                    String(format: "%.3f", (l.medianSeconds.value ?? 0) * 1e3) + (l.tooShortToMeasure ? "†" : ""),
                    l.attainedGFLOPs.value.map { String(format: "%.1f", $0) } ?? "—",
                    l.roofGFLOPs.value.map { String(format: "%.1f", $0) } ?? "—",
                    l.efficiency.value.map { String(format: "%.0f%%", $0 * 100) } ?? "—", l.bound,
                    String(format: "%.0f%%", (l.shareOfModelTime.value ?? 0) * 100),
                ])
            }
        }
        var tot = TextTable(
            header: ["algorithm", "ms/batch", "images/s", "ms/image", "GFLOP/s", "efficiency", "whole-model images/s"])
        tot.rightAligned = [1, 2, 3, 4, 5, 6]
        for run in r.runs {
            let x = run.totals
            tot.rows.append([
                run.algorithm, String(format: "%.3f", (x.seconds.value ?? 0) * 1e3),
                String(format: "%.0f", x.imagesPerSecond.value ?? 0),
                String(format: "%.4f", x.latencyMsPerImage.value ?? 0), String(format: "%.1f", x.gflops.value ?? 0),
                String(format: "%.1f%%", (x.efficiency.value ?? 0) * 100),
                x.unhookedImagesPerSecond?.value.map { String(format: "%.0f", $0) } ?? "—",
            ])
        }
        let memory = r.roofline.memory.map { "\($0.level) \(String(format: "%.1f", $0.gbPerSecond)) GB/s" }
        return """
            \(r.model) on \(r.machine.host), batch \(r.batchSize), \(r.threads) threads, \(r.phase); counters: \
            \(r.counterLevel)
            roof: \(String(format: "%.1f", r.roofline.computeGFLOPs)) GFLOP/s compute, \
            \(memory ?? "no memory ceiling") \
            (measured)
            \(t.render())
            \(tot.render())
            best per conv layer: \
            \(r.bestPerLayer.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value)" }.joined(separator: ", "))
            """
    }
}

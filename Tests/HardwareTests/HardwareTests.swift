import CPfm
import XCTest

@testable import Hardware

final class TopologyTests: XCTestCase {
    func testTopologyHasCoresAndGrowingCaches() throws {
        let t = try HwlocTopology().snapshot()
        XCTAssertGreaterThanOrEqual(t.cores, 1)
        XCTAssertGreaterThanOrEqual(t.processingUnits, t.cores)
        XCTAssertGreaterThanOrEqual(t.packages, 1)
        XCTAssertFalse(t.caches.isEmpty, "hwloc reported no data cache")
        for c in t.caches {
            XCTAssertGreaterThan(c.sizeBytes, 0, "L\(c.level) size")
            XCTAssertFalse(c.sharedBy.isEmpty, "L\(c.level) shared by no PU")
        }
        let sorted = t.caches.sorted { $0.level < $1.level }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            XCTAssertLessThan(a.level, b.level)
            XCTAssertLessThan(
                a.sizeBytes, b.sizeBytes,
                "L\(a.level) \(a.sizeBytes) B is not smaller than L\(b.level) \(b.sizeBytes) B")
        }
    }

    /// Many short jobs back to back: every worker runs each job once, and no worker still holds
    /// the caller's closure when `run` returns (withoutActuallyEscaping would trap).
    func testPoolRunsManyShortJobs() throws {
        let pool = WorkerPool(threads: 2, policy: .none, topology: nil)
        var counts = [Int](repeating: 0, count: 2)
        counts.withUnsafeMutableBufferPointer { c in
            for _ in 0..<20_000 { pool.run { w in c[w] += 1 } }
        }
        XCTAssertEqual(counts, [20_000, 20_000])
    }

    /// A worker held up before it takes its part (here: serving a slow read, as a worker whose virtual
    /// CPU the host has taken away) does not hold up `run`: the caller runs that part itself, once,
    /// after the worker's read. `runOnOwnThreads` waits for the worker instead.
    func testRunTakesOverTheLateWorkersPart() throws {
        let pool = WorkerPool(threads: 2, policy: .none, topology: nil, spinMicroseconds: 50)
        let me = WorkerPool.currentThreadID
        let ran = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
        let runs = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        let readDone = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { ran.deallocate(); runs.deallocate(); readDone.deallocate() }
        for own in [false, true] {
            ran.initialize(repeating: 0, count: 2); runs.initialize(repeating: 0, count: 2)
            readDone.pointee = 0
            pool.runOnOwnThreads { _ in }
            // Worker 1 takes the read on its own thread (it watches for work) and spends 100 ms in it.
            pool.postReads { w in
                if w == 1 && WorkerPool.currentThreadID != me { usleep(100_000) }
                readDone.pointee += 1
            }
            usleep(20_000)
            let body: (Int) -> Void = { w in
                ran[w] = WorkerPool.currentThreadID
                runs[w] += 1
                if w == 1 { XCTAssertEqual(readDone.pointee, 1, "part 1 began before worker 1's read ended") }
            }
            if own { pool.runOnOwnThreads(body) } else { pool.run(body) }
            pool.awaitReads()
            XCTAssertEqual([runs[0], runs[1]], [1, 1], own ? "own threads" : "taking late parts")
            XCTAssertEqual(ran[0], me)
            if own {
                XCTAssertNotEqual(ran[1], me, "runOnOwnThreads ran worker 1's part on the caller")
            } else {
                XCTAssertEqual(ran[1], me, "the caller did not take over the late worker's part")
            }
        }
        // The pool goes on: later jobs still run every part once.
        var counts = [0, 0]
        counts.withUnsafeMutableBufferPointer { c in for _ in 0..<1000 { pool.run { w in c[w] += 1 } } }
        XCTAssertEqual(counts, [1000, 1000])
    }

    /// Two workers that take turns (a lock stands in for a host that runs both virtual CPUs on
    /// one core) measure as one: the all-workers rate is not the sum of each worker's own rate.
    func testAllWorkersRateCountsWallTimeWhenWorkersTakeTurns() throws {
        let pool = WorkerPool(threads: 2, policy: .none, topology: nil)
        let turns = TurnTaking()
        let expected = 1e7 / 0.004 / 1e9
        try retryingWhileCoresBusy("the compute probe") {
            let taking = ComputePeakProbe.bestRates(pool: pool, trials: 3, flops: 1e7) { turns.busyInTurn(0.004) }
            if abs(taking.single - expected) > 0.2 * expected {
                return "one worker measured \(taking.single) GFLOP/s, not \(expected)"
            }
            return taking.all < 1.3 * taking.single ? nil : "turn-taking workers measured as \(taking)"
        }
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            // This VM's host sometimes runs both virtual CPUs in turn for a moment (it measured
            // 1.42x once in a full suite): up to three tries, for the best ratio.
            try retryingWhileCoresBusy("the compute probe on parallel workers") {
                var best = (single: 1.0, all: 0.0)
                for _ in 0..<3 where best.all <= 1.5 * best.single {
                    let p = ComputePeakProbe.bestRates(pool: pool, trials: 3, flops: 1e7) { TurnTaking.busy(0.004) }
                    if p.all / p.single > best.all / best.single { best = (p.single, p.all) }
                }
                return best.all > 1.5 * best.single ? nil : "parallel workers measured as \(best)"
            }
        }
    }

    /// The same for bandwidth: two workers that take turns move bytes at one worker's rate.
    func testBandwidthRateCountsWallTimeWhenWorkersTakeTurns() throws {
        let pool = WorkerPool(threads: 2, policy: .none, topology: nil)
        let turns = TurnTaking()
        var one = 0.0
        try retryingWhileCoresBusy("the bandwidth probe") {
            // The best of three: a preemption of this VM lengthens a 4 ms window, never shortens it.
            one = (0..<3).map { _ in
                CeilingProbe.rate(pool: pool, threads: 1, bytesPerThread: 4e7) { _ in TurnTaking.busy(0.004) }
            }.max()!
            if abs(one - 10) > 2 { return "one worker moving 40 MB in 4 ms measured \(one) GB/s" }
            let taking = (0..<3).map { _ in
                CeilingProbe.rate(pool: pool, threads: 2, bytesPerThread: 4e7) { _ in turns.busyInTurn(0.004) }
            }
            return taking.max()! < 1.3 * one ? nil : "turn-taking workers measured as \(taking) GB/s"
        }
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            // The host may run this VM's two virtual CPUs in turn for a while (a CI run measured 9.5
            // GB/s three times in a row, one worker's rate). Up to six tries; after each that fails, a
            // control times two plain threads spinning side by side by the wall clock. If the
            // control saw them overlap while the probe did not, the probe is wrong; if it never did,
            // the host gave no parallelism to check against, and the test says so.
            var side: [Double] = [], overlapped = false
            for _ in 0..<6 {
                side.append(
                    CeilingProbe.rate(pool: pool, threads: 2, bytesPerThread: 4e7) { _ in TurnTaking.busy(0.004) })
                if side.last! > 1.5 * one { break }
                overlapped = overlapped || TurnTaking.twoThreadsOverlap(0.004)
                usleep(50_000)
            }
            if side.max()! <= 1.5 * one && !overlapped {
                throw XCTSkip("the host ran both virtual CPUs in turn throughout (\(side) GB/s, control too)")
            }
            XCTAssertGreaterThan(side.max()!, 1.5 * one, "parallel workers measured as \(side) GB/s")
        }
    }

    /// The roof is the FMA kernel of the widest ISA the kernels use by default, and `measure` times that
    /// kernel alone (the probe the training steps are judged against around each epoch).
    func testRoofIsTheWidestDefaultISAsKernel() throws {
        let names = ["scalar-fma 12x1", "avx2-fma 12x8", "avx512f-fma 12x16"]
        func cpu(_ flags: [String]) -> CPUFeatures {
            CPUFeatures(modelName: "test", vendor: "test", family: nil, model: nil, flags: Set(flags))
        }
        let avx512 = cpu(["fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq"])
        XCTAssertEqual(ComputePeakProbe.roofIndex(names, features: avx512), 2)
        // AVX-512F alone is not what the kernels use: AVX2 stays the roof.
        XCTAssertEqual(ComputePeakProbe.roofIndex(names, features: cpu(["fma", "avx2", "avx512f"])), 1)
        XCTAssertEqual(ComputePeakProbe.roofIndex(names, features: cpu(["fma", "avx2"])), 1)
        XCTAssertEqual(ComputePeakProbe.roofIndex(["sse mul+add 12x4"], features: cpu([])), 0)
        // Kernels capped at an ISA are judged against that ISA's FMA kernel.
        XCTAssertEqual(ComputePeakProbe.roofIndex(names, features: avx512, isa: "avx2"), 1)
        XCTAssertEqual(ComputePeakProbe.roofIndex(names, features: avx512, isa: "scalar"), 0)
        XCTAssertEqual(ComputePeakProbe.roofIndex(names, features: avx512, isa: "avx512"), 2)
        // A record's ceiling for kernels capped at an ISA is that ISA's microkernel, else the roof.
        func peak(_ kernel: String, _ g: Double) -> ComputePeak {
            ComputePeak(perThreadGFLOPs: g, allThreadsGFLOPs: 2 * g, threads: 2, kernel: kernel, trials: 5)
        }
        var record = MachineCeilings(
            fma: peak("avx512f-fma 12x16", 240), mixedPerThreadGFLOPs: 0, mixedAllThreadsGFLOPs: 0, bandwidth: [],
            method: "test")
        XCTAssertEqual(record.fma(isa: "avx2").perThreadGFLOPs, 240, "without per-ISA ceilings: the roof")
        record.computeByISA = [peak("scalar-fma 12x1", 8), peak("avx2-fma 12x8", 120), peak("avx512f-fma 12x16", 240)]
        XCTAssertEqual(record.fma(isa: "avx2").perThreadGFLOPs, 120)
        XCTAssertEqual(record.fma(isa: "scalar").perThreadGFLOPs, 8)
        XCTAssertEqual(record.fma(isa: "avx512").perThreadGFLOPs, 240)
        let here = try CPUFeatures.detect()
        let kernels = ComputePeakProbe.kernels(features: here).map(\.name)
        let pool = WorkerPool(threads: 1, policy: .none, topology: nil)
        XCTAssertEqual(
            ComputePeakProbe.measure(features: here, pool: pool, trials: 1).kernel,
            kernels[ComputePeakProbe.roofIndex(kernels, features: here)])
    }

    /// A load in a cache keeps the better of two streams and one and names it, and keeps the one-stream
    /// median beside it (at most the roof where two streams won, the roof itself where one did);
    /// DRAM reads one stream; copy and triad name none. The median is one of the trials, within their
    /// range.
    func testLoadCeilingNamesItsStreams() throws {
        let pool = WorkerPool(threads: 1, policy: .none, topology: nil)
        let isa = BandwidthISA(features: try CPUFeatures.detect())
        for level in ["L1", "DRAM"] {
            for kernel in ["load", "copy"] {
                let c = CeilingProbe.bandwidth(
                    level: level, kernel: kernel, bytesPerThread: 16384, threads: 1, pool: pool, isa: isa, trials: 3)
                XCTAssertTrue(c.minGBPerSecond <= c.gbPerSecond && c.gbPerSecond <= c.maxGBPerSecond, "\(c)")
                let want: Set<Int?> =
                    kernel != "load" || isa == .sse ? [nil] : level == "DRAM" ? [1] : [1, 2]
                XCTAssertTrue(want.contains(c.streams), "\(level) \(kernel): streams \(String(describing: c.streams))")
                let bothTried = kernel == "load" && level != "DRAM" && isa != .sse
                XCTAssertEqual(c.oneStreamGBPerSecond != nil, bothTried, "\(level) \(kernel): \(c)")
                if let one = c.oneStreamGBPerSecond {
                    if c.streams == 1 { XCTAssertEqual(one, c.gbPerSecond, "\(c)") }
                    if c.streams == 2 { XCTAssertLessThanOrEqual(one, c.gbPerSecond, "\(c)") }
                }
            }
        }
    }

    /// The bandwidth kernels take the kernels' own width: AVX-512 only where the kernels run it.
    func testBandwidthWidthFollowsTheKernels() {
        func cpu(_ flags: [String]) -> CPUFeatures {
            CPUFeatures(modelName: "test", vendor: "test", family: nil, model: nil, flags: Set(flags))
        }
        XCTAssertEqual(
            BandwidthISA(features: cpu(["fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq"])), .avx512)
        XCTAssertEqual(BandwidthISA(features: cpu(["fma", "avx2", "avx512f"])), .avx2)
        XCTAssertEqual(BandwidthISA(features: cpu(["fma", "avx2"])), .avx2)
        XCTAssertEqual(BandwidthISA(features: cpu([])), .sse)
    }

    /// Each bandwidth kernel of each width this machine has moves the data it says: copy leaves b
    /// equal to a, triad a = b + 1.0001·c, load sums every element (AVX-512: all lanes, against a
    /// Double sum). A width this machine lacks is named and skipped.
    func testBandwidthKernelsMoveWhatTheySay() throws {
        let here = try CPUFeatures.detect()
        var widths: [BandwidthISA] = [.sse]
        if here.flags.contains("avx2") && here.flags.contains("fma") { widths.append(.avx2) }
        if here.flags.contains("avx512f") { widths.append(.avx512) }
        #if !(arch(x86_64) || arch(i386))
            widths = [.avx2]  // the portable loops under the x86 names
        #endif
        // 64-byte aligned, as the kernels' aligned loads and stores need.
        let n = 1024
        func buffer() -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64).bindMemory(to: Float.self, capacity: n)
        }
        let a = buffer(), b = buffer(), c = buffer()
        defer { for p in [a, b, c] { UnsafeMutableRawPointer(p).deallocate() } }
        for width in widths {
            for i in 0..<n { a[i] = Float(i & 255) * 0.01; b[i] = -1; c[i] = Float(i % 7) }
            let k = width.kernels
            _ = k.copy(a, b, Int64(n), 1)
            XCTAssertTrue((0..<n).allSatisfy { b[$0] == a[$0] }, "\(width) copy")
            _ = k.triad(a, b, c, Int64(n), 1)
            for i in 0..<n {
                let want = Double(b[i]) + 1.0001 * Double(c[i])
                XCTAssertEqual(Double(a[i]), want, accuracy: 1e-5 * max(1, abs(want)), "\(width) triad at \(i)")
            }
            if width == .avx512 {
                let want = (0..<n).reduce(0.0) { $0 + Double(a[$1]) }
                XCTAssertEqual(
                    Double(k.load(a, Int64(n), 1)), want, accuracy: 1e-4 * abs(want), "two streams")
                XCTAssertEqual(
                    Double(k.loadOneStream(a, Int64(n), 1)), want, accuracy: 1e-4 * abs(want), "one stream")
            }
        }
        let missing = ["avx2", "avx512"].filter { w in !widths.contains { $0.rawValue == w } }
        if !missing.isEmpty { print("bandwidth kernels not run on this machine (no such ISA): \(missing)") }
    }

    /// Jobs with gaps longer than the workers' watch (they go to sleep and must be woken), and a
    /// pool that never watches: every worker still runs every job once.
    func testPoolWakesSleepingWorkersAndRunsWithoutSpinning() throws {
        for spin in [0, 50] {
            let pool = WorkerPool(threads: 2, policy: .none, topology: nil, spinMicroseconds: spin)
            var counts = [Int](repeating: 0, count: 2)
            counts.withUnsafeMutableBufferPointer { c in
                for i in 0..<400 {
                    if i % 4 == 0 { usleep(200) }  // longer than the 50 µs watch
                    pool.run { w in c[w] += 1 }
                }
            }
            XCTAssertEqual(counts, [400, 400], "spin \(spin) µs")
        }
    }

    /// `readWorkers` runs each worker's read exactly once per call, between jobs: on the worker's
    /// own thread while it watches for its next job, on the caller's for a worker that sleeps (a
    /// pool that never watches, or a gap longer than the watch), and never while a job runs.
    func testReadWorkersRunsEachReadOnceOnTheRightThread() throws {
        for (spin, gap) in [(0, 0), (200_000, 0), (50, 500)] {
            let pool = WorkerPool(threads: 3, policy: .none, topology: nil, spinMicroseconds: spin)
            let me = WorkerPool.currentThreadID, tids = pool.threadIDByWorker
            // Workers read at the same time: each writes only its own slots (plain memory, no shared
            // Swift array or counter that two threads could update at once).
            let reads = UnsafeMutablePointer<Int>.allocate(capacity: 3),
                own = UnsafeMutablePointer<Int>.allocate(capacity: 3)
            let byCaller = UnsafeMutablePointer<Int>.allocate(capacity: 3)
            for p in [reads, own, byCaller] { p.initialize(repeating: 0, count: 3) }
            defer { for p in [reads, own, byCaller] { p.deallocate() } }
            var meanwhile = 0
            var jobs = [Int](repeating: 0, count: 3)
            jobs.withUnsafeMutableBufferPointer { j in
                for _ in 0..<200 {
                    // On their own threads: a part the caller took over would have it serve that read.
                    pool.runOnOwnThreads { w in j[w] += 1 }
                    if gap > 0 { usleep(UInt32(gap)) }
                    pool.readWorkers(
                        { w in
                            reads[w] += 1
                            let tid = WorkerPool.currentThreadID
                            if tid == tids[w] { own[w] += 1 } else if tid == me { byCaller[w] += 1 }
                        }, meanwhile: { meanwhile += 1 })
                }
            }
            let (ownAll, byCallerAll) = ((0..<3).reduce(0) { $0 + own[$1] }, (0..<3).reduce(0) { $0 + byCaller[$1] })
            let label = "spin \(spin) µs, gap \(gap) µs"
            XCTAssertEqual(jobs, [200, 200, 200], label)
            XCTAssertEqual((0..<3).map { reads[$0] }, [0, 200, 200], label)
            XCTAssertEqual(meanwhile, 200, label)
            XCTAssertEqual(ownAll + byCallerAll, 400, "\(label): a read ran on some third thread")
            // Asleep after the watch (how many depends on how busy the machine is): read by the caller.
            if gap > 0 { XCTAssertGreaterThan(byCallerAll, 0, "\(label): sleeping workers are read by the caller") }
            if spin == 200_000 { XCTAssertEqual(ownAll, 400, "\(label): watching workers read their own") }
        }
    }

    /// `postReads` returns without waiting; each worker still runs its read exactly once per
    /// request and before its part of the next job, so a read never sees that job's work.
    func testPostedReadsRunOnceAndBeforeTheNextJob() throws {
        for (spin, gap) in [(0, 0), (200_000, 0), (50, 500)] {
            let pool = WorkerPool(threads: 3, policy: .none, topology: nil, spinMicroseconds: spin)
            // Per worker: jobs run, reads run, and the job count each read saw (at most 200 reads).
            let jobs = UnsafeMutablePointer<Int>.allocate(capacity: 3),
                reads = UnsafeMutablePointer<Int>.allocate(capacity: 3)
            let seen = UnsafeMutablePointer<Int>.allocate(capacity: 3 * 200)
            jobs.initialize(repeating: 0, count: 3); reads.initialize(repeating: 0, count: 3)
            seen.initialize(repeating: -1, count: 3 * 200)
            defer { jobs.deallocate(); reads.deallocate(); seen.deallocate() }
            for round in 0..<200 {
                pool.run { w in jobs[w] += 1 }
                if gap > 0 { usleep(UInt32(gap)) }
                pool.postReads { w in
                    if reads[w] < 200 { seen[w * 200 + reads[w]] = jobs[w] }
                    reads[w] += 1
                }
                // The next job goes out at once; every fifth round also waits for the reads.
                if round % 5 == 4 { pool.awaitReads() }
            }
            pool.run { w in jobs[w] += 1 }
            pool.awaitReads()
            let label = "spin \(spin) µs, gap \(gap) µs"
            XCTAssertEqual((0..<3).map { jobs[$0] }, [201, 201, 201], label)
            XCTAssertEqual((0..<3).map { reads[$0] }, [0, 200, 200], label)
            for w in 1..<3 {
                XCTAssertEqual(
                    (0..<200).map { seen[w * 200 + $0] }, Array(1...200),
                    "\(label): worker \(w) read after its next job")
            }
        }
    }

    func testBindPolicies() throws {
        let topo = Topology(
            packages: 1, cores: 2, processingUnits: 4, numaNodes: 1, cpuModel: "x", cpuVendor: "x",
            caches: [], instructionCaches: [], corePUs: [[0, 2], [1, 3]])
        XCTAssertEqual(BindPolicy.compact.placement(workers: 3, topology: topo), [0, 2, 1])
        XCTAssertEqual(BindPolicy.scatter.placement(workers: 3, topology: topo), [0, 1, 2])
        XCTAssertEqual(BindPolicy.none.placement(workers: 2, topology: topo), [nil, nil])
    }

    func testPinnedPoolRunsEveryWorkerOnItsPU() throws {
        let hw = try HwlocTopology()
        let snap = hw.snapshot()
        let pool = WorkerPool(threads: snap.cores, policy: .compact, topology: hw)
        XCTAssertEqual(pool.bindingWarnings, [])
        var seen = [Int](repeating: 0, count: pool.width)
        var bound = [[Int]](repeating: [], count: pool.width)
        seen.withUnsafeMutableBufferPointer { s in
            bound.withUnsafeMutableBufferPointer { b in
                pool.runOnOwnThreads { w in
                    s[w] += 1
                    b[w] = (try? hw.currentThreadBinding()) ?? []
                }
            }
        }
        XCTAssertEqual(seen, Array(repeating: 1, count: pool.width))
        for w in 0..<pool.width { XCTAssertEqual(bound[w], [pool.placement[w]!], "worker \(w)") }
    }

    /// Worker 0 is the thread that made the pool: it runs its part of each job itself, bound to its
    /// unit while the pool lives, and gets its earlier binding back when the pool goes away.
    func testCallerIsWorkerZeroAndGetsItsBindingBack() throws {
        let hw = try HwlocTopology()
        let before = try hw.currentThreadBinding()
        let me = WorkerPool.currentThreadID
        do {
            let pool = WorkerPool(threads: 2, policy: .compact, topology: hw)
            XCTAssertEqual(pool.threadIDByWorker.first, me)
            XCTAssertFalse(pool.threadIDs.contains(me), "the caller is not one of the pool's own threads")
            XCTAssertEqual(pool.threadIDs.count, pool.width - 1)
            var ran = [Int32](repeating: 0, count: 2)
            ran.withUnsafeMutableBufferPointer { r in pool.runOnOwnThreads { w in r[w] = WorkerPool.currentThreadID } }
            XCTAssertEqual(ran[0], me)
            XCTAssertNotEqual(ran[1], me)
            XCTAssertEqual(try hw.currentThreadBinding(), [pool.placement[0]!])
        }
        XCTAssertEqual(try hw.currentThreadBinding(), before)
    }
}

final class CounterTests: XCTestCase {
    func testGenericEventsEncode() throws {
        let cycles = try PfmLibrary.encode("cycles")
        XCTAssertEqual(cycles.type, UInt32(PERF_TYPE_HARDWARE.rawValue))
        XCTAssertEqual(cycles.config, UInt64(PERF_COUNT_HW_CPU_CYCLES.rawValue))
        XCTAssertTrue(cycles.qualifiedName.contains("CYCLES"), cycles.qualifiedName)
        let tc = try PfmLibrary.encode("task-clock")
        XCTAssertEqual(tc.type, UInt32(PERF_TYPE_SOFTWARE.rawValue))
        XCTAssertEqual(tc.config, UInt64(PERF_COUNT_SW_TASK_CLOCK.rawValue))
    }

    func testUnknownEventIsATypedErrorNamingIt() {
        XCTAssertThrowsError(try PfmLibrary.encode("no_such_event_xyz")) { e in
            guard case HardwareError.pfm(_, _, _, let subject) = e else { return XCTFail("wrong error \(e)") }
            XCTAssertTrue(subject.contains("no_such_event_xyz"))
            XCTAssertTrue("\(e)".contains("event not found"), "\(e)")
        }
    }

    func testTaskClockCountsABusyLoop() throws {
        let g = try CounterGroup(events: [try PfmLibrary.encode("task-clock")])
        try g.reset()
        let t0 = DispatchTime.now().uptimeNanoseconds
        try g.enable()
        blackHole(busyLoop(3_000_000))
        try g.disable()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - t0)
        let r = try XCTUnwrap(try g.read().first)
        XCTAssertGreaterThan(r.raw, 0)
        XCTAssertGreaterThan(r.scaled, wall / 4, "task-clock \(r.scaled) ns vs wall \(wall) ns")
        XCTAssertLessThan(r.scaled, wall * 4, "task-clock \(r.scaled) ns vs wall \(wall) ns")
    }

    func testHardwareEventOpensOrGivesTypedError() throws {
        let ev = try PfmLibrary.encode("instructions")
        do {
            let g = try CounterGroup(events: [ev])
            try g.enable()
            blackHole(busyLoop(100_000))
            try g.disable()
            let r = try g.read()
            XCTAssertGreaterThan(r.first?.raw ?? 0, 0, "a PMU is exposed here: instructions must count")
        } catch let e as HardwareError {
            guard case .system(let call, let errno, let ctx) = e else { return XCTFail("wrong error \(e)") }
            XCTAssertEqual(call, "perf_event_open")
            XCTAssertTrue(ctx.contains("instructions"))
            XCTAssertFalse(CounterProbe.cause(errno: errno).isEmpty)
            print("instructions cannot be opened here: \(e) — \(CounterProbe.cause(errno: errno))")
        }
    }

    func testMultiplexScaling() {
        let s = CounterReading.scale(raw: 1000, enabled: 4_000, running: 1_000)!
        XCTAssertEqual(s.value, 4000)
        XCTAssertEqual(s.factor, 4)
        XCTAssertEqual(CounterReading.scale(raw: 7, enabled: 10, running: 10)!.value, 7)
        XCTAssertNil(CounterReading.scale(raw: 0, enabled: 10, running: 0), "never ran: no value, not 0")
    }

    func testProbeNeverReportsZeroForFailedEvents() throws {
        let results = CounterProbe.probe(["cycles", "task-clock", "no_such_event_xyz"])
        XCTAssertEqual(results.map(\.event), ["cycles", "task-clock", "no_such_event_xyz"])
        let bogus = try XCTUnwrap(results.last)
        XCTAssertFalse(bogus.opened, "an unknown event cannot open")
        XCTAssertNil(bogus.sample)
        XCTAssertFalse(bogus.cause?.isEmpty ?? true, "\(bogus)")
        for r in results where !r.opened {
            XCTAssertNil(r.sample, "\(r.event) did not open but has a sample")
            XCTAssertNotNil(r.cause)
        }
    }

    func testCPUInfoParsing() {
        let f = CPUFeatures.parse(
            cpuinfo: "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n"
                + "flags\t\t: fpu sse4_2 avx avx2 fma\n\n")
        XCTAssertEqual(f.modelName, "AMD EPYC")
        XCTAssertEqual(f.family, 25)
        XCTAssertEqual(f.simd.filter(\.present).map(\.name), ["SSE4.2", "AVX", "AVX2", "FMA"])
        XCTAssertEqual(f.fp32Lanes, 8)
    }
}

/// A lock that stands in for a host running both virtual CPUs on one core: threads that spin
/// inside it take turns.
/// Runs `attempt` (nil: its checks held; else what failed) up to four times. A failure while other
/// work holds the cores (`TurnTaking.coresAreFree`) is tried again after a pause, and when the cores
/// stay busy the test is skipped, saying so; failing twice on free cores is a failure.
func retryingWhileCoresBusy(_ what: String, _ attempt: () -> String?) throws {
    var freeFailures = 0, last = ""
    for _ in 0..<4 {
        guard let failure = attempt() else { return }
        last = failure
        if TurnTaking.coresAreFree() {
            freeFailures += 1
            if freeFailures == 2 { break }
        } else {
            usleep(200_000)
        }
    }
    if freeFailures < 2 { throw XCTSkip("\(what): other work held the cores in every try (\(last))") }
    XCTFail("\(what): \(last)")
}

final class TurnTaking {
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(lock, nil) }
    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    /// Spins for `seconds` on this thread.
    static func busy(_ seconds: Double) {
        let end = ComputePeakProbe.seconds() + seconds
        while ComputePeakProbe.seconds() < end {}
    }

    /// Whether two plain threads, each spinning for `seconds`, finish within 1.4 · `seconds` of wall
    /// time from their start: the host ran them side by side.
    static func twoThreadsOverlap(_ seconds: Double) -> Bool {
        let start = ComputePeakProbe.seconds()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in busy(seconds) }
        return ComputePeakProbe.seconds() - start < 1.4 * seconds
    }

    /// Whether two threads, each spinning for 20 ms of wall time, each got at least 80% of it as
    /// CPU time: if not, other work holds the cores, and wall-clock rates say nothing of a probe.
    static func coresAreFree() -> Bool {
        let shares = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2)
        defer { shares.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            var t0 = timespec(), t1 = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0)
            busy(0.02)
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1)
            shares[i] = (Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) * 1e-9) / 0.02
        }
        return shares.allSatisfy { $0 >= 0.8 }
    }

    /// Spins for `seconds` while holding the lock.
    func busyInTurn(_ seconds: Double) {
        pthread_mutex_lock(lock)
        Self.busy(seconds)
        pthread_mutex_unlock(lock)
    }
}

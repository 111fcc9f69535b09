using System.Diagnostics;
using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Locking;
using Testbed.HostMm.Mm;
using Testbed.Results;

namespace Testbed.Scenarios;

/// <summary>
/// <c>fault-storm</c> (seed 001, DESIGN §5): in each round a page is migrated to the device and N
/// CPU threads fault it at once, lined up by <see cref="LineUpScheduler"/> at <c>DoSwapPage</c>'s
/// preemption points so that every thread takes its reference before any migration checks the
/// refcount. Under <see cref="SwapFaultLocking.Legacy"/> each thread's reference fails the others'
/// migrations and no fault completes (the livelock); under <see cref="SwapFaultLocking.Locked"/>
/// one thread migrates the page once and the others wait without a reference. A round whose faults
/// stop completing for the stall window (1 s at CI size, <c>--stall-timeout</c> at full size) counts
/// as stopped; the scheduler is then switched off so the faults finish and the data is checked.
/// The driver runs without its per-range migration lock here (as lib/test_hmm.c's dmirror does):
/// that lock is UVM's own mitigation, and under it the legacy faults keep livelocking among
/// themselves even after the scheduler lets go. Fault latencies include the scheduler's 100 ms
/// line-up window.
/// </summary>
public sealed class FaultStormScenario : IScenario
{
    /// <inheritdoc/>
    public string Name => "fault-storm";

    /// <inheritdoc/>
    public string Summary => "N CPU threads fault one device-private page (seed 001): legacy vs locked DoSwapPage";

    /// <inheritdoc/>
    public SharedOptions Takes => SharedOptions.Threads | SharedOptions.Rounds | SharedOptions.Coherence;

    /// <inheritdoc/>
    /// <remarks>It maps a fixed, small number of pages.</remarks>
    public MemoryNeed Memory(ScenarioSettings settings) => new(0, 0);

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } =
        [ScenarioOption.OneOf("swap-fault-locking", "DoSwapPage's locking: the 2024 fix (locked) or the older one (legacy)", "legacy", "locked")];

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = context.Settings;
        var threads = s.Pick(s.Threads, 8, 16);
        var rounds = s.Pick(s.Rounds, 3, 10);
        var window = s.Size == RunSize.Ci ? TimeSpan.FromSeconds(Math.Min(1, s.StallTimeout.TotalSeconds)) : s.StallTimeout;
        if (threads < 2)
        {
            throw new ScenarioInputException("fault-storm needs --threads 2 or more: the livelock is between faulting threads");
        }

        var runs = ScenarioOption.Split(context.Option("swap-fault-locking"))
            .Select(v => RunOne(context, v == "legacy" ? SwapFaultLocking.Legacy : SwapFaultLocking.Locked, threads, rounds, window))
            .ToList();
        return new ScenarioResult(Name, new Dictionary<string, string>
        {
            ["threads"] = $"{threads}",
            ["rounds"] = $"{rounds}",
            ["stall_window_s"] = $"{window.TotalSeconds}",
            ["swap-fault-locking"] = context.Option("swap-fault-locking"),
        }, runs);
    }

    private static PolicyRun RunOne(ScenarioContext context, SwapFaultLocking locking, int threads, int rounds, TimeSpan window)
    {
        var variant = locking == SwapFaultLocking.Legacy ? "legacy" : "locked";
        context.Status($"fault-storm: {variant}");
        using var rig = new ScenarioRig(context, context.Settings.Coherence, new HostKernelOptions { SwapFaultLocking = locking });
        var va = rig.Map(1);
        var mirror = rig.Mirror(va, 1, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16, SerializeMigrations = false });
        var latencies = new List<double>();
        var completedInWindow = 0L;
        var stalledRounds = 0;
        var wrongReads = 0L;
        using var writer = new CpuContext(rig.Mm);
        for (var r = 0; r < rounds; r++)
        {
            var value = 0x5eed0000 + r;
            ScenarioRig.Check(writer.Write(va, value), "fault-storm write");
            ScenarioRig.Check(mirror.MigrateToDevice(va, 1), $"fault-storm migrate: {mirror.LastError}");
            var scheduler = new LineUpScheduler(threads, TimeSpan.FromMilliseconds(100));
            rig.Kernel.Sync.Scheduler = scheduler;
            var completed = 0;
            using var go = new ManualResetEventSlim();
            var workers = new ScenarioThreads(threads, "fault-storm cpu", (_, token) =>
            {
                using var cpu = new CpuContext(rig.Mm);
                go.Wait(token);
                var start = Stopwatch.GetTimestamp();
                var err = cpu.Read(va, out int seen);
                var us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                lock (latencies)
                {
                    latencies.Add(us);
                    wrongReads += err == Errno.Ok && seen == value ? 0 : 1;
                }

                Interlocked.Increment(ref completed);
            });
            workers.Start();
            go.Set();
            var last = 0;
            var lastMove = Stopwatch.StartNew();
            while (Volatile.Read(ref completed) < threads && lastMove.Elapsed < window)
            {
                Thread.Sleep(5);
                if (Volatile.Read(ref completed) != last)
                {
                    last = Volatile.Read(ref completed);
                    lastMove.Restart();
                }
            }

            completedInWindow += Volatile.Read(ref completed);
            stalledRounds += Volatile.Read(ref completed) < threads ? 1 : 0;
            scheduler.Disable();
            rig.Kernel.Sync.Scheduler = null;
            if (!workers.Join(TimeSpan.FromSeconds(30)))
            {
                workers.Cancel();
                return rig.Stalled(variant, "migrate", new Dictionary<string, string> { ["swap-fault-locking"] = variant }, new Invariant("progress", false, $"round {r}: faults still stuck 30 s after the adversarial scheduler was switched off"));
            }
        }

        writer.Dispose();
        var c = rig.Kernel.Counters;
        var faults = (long)threads * rounds;
        var entries = c[MmEvent.FaultDevicePrivate] + c[MmEvent.FaultDevicePrivateBusy];
        var migrated = c[MmEvent.MigratedToRam];
        Invariant[] checks = locking == SwapFaultLocking.Legacy
            ? [new Invariant("livelock_reproduced", stalledRounds > 0, $"faults stopped completing in {stalledRounds} of {rounds} rounds ({c[MmEvent.MigrateFailRefs]} migrations failed on extra references)")]
            : [
                new Invariant("progress", stalledRounds == 0, $"{completedInWindow} of {faults} faults completed within the stall window"),
                new Invariant("one_migration_per_round", migrated == rounds, $"{migrated} migrations to RAM in {rounds} rounds"),
            ];
        return new PolicyRun
        {
            Name = variant,
            Policy = "migrate",
            Settings = new Dictionary<string, string> { ["swap-fault-locking"] = variant },
            Metrics = new Dictionary<string, Metric>
            {
                ["completed"] = new(completedInWindow, "count"),
                ["faults"] = new(faults, "count"),
                ["migration_failures"] = new(c[MmEvent.MigrateFailRefs], "count"),
                ["retries"] = new(Math.Max(0, entries - faults), "count"),
                ["fault_us_p50"] = new(Percentiles.Of(latencies, 50), "us"),
                ["fault_us_p99"] = new(Percentiles.Of(latencies, 99), "us"),
                ["stalled_rounds"] = new(stalledRounds, "count"),
            },
            Invariants = [.. checks, new Invariant("data_intact", wrongReads == 0, $"{wrongReads} of {faults} faulting reads failed or saw a wrong value"), .. rig.TearDown()],
        };
    }
}

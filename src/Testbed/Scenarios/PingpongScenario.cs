using System.Diagnostics;
using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Cpu;
using Testbed.Results;

namespace Testbed.Scenarios;

/// <summary>
/// <c>pingpong</c> (DESIGN §5): CPU threads and a device kernel add to the same pages, under each
/// policy. With <c>--mode alternate</c> (the default) they go in lockstep rounds — in each round the
/// device runs its work while every CPU thread sweeps every page once — so a page changes hands
/// about once per round; the work is the same for every policy. With <c>--mode concurrent</c>
/// nobody waits: the device runs its rounds back to back while every CPU thread keeps sweeping
/// until the device is done (at least once), so the same page is touched by both within
/// microseconds — the access pattern UVM's thrashing detection exists for (its lapse is 500 µs,
/// shorter than an alternate round). The device's work is the same for every policy and the CPUs'
/// sweeps are counted, so migrations, faults and useful ops/s compare directly. Each CPU thread sweeps the pages in an order drawn from
/// <c>--seed</c>. Device memory holds twice the working set: eviction plays no part, and a page
/// migrating back to the device while the CPU fault that took it still holds its old frame finds a
/// free one (with no headroom such a page stays in system memory, mapped remotely, for the rest of
/// the run). A sampler records where each page is every 2 ms (the residency timeline).
/// Invariant: every word ends with exactly the device's and the CPUs' additions.
/// </summary>
public sealed class PingpongScenario : IScenario
{
    private const int MaxSamples = 400;
    private const int MaxTimelinePages = 256;

    /// <summary>The policies compared when none are named.</summary>
    public static IReadOnlyList<string> DefaultPolicies { get; } = ["migrate", "remote", "uvm-thrashing", "timeslice"];

    /// <inheritdoc/>
    public string Name => "pingpong";

    /// <inheritdoc/>
    public string Summary => "CPU threads and device kernels touch the same pages; migrations, faults and useful ops/s per policy";

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } = [Mode];

    /// <summary><c>--mode alternate|concurrent</c>: lockstep rounds, or both sides at once; a list runs each mode as its own variant.</summary>
    public static ScenarioOption Mode { get; } = ScenarioOption.OneOf("mode", "lockstep rounds (alternate) or device and CPUs at once (concurrent)", "alternate", "concurrent") with { Default = "alternate" };

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = context.Settings;
        var pages = s.Pick(s.Pages, 32, 512);
        var threads = s.Pick(s.Threads, 2, 4);
        var rounds = s.Pick(s.Rounds, 20, 100);
        var policies = s.Policies ?? DefaultPolicies;
        var modes = ScenarioOption.Split(context.Option(Mode));
        var runs = (from mode in modes
                    from policy in policies
                    select RunPolicy(context, policy, modes.Length > 1 ? $"{policy} mode={mode}" : policy, mode == "concurrent", pages, threads, rounds)).ToList();
        return new ScenarioResult(Name, new Dictionary<string, string>
        {
            ["pages"] = $"{pages}",
            ["threads"] = $"{threads}",
            ["rounds"] = $"{rounds}",
            ["seed"] = $"{s.Seed}",
            ["policies"] = string.Join(',', policies),
            ["mode"] = string.Join(',', modes),
        }, runs);
    }

    private static PolicyRun RunPolicy(ScenarioContext context, string policyName, string name, bool concurrent, int pages, int threads, int rounds)
    {
        context.Status($"pingpong: {name}");
        using var rig = new ScenarioRig(context, context.Settings.Coherence);
        var policy = ResidencyPolicies.Create(policyName, pages) ?? throw new ScenarioInputException($"unknown policy '{policyName}'");
        var va = rig.Map(pages);
        var chunk = 16;
        var mirror = rig.Mirror(va, pages, policy, new MirrorOptions { DevicePages = 2 * ((pages + chunk - 1) / chunk * chunk), ChunkPages = chunk });
        var wpp = rig.WordsPerPage;
        var words = pages * wpp;
        var work = DeviceWork.Adds(items: pages * 2, opsPerItem: 16, firstWord: 0, span: words, stride: wpp + 1);
        var cpuCounts = new long[threads];
        var sweeps = new int[threads];
        var cpuOps = 0L;
        var samples = new List<string>();
        var times = new List<double>();
        // Not disposed: a thread abandoned by a stalled run may still be waiting on it.
        var barrier = concurrent ? null : new Barrier(threads + 1);
        var done = 0;
        Func<int, bool> more = concurrent ? r => r == 0 || Volatile.Read(ref done) == 0 : r => r < rounds;
        var state = new string[threads + 1];
        var clock = Stopwatch.StartNew();
        var workers = new ScenarioThreads(threads, "pingpong cpu", (t, token) => CpuSweeps(rig, va, t, SweepOrder(context.Settings.Seed, t, pages), more, barrier, token, ref cpuCounts[t], ref sweeps[t], ref cpuOps, state));
        var sampler = new ScenarioThreads(1, "pingpong sampler", (_, token) => Sample(mirror, va, pages, clock, samples, times, ref done, token));

        var progress = ProgressWatchdog.Guard(
            $"pingpong/{name}",
            () =>
            {
                workers.Start();
                sampler.Start();
                try
                {
                    for (var r = 0; r < rounds; r++)
                    {
                        state[threads] = $"device: round {r}, Run";
                        ScenarioRig.Check(mirror.Run(work), $"pingpong device round {r}: {mirror.LastError}");
                        state[threads] = $"device: round {r}, barrier";
                        barrier?.SignalAndWait(workers.Token);
                    }
                }
                catch (OperationCanceledException) when (workers.Token.IsCancellationRequested)
                {
                    // A CPU thread failed: Join rethrows its error.
                }
                catch
                {
                    workers.Cancel();
                    throw;
                }
                finally
                {
                    Volatile.Write(ref done, 1);
                }

                workers.Join();
                sampler.Join();
            },
            () => Volatile.Read(ref cpuOps) + mirror.Counters.Launches,
            context.Settings.StallTimeout,
            () => $"{string.Join("; ", state.Where(x => x is not null))} ({mirror.Activity})");
        var elapsed = clock.Elapsed.TotalSeconds;
        if (!progress.Held)
        {
            workers.Cancel();
            sampler.Cancel();
            return rig.Stalled(name, policyName, null, progress);
        }

        var expected = new long[words];
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                expected[work.Target(i, k)] += rounds;
            }
        }

        for (var t = 0; t < threads; t++)
        {
            for (var p = 0; p < pages; p++)
            {
                expected[CpuWord(p, t, wpp)] += sweeps[t];
            }
        }

        var c = mirror.Counters;
        var metrics = new Dictionary<string, Metric>
        {
            ["migrations"] = new(c.Migrations, "count"),
            ["migrations_per_page"] = new((double)c.Migrations / pages, "count"),
            ["median_stay_us"] = new(c.MedianStayMicroseconds(), "us"),
            ["bytes_migrated"] = new((double)c.Migrations * rig.PageSize, "bytes"),
            ["cpu_faults"] = new(c.CpuFaults, "count"),
            ["gpu_faults"] = new(c.GpuFaults, "count"),
            ["replays"] = new(c.Replays, "count"),
            ["throttles"] = new(c.ThrottledFaults, "count"),
            ["thrashing_detected"] = new(policy is UvmThrashingPolicy detector ? detector.ThrashingDetected : 0, "count"),
            ["pins"] = new(policy is UvmThrashingPolicy uvm ? uvm.Pins : 0, "count"),
            ["useful_ops"] = new(work.TotalOps * rounds + cpuCounts.Sum(), "count"),
            ["useful_ops_per_s"] = new((work.TotalOps * rounds + cpuCounts.Sum()) / elapsed, "ops/s"),
            ["elapsed_s"] = new(elapsed, "s"),
        };
        var perPage = Enumerable.Range(0, pages).Select(p => mirror.MigrationsOf(p)).ToList();
        Invariant totals;
        using (var cpu = new CpuContext(rig.Mm))
        {
            totals = WordCheck.Compare("totals_exact", expected, rig.CpuRead(cpu, va, words), wpp);
        }

        return new PolicyRun
        {
            Name = name,
            Policy = policyName,
            Metrics = metrics,
            Invariants = [totals, progress, .. rig.TearDown()],
            Timeline = new ResidencyTimeline(times, samples),
            MigrationsPerPage = perPage,
        };
    }

    /// <summary>The word CPU thread <paramref name="t"/> adds to on page <paramref name="p"/>.</summary>
    private static int CpuWord(int p, int t, int wpp) => (p * wpp) + ((t * 7) + 3) % wpp;

    /// <summary>The order CPU thread <paramref name="t"/> sweeps the pages in: a permutation drawn from the run's seed.</summary>
    private static int[] SweepOrder(int seed, int t, int pages)
    {
        var order = Enumerable.Range(0, pages).ToArray();
        new Random(unchecked((seed * 7919) + t)).Shuffle(order);
        return order;
    }

    private static void CpuSweeps(ScenarioRig rig, ulong va, int t, int[] order, Func<int, bool> more, Barrier? barrier, CancellationToken token, ref long count, ref int sweeps, ref long total, string[] state)
    {
        using var cpu = new CpuContext(rig.Mm);
        for (var r = 0; more(r); r++)
        {
            state[t] = $"cpu-{t}: round {r}, sweeping the pages";
            foreach (var p in order)
            {
                var addr = va + ((ulong)CpuWord(p, t, rig.WordsPerPage) * sizeof(int));
                ScenarioRig.Check(cpu.AtomicAdd(addr, 1, out int _), "pingpong CPU add");
            }

            // Counted once a sweep: a shared counter bumped per add would cost more than the add.
            count += order.Length;
            Interlocked.Add(ref total, order.Length);
            sweeps++;
            state[t] = $"cpu-{t}: round {r}, barrier";
            if (barrier is null)
            {
                token.ThrowIfCancellationRequested();
            }
            else
            {
                barrier.SignalAndWait(token);
            }
        }
    }

    private static void Sample(MirrorDevice mirror, ulong va, int pages, Stopwatch clock, List<string> samples, List<double> times, ref int done, CancellationToken token)
    {
        var n = Math.Min(pages, MaxTimelinePages);
        var snapshot = new PageSnapshot[n];
        var row = new char[n];
        while (Volatile.Read(ref done) == 0 && !token.IsCancellationRequested && samples.Count < MaxSamples)
        {
            if (mirror.Snapshot(va, snapshot) == HostMm.Errno.Ok)
            {
                for (var p = 0; p < n; p++)
                {
                    row[p] = Where(snapshot[p], mirror.Lookup(va + ((ulong)p * (ulong)(mirror.WordsPerPage * sizeof(int)))));
                }

                times.Add(clock.Elapsed.TotalMilliseconds);
                samples.Add(new string(row));
            }

            Thread.Sleep(2);
        }
    }

    /// <summary>A page's location as a <see cref="ResidencyTimeline.Locations"/> character.</summary>
    internal static char Where(PageSnapshot s, uint entry) => s switch
    {
        _ when (s & PageSnapshot.DevicePrivateLocal) != 0 => 'd',
        _ when (s & (PageSnapshot.DeviceCoherentLocal | PageSnapshot.DeviceCoherentRemote)) != 0 => 'c',
        _ when (s & (PageSnapshot.Read | PageSnapshot.Write)) != 0 => 's',
        _ when DevicePte.IsValid(entry) && !DevicePte.IsDevice(entry) && (entry & DevicePte.Atomic) != 0 => 'x',
        _ => '.',
    };
}

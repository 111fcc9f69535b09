using System.Diagnostics;
using System.Globalization;
using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Kernels.DeviceCode;

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
/// With <c>--devices N</c> (2 to 4) N devices, each on its own accelerator with its own processor
/// id and sharing the policy, run the same work: in alternate mode one after another within each
/// round, in concurrent mode each on its own thread. A page one device holds reaches another through
/// system memory (a staged copy, counted as <c>device_to_device</c>), the multi-GPU thrashing UVM's
/// processor masks track; the counters are summed over the devices, and the timeline says which
/// device's memory a page is in (<c>d</c> for the first, <c>2</c> to <c>4</c> for the others).
/// Invariant: every word ends with exactly the devices' and the CPUs' additions.
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

    private const int MaxDevices = 4;

    /// <inheritdoc/>
    public SharedOptions Takes => SharedOptions.Policy | SharedOptions.Pages | SharedOptions.Threads | SharedOptions.Rounds | SharedOptions.Seed | SharedOptions.Coherence;

    /// <inheritdoc/>
    /// <remarks>Measured: 24.6 KiB a page with one device, 8.2 KiB more for each further device.</remarks>
    public MemoryNeed Memory(ScenarioSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var devices = int.TryParse(settings.Options.GetValueOrDefault(Devices.Name, Devices.Default), CultureInfo.InvariantCulture, out var d) ? d : 1;
        return new(ThpOption.AnyOn(settings) ? ThpOption.Blocks(PagesOf(settings)) : PagesOf(settings), (20L + (10L * devices)) << 10);
    }

    private static int PagesOf(ScenarioSettings s) => s.Pick(s.Pages, 32, 512);

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } = [Mode, Devices, ThpOption.Option];

    /// <summary><c>--devices N</c>: how many devices mirror the pages (1 to 4), each on its own accelerator, sharing the policy.</summary>
    public static ScenarioOption Devices { get; } = new(
        "devices",
        $"devices mirroring the pages (1 to {MaxDevices}), each on its own accelerator, sharing the policy; pages move between them through system memory",
        "1",
        v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxDevices ? null : $"'{v}' is not a device count from 1 to {MaxDevices}");

    /// <summary><c>--mode alternate|concurrent</c>: lockstep rounds, or both sides at once; a list runs each mode as its own variant.</summary>
    public static ScenarioOption Mode { get; } = ScenarioOption.OneOf("mode", "lockstep rounds (alternate) or device and CPUs at once (concurrent)", "alternate", "concurrent") with { Default = "alternate" };

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = context.Settings;
        var pages = PagesOf(s);
        var threads = s.Pick(s.Threads, 2, 4);
        var rounds = s.Pick(s.Rounds, 20, 100);
        var policies = s.Policies ?? DefaultPolicies;
        var modes = ScenarioOption.Split(context.Option(Mode));
        var devices = int.Parse(context.Option(Devices), CultureInfo.InvariantCulture);
        var thps = ThpOption.Values(context);
        if (devices > 1 && policies.Contains("coherent"))
        {
            throw new ScenarioInputException($"pingpong --devices {devices}: policy 'coherent' needs one device (a device cannot map another's coherent memory: this model has no peer mappings)");
        }

        var runs = (from thp in thps
                    from mode in modes
                    from policy in policies
                    select RunPolicy(context, policy, VariantName(policy, mode, modes.Length > 1, thp, thps.Length > 1), mode == "concurrent", thp ? ThpOption.Blocks(pages) : pages, threads, rounds, devices, thp)).ToList();
        return new ScenarioResult(Name, new Dictionary<string, string>
        {
            ["pages"] = $"{pages}",
            ["threads"] = $"{threads}",
            ["rounds"] = $"{rounds}",
            ["seed"] = $"{s.Seed}",
            ["policies"] = string.Join(',', policies),
            ["mode"] = string.Join(',', modes),
            ["devices"] = $"{devices}",
            ["thp"] = context.Option(ThpOption.Option),
        }, runs);
    }

    private static string VariantName(string policy, string mode, bool modes, bool thp, bool thps) =>
        policy + (modes ? $" mode={mode}" : "") + (thps ? $" thp={ThpOption.Value(thp)}" : "");

    private static PolicyRun RunPolicy(ScenarioContext context, string policyName, string name, bool concurrent, int pages, int threads, int rounds, int devices, bool thp)
    {
        context.Status($"pingpong: {name}");
        using var rig = new ScenarioRig(context, context.Settings.Coherence, SystemMemory.For(pages));
        var policy = ResidencyPolicies.Create(policyName, pages) ?? throw new ScenarioInputException($"unknown policy '{policyName}'");
        var va = rig.Map(pages, thp);
        var chunk = thp ? MirrorDevice.RangeBlockPages : 16;
        var options = new MirrorOptions { DevicePages = 2 * ((pages + chunk - 1) / chunk * chunk), ChunkPages = chunk, Thp = thp };
        var mirrors = Enumerable.Range(0, devices)
            .Select(d => rig.Mirror(va, pages, policy, options with { ProcessorId = d + 1 }, d == 0 ? null : rig.AddRunner()))
            .ToArray();
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
        var state = new string[threads + devices];
        var clock = Stopwatch.StartNew();
        var workers = new ScenarioThreads(threads, "pingpong cpu", (t, token) => CpuSweeps(rig, va, t, SweepOrder(context.Settings.Seed, t, pages), more, barrier, token, ref cpuCounts[t], ref sweeps[t], ref cpuOps, state));
        var sampler = new ScenarioThreads(1, "pingpong sampler", (_, token) => Sample(mirrors, va, pages, clock, samples, times, ref done, token));

        // In concurrent mode every device but the first runs its rounds on a thread of its own.
        var others = concurrent && devices > 1
            ? new ScenarioThreads(devices - 1, "pingpong device", (d, token) => DeviceRounds(mirrors, [d + 1], work, rounds, null, state, threads, token))
            : null;
        int[] here = concurrent ? [0] : [.. Enumerable.Range(0, devices)];

        var progress = ProgressWatchdog.Guard(
            $"pingpong/{name}",
            () =>
            {
                workers.Start();
                sampler.Start();
                others?.Start();
                try
                {
                    DeviceRounds(mirrors, here, work, rounds, barrier, state, threads, workers.Token);
                    others?.Join();
                }
                catch (OperationCanceledException) when (workers.Token.IsCancellationRequested)
                {
                    // A CPU thread failed: Join rethrows its error, once the other devices stopped.
                    others?.Cancel();
                    others?.Join();
                }
                catch
                {
                    workers.Cancel();
                    others?.Cancel();
                    throw;
                }
                finally
                {
                    Volatile.Write(ref done, 1);
                }

                workers.Join();
                sampler.Join();
            },
            () => Volatile.Read(ref cpuOps) + mirrors.Sum(m => m.Counters.Launches),
            context.Settings.StallTimeout,
            () => $"{string.Join("; ", state.Where(x => x is not null))} ({string.Join("; ", mirrors.Select(m => m.Activity))})");
        var elapsed = clock.Elapsed.TotalSeconds;
        if (!progress.Held)
        {
            workers.Cancel();
            others?.Cancel();
            sampler.Cancel();
            return rig.Stalled(name, policyName, null, progress);
        }

        var expected = new long[words];
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                expected[work.Target(i, k)] += (long)rounds * devices;
            }
        }

        for (var t = 0; t < threads; t++)
        {
            for (var p = 0; p < pages; p++)
            {
                expected[CpuWord(p, t, wpp)] += sweeps[t];
            }
        }

        var counters = mirrors.Select(m => m.Counters).ToArray();
        long Sum(Func<MirrorCounters, long> of) => counters.Sum(of);
        var stays = new long[MirrorCounters.StayBuckets];
        foreach (var c in counters)
        {
            var own = c.Stays();
            for (var b = 0; b < stays.Length; b++)
            {
                stays[b] += own[b];
            }
        }

        var deviceOps = work.TotalOps * rounds * devices;
        var metrics = new Dictionary<string, Metric>
        {
            ["migrations"] = new(Sum(c => c.Migrations), "count"),
            ["migrations_per_page"] = new((double)Sum(c => c.Migrations) / pages, "count"),
            ["device_to_device"] = new(Sum(c => c.StagedOut), "count"),
            ["median_stay_us"] = new(MirrorCounters.MedianStayMicroseconds(stays), "us"),
            ["bytes_migrated"] = new((double)Sum(c => c.Migrations) * rig.PageSize, "bytes"),
            ["cpu_faults"] = new(Sum(c => c.CpuFaults), "count"),
            ["gpu_faults"] = new(Sum(c => c.GpuFaults), "count"),
            ["replays"] = new(Sum(c => c.Replays), "count"),
            ["throttles"] = new(Sum(c => c.ThrottledFaults), "count"),
            ["thrashing_detected"] = new(policy is UvmThrashingPolicy detector ? detector.ThrashingDetected : 0, "count"),
            ["pins"] = new(policy is UvmThrashingPolicy uvm ? uvm.Pins : 0, "count"),
            ["useful_ops"] = new(deviceOps + cpuCounts.Sum(), "count"),
            ["useful_ops_per_s"] = new((deviceOps + cpuCounts.Sum()) / elapsed, "ops/s"),
            ["elapsed_s"] = new(elapsed, "s"),
        };
        var perPage = Enumerable.Range(0, pages).Select(p => mirrors.Sum(m => m.MigrationsOf(p))).ToList();
        Invariant totals;
        using (var cpu = new CpuContext(rig.Mm))
        {
            totals = WordCheck.Compare("totals_exact", expected, rig.CpuRead(cpu, va, words), wpp);
        }

        rig.AddThpMetrics(metrics, thp);

        return new PolicyRun
        {
            Name = name,
            Policy = policyName,
            Settings = new Dictionary<string, string> { ["pages"] = $"{pages}", ["thp"] = ThpOption.Value(thp) },
            Metrics = metrics,
            Invariants = [totals, progress, .. rig.TearDown()],
            Timeline = new ResidencyTimeline(times, samples),
            MigrationsPerPage = perPage,
        };
    }

    /// <summary>
    /// The device rounds: each round, each device of <paramref name="devices"/> (indexes into
    /// <paramref name="mirrors"/>) runs <paramref name="work"/> in turn, then the round's
    /// <paramref name="barrier"/> if there is one. The state of device <c>d</c> is at
    /// <c>state[firstState + d]</c>.
    /// </summary>
    private static void DeviceRounds(MirrorDevice[] mirrors, int[] devices, in DeviceWork work, int rounds, Barrier? barrier, string[] state, int firstState, CancellationToken token)
    {
        for (var r = 0; r < rounds; r++)
        {
            foreach (var d in devices)
            {
                token.ThrowIfCancellationRequested();
                state[firstState + d] = $"device {d + 1}: round {r}, Run";
                ScenarioRig.Check(mirrors[d].Run(work), $"pingpong device {d + 1} round {r}: {mirrors[d].LastError}");
                state[firstState + d] = barrier is null ? $"device {d + 1}: round {r} done" : $"device {d + 1}: round {r} done, waiting for the round's barrier";
            }

            barrier?.SignalAndWait(token);
        }
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

    private static void Sample(MirrorDevice[] mirrors, ulong va, int pages, Stopwatch clock, List<string> samples, List<double> times, ref int done, CancellationToken token)
    {
        var n = Math.Min(pages, MaxTimelinePages);
        var snapshots = mirrors.Select(_ => new PageSnapshot[n]).ToArray();
        var row = new char[n];
        while (Volatile.Read(ref done) == 0 && !token.IsCancellationRequested && samples.Count < MaxSamples)
        {
            if (mirrors.Select((m, d) => m.Snapshot(va, snapshots[d])).All(err => err == HostMm.Errno.Ok))
            {
                for (var p = 0; p < n; p++)
                {
                    row[p] = Where(snapshots, p, mirrors[0].Lookup(va + ((ulong)p * (ulong)(mirrors[0].WordsPerPage * sizeof(int)))));
                }

                times.Add(clock.Elapsed.TotalMilliseconds);
                samples.Add(new string(row));
            }

            Thread.Sleep(2);
        }
    }

    /// <summary>
    /// Page <paramref name="p"/>'s location as a <see cref="ResidencyTimeline.Locations"/> character,
    /// given each device's snapshot: in the private memory of the device that reports it there
    /// (<c>d</c> for the first, <c>2</c> to <c>4</c> for the others), else where the first device
    /// sees it (<paramref name="entry"/>: its device PTE for the page).
    /// </summary>
    internal static char Where(PageSnapshot[][] snapshots, int p, uint entry)
    {
        for (var d = 0; d < snapshots.Length; d++)
        {
            if ((snapshots[d][p] & PageSnapshot.DevicePrivateLocal) != 0)
            {
                return d == 0 ? 'd' : (char)('1' + d);
            }
        }

        return Where(snapshots[0][p], entry);
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

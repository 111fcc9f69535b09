using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Scenarios;

/// <summary>
/// <c>exclusivity</c> (DESIGN §5): CPU threads and a device kernel add to the same eight words per
/// page; the expected total is known, so lost updates are counted exactly. With the protocol on
/// (<see cref="MirrorOptions.ExclusiveAtomics"/>: device atomics on system pages go through
/// device-exclusive mappings) nothing may be lost; with it off on a non-coherent link, updates must
/// be lost — the run proves the check can fail. The link defaults to non-coherent here, where the
/// protocol matters; <c>--coherence coherent</c> shows that a coherent link needs no protocol. The
/// total is read twice: by the CPU, word by word, and by the device, reduced where the words land
/// (<see cref="MirrorDevice.Sum"/>: ILGPU.Algorithms on a GPU), and the two must agree.
/// </summary>
public sealed class ExclusivityScenario : IScenario
{
    private const int WordsPerPageUsed = 8;

    /// <summary>The device's memory, in pages: small, so that migrate and exclusive grants evict.</summary>
    private const int DevicePages = 16;

    /// <inheritdoc/>
    public string Name => "exclusivity";

    /// <inheritdoc/>
    public string Summary => "CPU and device atomics on the same words; lost updates counted exactly, protocol on and off";

    /// <inheritdoc/>
    public SharedOptions Takes => SharedOptions.Policy | SharedOptions.Pages | SharedOptions.Threads | SharedOptions.Rounds | SharedOptions.Coherence;

    /// <inheritdoc/>
    /// <remarks>Measured: 18 KiB a page.</remarks>
    public MemoryNeed Memory(ScenarioSettings settings) => new(PagesOf(settings ?? throw new ArgumentNullException(nameof(settings))), 24L << 10);

    private static int PagesOf(ScenarioSettings s) => s.Pick(s.Pages, 1, 4);

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } =
        [ScenarioOption.OneOf("protocol", "device-exclusive mappings for device atomics on system pages", "on", "off")];

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = context.Settings;
        var pages = PagesOf(s);
        var threads = s.Pick(s.Threads, 2, 4);
        var rounds = s.Pick(s.Rounds, 20, 100);
        var coherence = s.Coherence == LinkCoherence.Native ? LinkCoherence.NonCoherent : s.Coherence;
        var policies = s.Policies ?? ["remote"];
        var runs = (from policy in policies
                    from protocol in ScenarioOption.Split(context.Option("protocol"))
                    select RunOne(context, coherence, policy, protocol == "on", pages, threads, rounds)).ToList();
        return new ScenarioResult(Name, new Dictionary<string, string>
        {
            ["pages"] = $"{pages}",
            ["threads"] = $"{threads}",
            ["rounds"] = $"{rounds}",
            ["coherence"] = coherence == LinkCoherence.NonCoherent ? "noncoherent" : "coherent",
            ["protocol"] = context.Option("protocol"),
        }, runs);
    }

    private static PolicyRun RunOne(ScenarioContext context, LinkCoherence coherence, string policyName, bool protocol, int pages, int threads, int rounds)
    {
        var name = $"{policyName} protocol={(protocol ? "on" : "off")}";
        context.Status($"exclusivity: {name}");
        using var rig = new ScenarioRig(context, coherence, SystemMemory.For(pages));
        var policy = ResidencyPolicies.Create(policyName, pages) ?? throw new ScenarioInputException($"unknown policy '{policyName}'");
        var va = rig.Map(pages);
        var mirror = rig.Mirror(va, pages, policy, new MirrorOptions { DevicePages = DevicePages, ChunkPages = DevicePages, ExclusiveAtomics = protocol, OpsPerLaunch = 16 });
        var stride = rig.WordsPerPage / WordsPerPageUsed;
        var words = pages * WordsPerPageUsed;
        var work = DeviceWork.Adds(items: 64, opsPerItem: rounds * 20, firstWord: 0, span: (long)pages * rig.WordsPerPage, stride: stride);
        var cpuOps = new long[threads];
        var deviceDone = 0;
        var state = new string[threads + 1];
        var workers = new ScenarioThreads(threads, "exclusivity cpu", (t, token) =>
        {
            using var cpu = new CpuContext(rig.Mm);
            state[t] = $"cpu-{t}: AtomicAdd loop";
            var until = Environment.TickCount64 + 200;
            for (var n = t; !token.IsCancellationRequested && (Volatile.Read(ref deviceDone) == 0 || Environment.TickCount64 < until); n++)
            {
                ScenarioRig.Check(cpu.AtomicAdd(va + ((ulong)(n % words) * (ulong)stride * sizeof(int)), 1, out int _), "exclusivity CPU add");
                Volatile.Write(ref cpuOps[t], cpuOps[t] + 1);
            }

            state[t] = $"cpu-{t}: done";
        });
        var progress = ProgressWatchdog.Guard(
            $"exclusivity/{name}",
            () =>
            {
                workers.Start();
                state[threads] = "device: Run";
                var err = mirror.Run(work);
                Volatile.Write(ref deviceDone, 1);
                workers.Join();
                ScenarioRig.Check(err, $"exclusivity device run: {mirror.LastError}");
                state[threads] = "device: done";
            },
            () => cpuOps.Sum() + mirror.Counters.Launches,
            context.Settings.StallTimeout,
            () => $"{string.Join("; ", state.Where(x => x is not null))} ({mirror.Activity})");
        if (!progress.Held)
        {
            workers.Cancel();
            return rig.Stalled(name, policyName, Settings(protocol), progress);
        }

        // Read before the device's own reading of the totals below maps the pages again.
        var racy = mirror.Counters.AtomicMapsAcrossLink;
        int[] values;
        using (var cpu = new CpuContext(rig.Mm))
        {
            values = rig.CpuRead(cpu, va, (long)pages * rig.WordsPerPage);
        }

        var total = values.Sum(v => (long)v);
        // The device reads the range a device-memory's worth at a time: one read of every page would
        // evict and refault the pages before it on every replay, quadratic in the pages.
        var deviceTotal = 0L;
        for (var first = 0; first < pages; first += DevicePages)
        {
            var n = Math.Min(DevicePages, pages - first);
            ScenarioRig.Check(mirror.Sum(va + ((ulong)first * (ulong)rig.PageSize), n * rig.WordsPerPage, out var part), $"exclusivity device sum: {mirror.LastError}");
            deviceTotal += part;
        }

        var agree = new Invariant("device_sum_agrees", deviceTotal == total, $"the device's sum of the range, {deviceTotal}, {(deviceTotal == total ? "equals" : "differs from")} the CPU's, {total}");
        var (lost, extra) = Count(values, stride, words, work.TotalOps, cpuOps);
        var updates = work.TotalOps + cpuOps.Sum();
        var check = racy > 0
            ? new Invariant("lost_updates_detected", lost > 0 && extra == 0, lost > 0 && extra == 0
                ? $"lost {lost} of {updates} updates without the protocol ({racy} system pages mapped for device atomics across the non-coherent link): the check can fail"
                : extra > 0 ? $"{extra} updates counted twice" : $"no update was lost although {racy} system pages were mapped for device atomics across the non-coherent link; the race did not show (try more --rounds)")
            : new Invariant("no_lost_updates", lost == 0 && extra == 0, $"{lost} of {updates} updates lost, {extra} counted twice ({mirror.Counters.ExclusiveGrants} exclusive grants{(protocol || coherence != LinkCoherence.NonCoherent ? string.Empty : $"; without the protocol the race could not happen: {policyName} never mapped a system page for device atomics across the link")})");
        return new PolicyRun
        {
            Name = name,
            Policy = policyName,
            Settings = Settings(protocol),
            Metrics = new Dictionary<string, Metric>
            {
                ["lost_updates"] = new(lost, "count"),
                ["cpu_ops"] = new(cpuOps.Sum(), "count"),
                ["device_ops"] = new(work.TotalOps, "count"),
                ["exclusive_grants"] = new(mirror.Counters.ExclusiveGrants, "count"),
                ["atomic_maps_across_link"] = new(racy, "count"),
            },
            Invariants = [check, agree, progress, .. rig.TearDown()],
        };
    }

    private static Dictionary<string, string> Settings(bool protocol) => new() { ["protocol"] = protocol ? "on" : "off" };

    /// <summary>
    /// The updates lost, and counted twice, over the <paramref name="words"/> words the run adds to
    /// (every <paramref name="stride"/>-th word of <paramref name="values"/>), in 64 bits: per word,
    /// the adds it must have received (the device's <paramref name="deviceOps"/> spread over the words
    /// in turn, CPU thread <c>t</c>'s adds starting at word <c>t</c>) against what it holds, the
    /// difference taken modulo 2^32 (a word is 32 bits, and a long run adds billions to each).
    /// </summary>
    internal static (long Lost, long Extra) Count(ReadOnlySpan<int> values, int stride, int words, long deviceOps, IReadOnlyList<long> cpuOps)
    {
        var lost = 0L;
        var extra = 0L;
        for (var w = 0; w < words; w++)
        {
            var expected = InResidueClass(0, deviceOps, w, words);
            for (var t = 0; t < cpuOps.Count; t++)
            {
                expected += InResidueClass(t, t + cpuOps[t], w, words);
            }

            var difference = unchecked((int)((uint)expected - (uint)values[w * stride]));
            (lost, extra) = difference >= 0 ? (lost + difference, extra) : (lost, extra - difference);
        }

        return (lost, extra);
    }

    /// <summary>How many <c>n</c> in <c>[from, to)</c> have <c>n mod modulus == residue</c>.</summary>
    private static long InResidueClass(long from, long to, long residue, long modulus) =>
        FloorDiv(to - 1 - residue, modulus) - FloorDiv(from - 1 - residue, modulus);

    private static long FloorDiv(long x, long m) => x >= 0 ? x / m : -((-x + m - 1) / m);
}

using System.Diagnostics;
using System.Globalization;
using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Scenarios;

/// <summary>
/// <c>oversubscription</c> (seed 004, DESIGN §5): a device kernel sweeps a working set of 50% to
/// 200% of device memory under the <c>migrate</c> policy, so past 100% every round evicts (the
/// least recently allocated chunk, through <c>MigrateDeviceRange</c>). Per ratio: device ops/s and
/// evicted pages. Every word is checked at the end against a shadow copy: a pattern written by the
/// CPU plus the device's additions.
/// </summary>
public sealed class OversubscriptionScenario : IScenario
{
    /// <inheritdoc/>
    public string Name => "oversubscription";

    /// <inheritdoc/>
    public string Summary => "working set 50%..200% of device memory: throughput and evictions per ratio (seed 004)";

    /// <inheritdoc/>
    public SharedOptions Takes => SharedOptions.Pages | SharedOptions.Rounds | SharedOptions.Coherence;

    /// <inheritdoc/>
    /// <remarks>Measured: 22 KiB for each page of the largest working set (the largest ratio times the device pages).</remarks>
    public MemoryNeed Memory(ScenarioSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var ratios = ScenarioOption.Split(settings.Options.GetValueOrDefault(Options[0].Name, Options[0].Default));
        var largest = ratios.Select(r => double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : 0).DefaultIfEmpty(1).Max();
        return new((long)Math.Ceiling(largest * (ThpOption.AnyOn(settings) ? ThpDevicePages(DevicePagesOf(settings)) : DevicePagesOf(settings))), 28L << 10);
    }

    private static int DevicePagesOf(ScenarioSettings s) => s.Pick(s.Pages, 128, 1024);

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } =
    [
        new ScenarioOption("ratios", "working-set sizes as multiples of device memory, comma-separated (each 0.05..8)", "0.5,1,1.5,2", v =>
            ScenarioOption.Split(v).FirstOrDefault(x => !double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) || !(r >= 0.05 && r <= 8)) is { } bad
                ? $"'{bad}' is not a ratio between 0.05 and 8"
                : null),
        ThpOption.Option,
    ];

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = context.Settings;
        var devicePages = DevicePagesOf(s);
        var rounds = s.Pick(s.Rounds, 3, 10);
        if (devicePages < 16 || devicePages % 8 != 0)
        {
            throw new ScenarioInputException($"oversubscription: --pages {devicePages} is the device memory in pages and must be a multiple of 8, at least 16");
        }

        var ratios = ScenarioOption.Split(context.Option("ratios")).Select(r => double.Parse(r, CultureInfo.InvariantCulture)).ToList();
        var thps = ThpOption.Values(context);
        var runs = (from thp in thps
                    from r in ratios
                    select RunOne(context, r, thp ? ThpDevicePages(devicePages) : devicePages, rounds, thp, thps.Length > 1)).ToList();
        return new ScenarioResult(Name, new Dictionary<string, string>
        {
            ["device_pages"] = $"{devicePages}",
            ["rounds"] = $"{rounds}",
            ["ratios"] = context.Option("ratios"),
            ["thp"] = context.Option(ThpOption.Option),
            ["x_axis"] = "ratio",
            ["curves"] = "ops_per_s,evictions",
        }, runs);
    }

    /// <summary>Device memory under <c>--thp on</c>: whole 2 MiB chunks, at least two so that one can be evicted while the other fills.</summary>
    private static int ThpDevicePages(int devicePages) => Math.Max(2 * MirrorDevice.RangeBlockPages, ThpOption.Blocks(devicePages));

    private static PolicyRun RunOne(ScenarioContext context, double ratio, int devicePages, int rounds, bool thp, bool named)
    {
        var name = $"ratio={ratio.ToString(CultureInfo.InvariantCulture)}" + (named ? $" thp={ThpOption.Value(thp)}" : "");
        context.Status($"oversubscription: {name}");
        var pages = Math.Max(1, (int)Math.Ceiling(ratio * devicePages));
        using var rig = new ScenarioRig(context, context.Settings.Coherence, SystemMemory.For(pages));
        var va = rig.Map(pages, thp);
        var mirror = rig.Mirror(va, pages, new MigratePolicy(), new MirrorOptions { DevicePages = devicePages, ChunkPages = thp ? MirrorDevice.RangeBlockPages : devicePages / 8, Thp = thp });
        var wpp = rig.WordsPerPage;
        var words = pages * wpp;
        var expected = new long[words];
        var pattern = new int[words];
        for (var i = 0; i < words; i++)
        {
            pattern[i] = unchecked((int)((uint)i * 2654435761u));
            expected[i] = pattern[i];
        }

        var work = DeviceWork.Adds(items: pages, opsPerItem: 8, firstWord: 0, span: words, stride: wpp + 1);
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                expected[work.Target(i, k)] += rounds;
            }
        }

        using (var cpu = new CpuContext(rig.Mm))
        {
            rig.CpuWrite(cpu, va, pattern);
        }

        var elapsed = 0.0;
        var round = 0;
        var progress = ProgressWatchdog.Guard(
            $"oversubscription/{name}",
            () =>
            {
                var clock = Stopwatch.StartNew();
                for (round = 0; round < rounds; round++)
                {
                    ScenarioRig.Check(mirror.Run(work), $"oversubscription round {round}: {mirror.LastError}");
                }

                elapsed = clock.Elapsed.TotalSeconds;
            },
            () => mirror.Counters.Launches + mirror.Counters.EvictedPages,
            context.Settings.StallTimeout,
            () => $"device: round {Volatile.Read(ref round)} ({mirror.Counters.EvictedChunks} chunks evicted, {mirror.FreeDevicePages} device pages free): {mirror.Activity}");
        var settings = new Dictionary<string, string> { ["ratio"] = ratio.ToString(CultureInfo.InvariantCulture), ["pages"] = $"{pages}", ["device_pages"] = $"{devicePages}", ["thp"] = ThpOption.Value(thp) };
        if (!progress.Held)
        {
            return rig.Stalled(name, "migrate", settings, progress);
        }

        Invariant data;
        using (var cpu = new CpuContext(rig.Mm))
        {
            data = WordCheck.Compare("data_intact", expected, rig.CpuRead(cpu, va, words), wpp);
        }

        var metrics = new Dictionary<string, Metric>
        {
            ["ops_per_s"] = new(work.TotalOps * rounds / elapsed, "ops/s"),
            ["evictions"] = new(mirror.Counters.EvictedPages, "pages"),
            ["migrations"] = new(mirror.Counters.Migrations, "count"),
            ["gpu_faults"] = new(mirror.Counters.GpuFaults, "count"),
        };
        rig.AddThpMetrics(metrics, thp);

        return new PolicyRun
        {
            Name = name,
            Policy = "migrate",
            Settings = settings,
            Metrics = metrics,
            Invariants = [data, progress, .. rig.TearDown()],
        };
    }
}

using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Scenarios;

/// <summary>
/// <c>owner-filter</c> (seed 002, DESIGN §5): device atomics under the <c>exclusive</c> policy, whose
/// <c>MakeDeviceExclusive</c> fires an invalidation of the device's own range. With owner filtering
/// on, the driver skips its own event and its <c>ReadRetry</c> loop converges; with it off, every
/// attempt invalidates itself and the loop never converges (-EBUSY after the fault timeout: 200 ms
/// at CI size, 1 s at full size). The link defaults to non-coherent, where atomics need exclusive
/// access.
/// </summary>
public sealed class OwnerFilterScenario : IScenario
{
    /// <inheritdoc/>
    public string Name => "owner-filter";

    /// <inheritdoc/>
    public string Summary => "exclusive mapping with and without notifier owner filtering (seed 002): retry-loop convergence";

    /// <inheritdoc/>
    public SharedOptions Takes => SharedOptions.Pages | SharedOptions.Rounds | SharedOptions.Coherence;

    /// <inheritdoc/>
    /// <remarks>It maps a fixed, small number of pages.</remarks>
    public MemoryNeed Memory(ScenarioSettings settings) => new(0, 0);

    /// <inheritdoc/>
    public IReadOnlyList<ScenarioOption> Options { get; } =
        [ScenarioOption.OneOf("filter", "skip invalidations of the device's own Migrate/Exclusive events", "on", "off")];

    /// <inheritdoc/>
    public ScenarioResult Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = context.Settings;
        var pages = s.Pick(s.Pages, 4, 64);
        var rounds = s.Pick(s.Rounds, 2, 10);
        var coherence = s.Coherence == LinkCoherence.Native ? LinkCoherence.NonCoherent : s.Coherence;
        var timeout = TimeSpan.FromMilliseconds(s.Size == RunSize.Ci ? 200 : 1000);
        var runs = ScenarioOption.Split(context.Option("filter")).Select(v => RunOne(context, coherence, v == "on", pages, rounds, timeout)).ToList();
        return new ScenarioResult(Name, new Dictionary<string, string>
        {
            ["pages"] = $"{pages}",
            ["rounds"] = $"{rounds}",
            ["fault_timeout_ms"] = $"{timeout.TotalMilliseconds}",
            ["filter"] = context.Option("filter"),
        }, runs);
    }

    private static PolicyRun RunOne(ScenarioContext context, LinkCoherence coherence, bool filter, int pages, int rounds, TimeSpan timeout)
    {
        var variant = filter ? "filter=on" : "filter=off";
        context.Status($"owner-filter: {variant}");
        using var rig = new ScenarioRig(context, coherence);
        var va = rig.Map(pages);
        var mirror = rig.Mirror(va, pages, new ExclusivePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16, FilterOwnerEvents = filter, FaultTimeout = timeout });
        var wpp = rig.WordsPerPage;
        var work = DeviceWork.Adds(items: pages * 4, opsPerItem: 4 * rounds, firstWord: 0, span: (long)pages * wpp, stride: (wpp / 4) + 1);
        var err = Errno.Ok;
        string? error = null;
        var progress = ProgressWatchdog.Guard(
            $"owner-filter/{variant}",
            () =>
            {
                err = mirror.Run(work);
                error = mirror.LastError;
            },
            () => mirror.Counters.Launches + mirror.Counters.ExclusiveRetries + mirror.Counters.ExclusiveGrants,
            context.Settings.StallTimeout,
            () => $"device: Run ({mirror.Counters.ExclusiveRetries} exclusive retries so far): {mirror.Activity}");
        var settings = new Dictionary<string, string> { ["filter"] = filter ? "on" : "off" };
        if (!progress.Held)
        {
            return rig.Stalled(variant, "exclusive", settings, progress);
        }

        Invariant check;
        if (filter)
        {
            var expected = new long[pages * wpp];
            for (var i = 0; i < work.Items; i++)
            {
                for (var k = 0; k < work.OpsPerItem; k++)
                {
                    expected[work.Target(i, k)]++;
                }
            }

            using var cpu = new CpuContext(rig.Mm);
            var totals = WordCheck.Compare("converged", expected, rig.CpuRead(cpu, va, pages * wpp), wpp);
            check = err == Errno.Ok ? totals : new Invariant("converged", false, $"Run returned {err}: {error}");
        }
        else
        {
            var reproduced = err == Errno.EBUSY && error?.Contains("owner filtering is off", StringComparison.Ordinal) == true;
            check = new Invariant("non_convergence_reproduced", reproduced, reproduced
                ? $"gave up after {mirror.Counters.ExclusiveRetries} retries: {error}"
                : $"Run returned {err} ({error ?? "no error"}); without owner filtering it should not converge");
        }

        return new PolicyRun
        {
            Name = variant,
            Policy = "exclusive",
            Settings = settings,
            Metrics = new Dictionary<string, Metric>
            {
                ["converged"] = new(err == Errno.Ok ? 1 : 0, "bool"),
                ["retries"] = new(mirror.Counters.ExclusiveRetries, "count"),
                ["exclusive_grants"] = new(mirror.Counters.ExclusiveGrants, "count"),
            },
            Invariants = [check, progress, .. rig.TearDown()],
        };
    }
}

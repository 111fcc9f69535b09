using Testbed.Explore;
using Testbed.Results;

namespace Testbed.Bench.Probes;

/// <summary>
/// <c>testbed explore</c>'s speed: for every target, how long Coyote takes to find the bug in the
/// buggy baseline (median of three seeds, each searched from a fresh engine, the first throwaway
/// schedule not counted), and how many schedules per second it explores through the fixed variant
/// (200 with <c>--quick</c>, 2,000 otherwise), which must stay clear. Target: every baseline found
/// within 10 s.
/// </summary>
public sealed class ExploreProbe : IBenchProbe
{
    private const int Seeds = 3;
    private const int Budget = 1_000;

    /// <inheritdoc/>
    public string Name => "explore";

    /// <inheritdoc/>
    /// <remarks>The rewritten assemblies a build writes are missing from a published single-file testbed (<c>scripts/gpu-check.sh</c> runs one on a GPU machine; they are 172 MB).</remarks>
    public string? Unavailable => ExploreHost.Unavailable;

    /// <inheritdoc/>
    public string Summary => "testbed explore: seconds until Coyote finds each seed race's buggy baseline (median of 3 seeds), schedules/s through each fixed variant";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = [.. ExploreTargets.Names.Select(n => new BenchTarget(Metric(n, "s_to_finding"), 10, AtLeast: false, "s", "at the CI budget"))];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var metrics = new Dictionary<string, Metric>();
        var checks = new List<Invariant>();
        foreach (var name in ExploreTargets.Names)
        {
            var target = ExploreTargets.Find(name)!;
            settings.Status?.Invoke($"bench: explore {name}");
            var found = Enumerable.Range(1, Seeds)
                .Select(seed => ExploreHost.Run(new ExploreRequest { Target = name, Variant = target.Buggy, Schedules = Budget, Seed = (uint)seed }))
                .ToList();
            var missed = found.Count(o => o.Finding is null);
            checks.Add(new Invariant($"{name} found", missed == 0, $"{target.Buggy}: found with {Seeds - missed} of {Seeds} seeds within {Budget} schedules"));
            metrics[Metric(name, "s_to_finding")] = new(found.Select(o => o.Seconds).Order().ElementAt(Seeds / 2), "s");
            metrics[Metric(name, "schedules_to_finding")] = new(found.Select(o => (double)o.Schedules).Order().ElementAt(Seeds / 2), "count");

            var schedules = settings.Pick(200, 2_000);
            var clear = ExploreHost.Run(new ExploreRequest { Target = name, Variant = target.Fixed, Schedules = schedules, Seed = 1 });
            checks.Add(new Invariant($"{name} clear", clear.Finding is null, $"{target.Fixed}: {clear.Finding ?? $"nothing found in {clear.Schedules} schedules"}"));
            metrics[Metric(name, "fixed_schedules_per_s")] = new(clear.Schedules / clear.Seconds, "1/s");
        }

        return BenchRun.Of(this, "cpu", metrics, $"random strategy; baselines searched with seeds 1-{Seeds} up to {Budget} schedules, fixed variants over {settings.Pick(200, 2_000)}", checks);
    }

    private static string Metric(string target, string what) => $"{target.Replace('-', '_')}_{what}";
}
